using GrpcJwtAuth;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Downstream;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Calls from a gRPC service to another service on behalf of the service's own caller: forward the caller's token, or
/// exchange it for one meant for the downstream service. For gRPC clients from the client factory, in a server that
/// runs <c>AddGrpcJwtAuth()</c>.
/// </summary>
public static class GrpcJwtAuthDownstreamExtensions
{
    /// <summary>
    /// Every call of this gRPC client, made while handling a request GrpcJwtAuth authenticated, carries that request's
    /// own token. Use it only when the downstream service accepts the same audience (one API split into services):
    /// the token is handed on as it is, so the downstream service can do anything the caller could do there. A call
    /// made outside such a request fails with <c>Unauthenticated</c> ("no caller's token") and is not sent.
    /// </summary>
    public static IHttpClientBuilder AddCallerTokenForwarding(this IHttpClientBuilder builder) =>
        builder.AddCallerTokenForwarding(configure: null);

    /// <summary>Like <see cref="AddCallerTokenForwarding(IHttpClientBuilder)"/>, with settings.</summary>
    public static IHttpClientBuilder AddCallerTokenForwarding(this IHttpClientBuilder builder, Action<JwtCallCredentialsOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHttpContextAccessor();
        return builder.AddJwtCallCredentials(
            static services => new CallerTokenForwarder(
                services.GetRequiredService<IHttpContextAccessor>(), services.GetRequiredService<IOptions<GrpcJwtAuthOptions>>()),
            configure);
    }

    /// <summary>
    /// Every call of this gRPC client, made while handling a request GrpcJwtAuth authenticated, carries a token for the
    /// downstream service got by exchanging the request's token (RFC 8693) with the token exchange client
    /// <paramref name="exchangeClientName"/> (<c>AddTokenExchangeClient(name)</c>, settings in
    /// <c>GrpcJwtAuth:Clients:&lt;name&gt;</c>, its <c>Audience</c> or <c>Resource</c> naming the downstream service).
    /// Exchanged tokens are kept per caller token until shortly before the earlier of the two expiries; concurrent
    /// calls of one caller share one exchange. A call made outside such a request fails with <c>Unauthenticated</c>;
    /// a failed exchange fails the call with the status of its cause (<c>Unavailable</c> or <c>Unauthenticated</c>).
    /// </summary>
    public static IHttpClientBuilder AddCallerTokenExchange(this IHttpClientBuilder builder, string exchangeClientName) =>
        builder.AddCallerTokenExchange(exchangeClientName, configure: null);

    /// <summary>Like <see cref="AddCallerTokenExchange(IHttpClientBuilder, string)"/>, with settings.</summary>
    public static IHttpClientBuilder AddCallerTokenExchange(
        this IHttpClientBuilder builder, string exchangeClientName, Action<JwtCallCredentialsOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(exchangeClientName);
        builder.Services.AddHttpContextAccessor();
        return builder.AddJwtCallCredentials(
            services => new CallerTokenExchanger(
                services.GetRequiredService<IHttpContextAccessor>(),
                services.GetKeyedService<TokenExchangeClient>(exchangeClientName) ?? throw new InvalidOperationException(
                    $"No token exchange client named '{exchangeClientName}' is registered. Register it with " +
                    $"AddTokenExchangeClient(\"{exchangeClientName}\") (settings in GrpcJwtAuth:Clients:{exchangeClientName})."),
                services.GetService<TimeProvider>() ?? TimeProvider.System,
                services.GetRequiredService<IOptions<GrpcJwtAuthOptions>>()),
            configure);
    }
}
