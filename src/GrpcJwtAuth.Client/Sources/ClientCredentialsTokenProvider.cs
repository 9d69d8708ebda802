using Duende.IdentityModel.Client;
using GrpcJwtAuth.Client.Internal;

namespace GrpcJwtAuth.Client.Sources;

/// <summary>
/// Gets tokens from an OAuth 2.0 token endpoint with the client credentials grant (RFC 6749 section 4.4), the endpoint
/// given directly or found through OpenID Connect discovery, the request built by Duende.IdentityModel. The client
/// authenticates with a secret (Basic header or form), a signed assertion (<c>private_key_jwt</c>) or its TLS
/// certificate. Wrap it in <see cref="Caching.CachingAccessTokenProvider"/>: it asks the endpoint on every call.
/// </summary>
public sealed class ClientCredentialsTokenProvider : IAccessTokenProvider
{
    private readonly TokenEndpointClient _endpoint;

    /// <summary>Creates the provider; checks the options at once.</summary>
    /// <param name="httpClient">
    /// Talks to the token endpoint and discovery document. For <see cref="ClientAuthenticationMethod.TlsClientCertificate"/>,
    /// its handler presents the client certificate.
    /// </param>
    /// <param name="options">The settings.</param>
    /// <param name="timeProvider">The clock. Defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">A required option is missing or invalid (every problem is listed).</exception>
    public ClientCredentialsTokenProvider(HttpClient httpClient, ClientCredentialsOptions options, TimeProvider? timeProvider = null)
        : this(CheckClient(httpClient), options, timeProvider, "ClientCredentialsOptions.")
    {
    }

    /// <summary>Creates the provider with a client per request (from <c>IHttpClientFactory</c>).</summary>
    internal ClientCredentialsTokenProvider(Func<HttpClient> httpClient, ClientCredentialsOptions options, TimeProvider? timeProvider, string settingPrefix)
    {
        ArgumentNullException.ThrowIfNull(options);
        _endpoint = new TokenEndpointClient(httpClient, options, timeProvider ?? TimeProvider.System, settingPrefix);
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var request = new ClientCredentialsTokenRequest();
        _endpoint.AddTarget(request, out var scope, out var resources);
        request.Scope = scope;
        request.Resource = resources;
        return new ValueTask<AccessToken>(_endpoint.RequestAsync(
            request, static (invoker, request, cancellationToken) => invoker.RequestClientCredentialsTokenAsync(request, cancellationToken), cancellationToken));
    }

    internal static Func<HttpClient> CheckClient(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        return () => httpClient;
    }
}
