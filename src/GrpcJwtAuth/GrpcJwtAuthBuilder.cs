using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth;

/// <summary>Returned by <c>AddGrpcJwtAuth()</c>, for further configuration of GrpcJwtAuth.</summary>
public sealed class GrpcJwtAuthBuilder
{
    internal GrpcJwtAuthBuilder(IServiceCollection services, IHttpClientBuilder backchannel)
    {
        Services = services;
        Backchannel = backchannel;
    }

    /// <summary>The service collection GrpcJwtAuth was added to.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// The named <see cref="System.Net.Http.HttpClient"/> that fetches discovery documents and key sets, for example
    /// to trust a private certificate authority: <c>builder.Backchannel.ConfigurePrimaryHttpMessageHandler(...)</c>.
    /// </summary>
    public IHttpClientBuilder Backchannel { get; }
}
