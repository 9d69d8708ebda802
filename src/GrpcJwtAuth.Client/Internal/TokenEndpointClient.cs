using System.Net;
using System.Text.Json;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Shared;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Talks to one OAuth 2.0 token endpoint for one client: finds the endpoint (configured, or through discovery with
/// Duende.IdentityModel's <see cref="DiscoveryPolicy"/>: issuer equal to the authority, endpoints on its host),
/// authenticates the client the configured way, sends the request Duende.IdentityModel builds, and judges the answer
/// itself: at most <see cref="MaxResponseBytes"/> read, a JSON object with a non-empty <c>access_token</c>,
/// <c>token_type</c> Bearer, the earlier of <c>expires_in</c> and the JWT's <c>exp</c>, and errors quoting only the
/// cleaned <c>error</c>/<c>error_description</c>, never the secret.
/// </summary>
internal sealed class TokenEndpointClient
{
    public const int MaxResponseBytes = 256 * 1024;
    private const int MaxErrorLength = 256;
    private static readonly JsonWebTokenHandler AssertionHandler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly Func<HttpClient> _httpClient;
    private readonly OAuthClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Uri? _configuredEndpoint;
    private readonly Uri? _authority;
    private readonly SigningCredentials? _assertionCredentials;
    private volatile Uri? _discoveredEndpoint;

    /// <summary>Checks the settings at once; <paramref name="settingPrefix"/> names them in errors.</summary>
    /// <exception cref="ArgumentException">Every problem with the settings, one per line.</exception>
    public TokenEndpointClient(Func<HttpClient> httpClient, OAuthClientOptions options, TimeProvider timeProvider, string settingPrefix)
    {
        var errors = OAuthClientOptionsValidation.Validate(options, settingPrefix, certificateOnHandler: true);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors), nameof(options));
        }

        _httpClient = httpClient;
        _options = options;
        _timeProvider = timeProvider;
        if (!string.IsNullOrWhiteSpace(options.TokenEndpoint))
        {
            EndpointAddress.Check(options.TokenEndpoint, options.RequireHttps, out _configuredEndpoint);
        }
        else
        {
            EndpointAddress.Check(options.Authority, options.RequireHttps, out _authority);
        }

        if (options.ClientAuthentication == ClientAuthenticationMethod.PrivateKeyJwt)
        {
            _assertionCredentials = options.ClientAssertionSigningCredentials
                ?? ClientKeyFiles.LoadSigningCredentials(options.ClientAssertionKeyPath!, options.ClientAssertionKeyId, settingPrefix);
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> (its grant-specific fields already set) to the token endpoint with the client's
    /// authentication, scopes, audience and resource, and returns the token it issued.
    /// </summary>
    /// <exception cref="AccessTokenException">No usable token; <see cref="AccessTokenException.Failure"/> says why.</exception>
    public async Task<AccessToken> RequestAsync<TRequest>(
        TRequest request,
        Func<HttpMessageInvoker, TRequest, CancellationToken, Task<TokenResponse>> send,
        CancellationToken cancellationToken)
        where TRequest : ProtocolRequest
    {
        var endpoint = _configuredEndpoint ?? _discoveredEndpoint ?? await DiscoverAsync(cancellationToken).ConfigureAwait(false);
        request.Address = endpoint.AbsoluteUri;
        Authenticate(request, endpoint);

        var handler = new BoundedResponseHandler(_httpClient(), MaxResponseBytes);
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: true);
        var requestedAt = _timeProvider.GetUtcNow();
        using var response = await send(invoker, request, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        var shown = EndpointAddress.Display(endpoint);
        if (handler.Status is not { } status || handler.Body is null)
        {
            // No complete answer: not reached, timed out, cut off midway, or over the size limit.
            throw Unreachable("The token endpoint", shown, response.Exception);
        }

        if (handler.FinalAddress is { } final && !EndpointAddress.IsAllowed(final, _options.RequireHttps))
        {
            throw new AccessTokenException(AccessTokenFailure.InvalidResponse, $"The token endpoint {shown} redirected to a plain HTTP address; only HTTPS is allowed.");
        }

        using var document = ParseJson(handler.Body);
        if ((int)status is < 200 or > 299)
        {
            throw CreateError(status, document);
        }

        return ParseToken(document, requestedAt);
    }

    /// <summary>The scopes, audience and resource every request of this client carries.</summary>
    public void AddTarget(ProtocolRequest request, out string? scope, out ICollection<string> resources, bool includeAudience = true)
    {
        scope = _options.Scopes.Count > 0 ? string.Join(' ', _options.Scopes) : null;
        resources = string.IsNullOrWhiteSpace(_options.Resource) ? new HashSet<string>() : new HashSet<string> { _options.Resource! };
        if (includeAudience && !string.IsNullOrWhiteSpace(_options.Audience))
        {
            request.Parameters.Add(OidcConstants.TokenRequest.Audience, _options.Audience);
        }
    }

    private void Authenticate(ProtocolRequest request, Uri endpoint)
    {
        request.ClientId = _options.ClientId!;
        request.AuthorizationHeaderStyle = BasicAuthenticationHeaderStyle.Rfc6749;
        switch (_options.ClientAuthentication)
        {
            case ClientAuthenticationMethod.BasicHeader:
                request.ClientSecret = _options.ClientSecret;
                request.ClientCredentialStyle = ClientCredentialStyle.AuthorizationHeader;
                break;
            case ClientAuthenticationMethod.RequestBody:
                request.ClientSecret = _options.ClientSecret;
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                break;
            case ClientAuthenticationMethod.PrivateKeyJwt:
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                request.ClientAssertion = new ClientAssertion
                {
                    Type = OidcConstants.ClientAssertionTypes.JwtBearer,
                    Value = CreateAssertion(endpoint),
                };
                break;
            default:
                // RFC 8705 section 2: the certificate authenticates; the form names the client.
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                break;
        }
    }

    /// <summary>An RFC 7523 client assertion: issuer and subject the client id, audience the token endpoint, one use.</summary>
    private string CreateAssertion(Uri endpoint)
    {
        var now = _timeProvider.GetUtcNow().UtcDateTime;
        return AssertionHandler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.ClientId,
            Audience = endpoint.AbsoluteUri,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + _options.ClientAssertionLifetime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = _options.ClientId!,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
            SigningCredentials = _assertionCredentials,
        });
    }

    private async Task<Uri> DiscoverAsync(CancellationToken cancellationToken)
    {
        var authority = _authority!.AbsoluteUri.TrimEnd('/');
        var address = EndpointAddress.Discovery(authority);
        var shown = EndpointAddress.Display(new Uri(address));
        var handler = new BoundedResponseHandler(_httpClient(), MaxResponseBytes);
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: true);
        var document = await invoker.GetDiscoveryDocumentAsync(
            new DiscoveryDocumentRequest
            {
                Address = address,
                Policy = new DiscoveryPolicy
                {
                    Authority = authority,
                    RequireHttps = _options.RequireHttps,
                    AllowHttpOnLoopback = !_options.RequireHttps,
                    RequireKeySet = false,
                },
            },
            cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        if (document.IsError)
        {
            throw document.ErrorType switch
            {
                ResponseErrorType.Exception when handler.Body is null => Unreachable("The discovery document", shown, document.Exception),
                ResponseErrorType.PolicyViolation => new AccessTokenException(
                    AccessTokenFailure.InvalidResponse,
                    $"The discovery document {shown} was refused: {SafeText.Sanitize(document.Error, MaxErrorLength)?.TrimEnd('.')}."),
                _ when handler.Status is { } status && ((int)status >= 500 || status == HttpStatusCode.TooManyRequests) => new AccessTokenException(
                    AccessTokenFailure.Unavailable, $"The discovery document {shown} could not be read: HTTP {(int)status}."),
                _ => new AccessTokenException(
                    AccessTokenFailure.InvalidResponse,
                    $"The discovery document {shown} could not be read: {(handler.Status is { } s ? $"HTTP {(int)s}" : "not a JSON object")}."),
            };
        }

        if (string.IsNullOrWhiteSpace(document.TokenEndpoint))
        {
            throw new AccessTokenException(AccessTokenFailure.InvalidResponse, $"The discovery document {shown} names no token_endpoint.");
        }

        switch (EndpointAddress.Check(document.TokenEndpoint, _options.RequireHttps, out var endpoint))
        {
            case EndpointAddressProblem.NotAbsoluteHttp:
                throw new AccessTokenException(AccessTokenFailure.InvalidResponse, $"The discovery document {shown} names a token_endpoint that is not an absolute http(s) address.");
            case EndpointAddressProblem.NotHttps:
                throw new AccessTokenException(AccessTokenFailure.InvalidResponse, $"The discovery document {shown} names a token_endpoint that does not use HTTPS.");
        }

        _discoveredEndpoint = endpoint;
        return endpoint!;
    }

    private static AccessTokenException Unreachable(string what, string shown, Exception? cause) => cause switch
    {
        ResponseTooLargeException tooLarge => new AccessTokenException(
            AccessTokenFailure.InvalidResponse, $"{what} {shown} answered more than {tooLarge.MaxBytes} bytes; the answer was not used.", cause),
        HttpRequestException http when http.HttpRequestError != HttpRequestError.Unknown => new AccessTokenException(
            AccessTokenFailure.Unavailable, $"{what} {shown} could not be reached: {http.HttpRequestError}.", cause),
        HttpRequestException => new AccessTokenException(AccessTokenFailure.Unavailable, $"{what} {shown} could not be reached.", cause),
        OperationCanceledException => new AccessTokenException(
            AccessTokenFailure.Unavailable, $"{what} {shown} did not answer within the HTTP client's timeout.", cause),
        IOException => new AccessTokenException(AccessTokenFailure.Unavailable, $"{what} {shown}: the answer could not be read.", cause),
        _ => new AccessTokenException(
            AccessTokenFailure.Unavailable, $"{what} {shown} could not be reached: {cause?.GetType().Name ?? "no answer"}.", cause),
    };

    /// <summary>The body as JSON; <see langword="null"/> when empty or not JSON.</summary>
    private static JsonDocument? ParseJson(ArraySegment<byte>? body)
    {
        if (body is not { Count: > 0 } bytes)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(bytes.AsMemory());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static AccessTokenException CreateError(HttpStatusCode statusCode, JsonDocument? document)
    {
        var status = (int)statusCode;
        var failure = status >= 500 || statusCode == HttpStatusCode.TooManyRequests ? AccessTokenFailure.Unavailable : AccessTokenFailure.Refused;
        if (document?.RootElement is { ValueKind: JsonValueKind.Object } root
            && root.TryGetProperty("error", out var errorElement) && errorElement.ValueKind == JsonValueKind.String)
        {
            // Written by the endpoint: cut and cleaned before it can reach a log line.
            var error = SafeText.Sanitize(errorElement.GetString(), MaxErrorLength);
            var description = root.TryGetProperty("error_description", out var descriptionElement)
                && descriptionElement.ValueKind == JsonValueKind.String
                    ? SafeText.Sanitize(descriptionElement.GetString(), MaxErrorLength)
                    : null;
            var message = description is null
                ? $"The token endpoint refused the request (HTTP {status}): {error}."
                : $"The token endpoint refused the request (HTTP {status}): {error}: {description}";
            return new AccessTokenException(failure, message) { Error = error, ErrorDescription = description };
        }

        return new AccessTokenException(failure, $"The token endpoint answered HTTP {status} without an OAuth 2.0 error response.");
    }

    private static AccessToken ParseToken(JsonDocument? document, DateTimeOffset requestedAt)
    {
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            throw new AccessTokenException(AccessTokenFailure.InvalidResponse, "The token endpoint's response is not a JSON object.");
        }

        if (!root.TryGetProperty("access_token", out var tokenElement) || tokenElement.ValueKind != JsonValueKind.String
            || string.IsNullOrWhiteSpace(tokenElement.GetString()))
        {
            throw new AccessTokenException(AccessTokenFailure.InvalidResponse, "The token endpoint's response has no access_token.");
        }

        if (root.TryGetProperty("token_type", out var typeElement)
            && (typeElement.ValueKind != JsonValueKind.String
                || !string.Equals(typeElement.GetString(), "Bearer", StringComparison.OrdinalIgnoreCase)))
        {
            var tokenType = typeElement.ValueKind == JsonValueKind.String
                ? SafeText.Sanitize(typeElement.GetString(), MaxErrorLength)
                : typeElement.ValueKind.ToString();
            throw new AccessTokenException(
                AccessTokenFailure.InvalidResponse, $"The token endpoint issued a '{tokenType}' token; only Bearer tokens are supported.");
        }

        DateTimeOffset? fromExpiresIn = null;
        if (root.TryGetProperty("expires_in", out var expiresElement))
        {
            long seconds = 0;
            var read = (expiresElement.ValueKind == JsonValueKind.Number && expiresElement.TryGetInt64(out seconds))
                || (expiresElement.ValueKind == JsonValueKind.String && long.TryParse(expiresElement.GetString(), out seconds));
            if (read && seconds > 0)
            {
                fromExpiresIn = requestedAt + TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.FromDays(365).TotalSeconds));
            }
        }

        var value = tokenElement.GetString()!;
        var fromExp = AccessToken.TryReadExpiry(value);

        // Both known: trust the earlier one.
        var expiresAt = (fromExp, fromExpiresIn) switch
        {
            ({ } exp, { } expiresIn) => exp < expiresIn ? exp : expiresIn,
            ({ } exp, null) => exp,
            (null, { } expiresIn) => expiresIn,
            _ => DateTimeOffset.MaxValue,
        };

        return new AccessToken(value, expiresAt);
    }
}
