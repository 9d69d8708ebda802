using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GrpcJwtAuth.Shared;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace GrpcJwtAuth.Client.Sources;

/// <summary>
/// Gets tokens from an OAuth 2.0 token endpoint with the client credentials grant: a form-encoded POST
/// (RFC 6749 section 4.4), the endpoint given directly or found through OpenID Connect discovery.
/// Wrap it in <see cref="Caching.CachingAccessTokenProvider"/>: it asks the endpoint on every call.
/// </summary>
public sealed class ClientCredentialsTokenProvider : IAccessTokenProvider
{
    private const int MaxResponseBytes = 256 * 1024;
    private const int MaxErrorLength = 256;

    private readonly Func<HttpClient> _httpClient;
    private readonly ClientCredentialsOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Uri? _configuredEndpoint;
    private Uri? _discoveredEndpoint;

    /// <summary>Creates the provider; checks the options at once.</summary>
    /// <exception cref="ArgumentException">A required option is missing or invalid.</exception>
    public ClientCredentialsTokenProvider(HttpClient httpClient, ClientCredentialsOptions options, TimeProvider? timeProvider = null)
        : this(CheckClient(httpClient), options, timeProvider)
    {
    }

    /// <summary>Creates the provider with a client per request (from <c>IHttpClientFactory</c>).</summary>
    internal ClientCredentialsTokenProvider(Func<HttpClient> httpClient, ClientCredentialsOptions options, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            throw new ArgumentException("ClientCredentialsOptions.ClientId is required.", nameof(options));
        }

        if (string.IsNullOrEmpty(options.ClientSecret))
        {
            throw new ArgumentException("ClientCredentialsOptions.ClientSecret is required.", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.TokenEndpoint) && string.IsNullOrWhiteSpace(options.Authority))
        {
            throw new ArgumentException("Set ClientCredentialsOptions.TokenEndpoint or ClientCredentialsOptions.Authority.", nameof(options));
        }

        if (!string.IsNullOrWhiteSpace(options.TokenEndpoint))
        {
            _configuredEndpoint = CheckAddress(options.TokenEndpoint, "TokenEndpoint", options.RequireHttps);
        }
        else
        {
            CheckAddress(options.Authority!, "Authority", options.RequireHttps);
        }

        _httpClient = httpClient;
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public async ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var endpoint = _configuredEndpoint ?? _discoveredEndpoint ?? await DiscoverAsync(cancellationToken).ConfigureAwait(false);

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(FormFields()) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_options.ClientAuthentication == ClientAuthenticationMethod.BasicHeader)
        {
            // RFC 6749 section 2.3.1: id and secret are form-encoded before being joined and base64-encoded.
            var credentials = $"{Uri.EscapeDataString(_options.ClientId!)}:{Uri.EscapeDataString(_options.ClientSecret!)}";
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }

        var requestedAt = _timeProvider.GetUtcNow();
        HttpResponseMessage response;
        try
        {
            response = await _httpClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new AccessTokenException($"The token endpoint {endpoint} could not be reached: {ex.HttpRequestError}.", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout, not the caller.
            throw new AccessTokenException($"The token endpoint {endpoint} did not answer within the HTTP client's timeout.", ex);
        }

        using (response)
        {
            JsonDocument? body;
            try
            {
                body = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                throw new AccessTokenException($"The token endpoint {endpoint} response could not be read: {ex.GetType().Name}.", ex);
            }

            using var document = body;
            if (!response.IsSuccessStatusCode)
            {
                throw CreateError(response, document);
            }

            return ParseToken(document, requestedAt);
        }
    }

    private static Func<HttpClient> CheckClient(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        return () => httpClient;
    }

    private List<KeyValuePair<string, string>> FormFields()
    {
        var fields = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (_options.ClientAuthentication == ClientAuthenticationMethod.RequestBody)
        {
            fields.Add(new("client_id", _options.ClientId!));
            fields.Add(new("client_secret", _options.ClientSecret!));
        }

        if (_options.Scopes.Count > 0)
        {
            fields.Add(new("scope", string.Join(' ', _options.Scopes)));
        }

        if (!string.IsNullOrWhiteSpace(_options.Audience))
        {
            fields.Add(new("audience", _options.Audience));
        }

        if (!string.IsNullOrWhiteSpace(_options.Resource))
        {
            fields.Add(new("resource", _options.Resource));
        }

        return fields;
    }

    private async Task<Uri> DiscoverAsync(CancellationToken cancellationToken)
    {
        var address = _options.Authority!.TrimEnd('/') + "/.well-known/openid-configuration";
        OpenIdConnectConfiguration configuration;
        try
        {
            using var response = await _httpClient().GetAsync(CheckAddress(address, "Authority", _options.RequireHttps), HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);
            var body = response.IsSuccessStatusCode
                ? await BoundedContent.ReadAsync(response.Content, MaxResponseBytes, cancellationToken).ConfigureAwait(false)
                : null;
            if (body is not { } bytes)
            {
                throw new IOException(response.IsSuccessStatusCode
                    ? $"The answer is larger than {MaxResponseBytes} bytes."
                    : $"HTTP {(int)response.StatusCode}.");
            }

            configuration = OpenIdConnectConfiguration.Create(Encoding.UTF8.GetString(bytes));
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or HttpRequestException or JsonException)
        {
            throw new AccessTokenException($"The discovery document {address} could not be read.", ex);
        }

        if (string.IsNullOrWhiteSpace(configuration.TokenEndpoint))
        {
            throw new AccessTokenException($"The discovery document {address} names no token_endpoint.");
        }

        Uri endpoint;
        try
        {
            endpoint = CheckAddress(configuration.TokenEndpoint, "token_endpoint", _options.RequireHttps);
        }
        catch (ArgumentException ex)
        {
            throw new AccessTokenException(ex.Message, ex);
        }

        _discoveredEndpoint = endpoint;
        return endpoint;
    }

    /// <summary>The body as JSON; <see langword="null"/> when empty, not JSON, or over <see cref="MaxResponseBytes"/> (never read past it).</summary>
    private static async Task<JsonDocument?> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await BoundedContent.ReadAsync(response.Content, MaxResponseBytes, cancellationToken).ConfigureAwait(false);
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

    private static AccessTokenException CreateError(HttpResponseMessage response, JsonDocument? document)
    {
        var status = (int)response.StatusCode;
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
            return new AccessTokenException(message) { Error = error, ErrorDescription = description };
        }

        return new AccessTokenException($"The token endpoint answered HTTP {status} without an OAuth 2.0 error response.");
    }

    private static AccessToken ParseToken(JsonDocument? document, DateTimeOffset requestedAt)
    {
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            throw new AccessTokenException("The token endpoint's response is not a JSON object.");
        }

        if (!root.TryGetProperty("access_token", out var tokenElement) || tokenElement.ValueKind != JsonValueKind.String
            || string.IsNullOrWhiteSpace(tokenElement.GetString()))
        {
            throw new AccessTokenException("The token endpoint's response has no access_token.");
        }

        if (root.TryGetProperty("token_type", out var typeElement)
            && (typeElement.ValueKind != JsonValueKind.String
                || !string.Equals(typeElement.GetString(), "Bearer", StringComparison.OrdinalIgnoreCase)))
        {
            // GetString() throws on a non-string: name the raw JSON instead.
            var tokenType = typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : typeElement.GetRawText();
            throw new AccessTokenException($"The token endpoint issued a '{tokenType}' token; only Bearer tokens are supported.");
        }

        DateTimeOffset? fromExpiresIn = null;
        if (root.TryGetProperty("expires_in", out var expiresElement))
        {
            if (expiresElement.ValueKind == JsonValueKind.Number && expiresElement.TryGetInt64(out var seconds) && seconds > 0)
            {
                fromExpiresIn = requestedAt + TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.FromDays(365).TotalSeconds));
            }
            else if (expiresElement.ValueKind == JsonValueKind.String && long.TryParse(expiresElement.GetString(), out seconds) && seconds > 0)
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

    private static Uri CheckAddress(string value, string name, bool requireHttps)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"ClientCredentials {name} '{value}' is not an absolute http(s) address.");
        }

        if (requireHttps && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException(
                $"ClientCredentials {name} '{value}' does not use HTTPS; use https, or set ClientCredentialsOptions.RequireHttps = false (development only).");
        }

        return uri;
    }
}
