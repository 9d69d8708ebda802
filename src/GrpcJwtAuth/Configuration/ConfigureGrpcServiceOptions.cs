using Grpc.AspNetCore.Server;
using GrpcJwtAuth.Server;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Configuration;

/// <summary>Puts the GrpcJwtAuth interceptor first among the global interceptors, once.</summary>
internal sealed class ConfigureGrpcServiceOptions : IConfigureOptions<GrpcServiceOptions>
{
    public void Configure(GrpcServiceOptions options)
    {
        foreach (var existing in options.Interceptors)
        {
            if (existing.Type == typeof(GrpcJwtAuthInterceptor))
            {
                return;
            }
        }

        options.Interceptors.Add<GrpcJwtAuthInterceptor>();
        var registration = options.Interceptors[^1];
        options.Interceptors.RemoveAt(options.Interceptors.Count - 1);
        options.Interceptors.Insert(0, registration);
    }
}
