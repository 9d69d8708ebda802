using GrpcJwtAuth;
using GrpcJwtAuth.Streams;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps GrpcJwtAuth's own gRPC services.</summary>
public static class GrpcJwtAuthEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>grpcjwtauth.v1.StreamRenewal</c> and makes streaming calls renewable: each one authenticated by
    /// GrpcJwtAuth whose token has a <c>sub</c> gets an opaque call id in its <c>grpcjwtauth-call-id</c> response header,
    /// and a <c>Renew</c> call bringing that id and a fresh token of the same caller moves the stream's end to the fresh
    /// token's expiry. <c>AddJwtCallCredentials</c> on the client renews by itself. <c>Renew</c> is authenticated like
    /// any call (rules whose prefix covers it apply too) and always requires a valid token.
    /// </summary>
    /// <returns>The service's endpoint builder, for further conventions.</returns>
    /// <exception cref="InvalidOperationException"><c>AddGrpcJwtAuth()</c> was not called.</exception>
    public static GrpcServiceEndpointConventionBuilder MapGrpcJwtAuthStreamRenewal(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        var streams = endpoints.ServiceProvider.GetService<RenewableStreams>() ?? throw new InvalidOperationException(
            "MapGrpcJwtAuthStreamRenewal() needs GrpcJwtAuth's services: call builder.Services.AddGrpcJwtAuth() first.");
        var builder = endpoints.MapGrpcService<StreamRenewalService>();
        builder.RequireAuthorization(
            new AuthorizationPolicyBuilder(GrpcJwtAuthDefaults.AuthenticationScheme).RequireAuthenticatedUser().Build());
        streams.Enabled = true;
        return builder;
    }
}
