using Duende.IdentityModel.Client;
using GrpcJwtAuth.Client.Internal;

namespace GrpcJwtAuth.Client.Sources;

/// <summary>
/// Exchanges a token for another with OAuth 2.0 token exchange (RFC 8693), the request built by Duende.IdentityModel:
/// a service trades the token its caller sent for one meant for the downstream API it calls on the caller's behalf.
/// Nothing is cached here; the server package's caller-token exchange caches per caller token.
/// </summary>
public sealed class TokenExchangeClient
{
    private readonly TokenEndpointClient _endpoint;
    private readonly TokenExchangeOptions _options;

    /// <summary>Creates the client; checks the options at once.</summary>
    /// <param name="httpClient">Talks to the token endpoint and discovery document.</param>
    /// <param name="options">The settings.</param>
    /// <param name="timeProvider">The clock. Defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">A required option is missing or invalid (every problem is listed).</exception>
    public TokenExchangeClient(HttpClient httpClient, TokenExchangeOptions options, TimeProvider? timeProvider = null)
        : this(ClientCredentialsTokenProvider.CheckClient(httpClient), options, timeProvider, "TokenExchangeOptions.")
    {
    }

    /// <summary>Creates the client with an HTTP client per request (from <c>IHttpClientFactory</c>).</summary>
    internal TokenExchangeClient(Func<HttpClient> httpClient, TokenExchangeOptions options, TimeProvider? timeProvider, string settingPrefix)
    {
        ArgumentNullException.ThrowIfNull(options);
        _endpoint = new TokenEndpointClient(httpClient, options, timeProvider ?? TimeProvider.System, settingPrefix);
        _options = options;
    }

    /// <summary>Exchanges <paramref name="subjectToken"/> for a token for the configured audience or resource.</summary>
    /// <exception cref="AccessTokenException">No usable token; <see cref="AccessTokenException.Failure"/> says why.</exception>
    public Task<AccessToken> ExchangeAsync(string subjectToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectToken);
        var request = new TokenExchangeTokenRequest
        {
            SubjectToken = subjectToken,
            SubjectTokenType = _options.SubjectTokenType,
            RequestedTokenType = _options.RequestedTokenType,
        };

        // TokenExchangeTokenRequest has its own audience field.
        _endpoint.AddTarget(request, out var scope, out var resources, includeAudience: false);
        request.Audience = _options.Audience;
        request.Scope = scope;
        request.Resource = resources.FirstOrDefault();
        return _endpoint.RequestAsync(
            request, static (invoker, request, cancellationToken) => invoker.RequestTokenExchangeTokenAsync(request, cancellationToken), cancellationToken);
    }
}
