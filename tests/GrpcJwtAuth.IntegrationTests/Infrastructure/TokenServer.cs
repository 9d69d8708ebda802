using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>What a client asked the token endpoint for, after its credentials were checked.</summary>
/// <param name="ClientId">The authenticated client.</param>
/// <param name="Scope">The <c>scope</c> field, as sent.</param>
/// <param name="GrantType">The <c>grant_type</c> field.</param>
/// <param name="SubjectToken">For token exchange, the <c>subject_token</c>.</param>
/// <param name="Audience">The <c>audience</c> field.</param>
/// <param name="Resource">The <c>resource</c> field (RFC 8707).</param>
public sealed record TokenRequest(
    string ClientId,
    string? Scope,
    string GrantType = TokenServer.ClientCredentialsGrant,
    string? SubjectToken = null,
    string? Audience = null,
    string? Resource = null);

/// <summary>How a <see cref="TokenServer"/> authenticates clients besides the shared secret.</summary>
public sealed class TokenServerOptions
{
    /// <summary>
    /// Whether Kestrel asks for a TLS client certificate (<c>ClientCertificateMode.AllowCertificate</c>, any certificate
    /// accepted by the handshake); a request without a secret or assertion is then authenticated by
    /// <see cref="TrustedClientCertificate"/> (RFC 8705 section 2).
    /// </summary>
    public bool AllowClientCertificates { get; init; }

    /// <summary>The one client certificate that authenticates a client, compared by thumbprint.</summary>
    public X509Certificate2? TrustedClientCertificate { get; init; }

    /// <summary>The public key that verifies <c>private_key_jwt</c> client assertions (RFC 7523); none: assertions are refused.</summary>
    public SecurityKey? ClientAssertionKey { get; init; }

    /// <summary>The client ids accepted with any of the credentials. Defaults to <see cref="TokenServer.ClientId"/> alone.</summary>
    public IReadOnlyCollection<string> ClientIds { get; init; } = [TokenServer.ClientId];

    /// <summary>The accepted secret. Defaults to <see cref="TokenServer.ClientSecret"/>.</summary>
    public string ClientSecret { get; init; } = TokenServer.ClientSecret;
}

/// <summary>
/// An OAuth 2.0 token endpoint on its own in-process Kestrel (HTTPS, own certificate, 127.0.0.1, port 0), with a
/// discovery document naming it. Grants: client credentials and token exchange (RFC 8693, access tokens as subject).
/// Clients authenticate, checked in this order, with a <c>private_key_jwt</c> assertion (RFC 7523, each <c>jti</c>
/// once), a TLS client certificate (RFC 8705), or the secret (<c>client_secret_basic</c> or <c>client_secret_post</c>);
/// any failure answers 401 <c>invalid_client</c>. Tokens come from the test's <c>mint</c> function; requests are
/// counted per path and every token request's form is kept.
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    public const string DiscoveryPath = "/.well-known/openid-configuration";
    public const string TokenPath = "/connect/token";
    public const string ClientId = "probe-client";
    public const string ClientCredentialsGrant = "client_credentials";
    public const string TokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";
    public const string JwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>The only accepted secret, random per run: tests check it never shows up where it must not.</summary>
    public static readonly string ClientSecret = "secret-" + Guid.NewGuid().ToString("N");

    private static readonly JsonWebTokenHandler AssertionHandler = new();

    private readonly Func<TokenRequest, string> _mint;
    private readonly TokenServerOptions _options;
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _seenAssertionIds = new(StringComparer.Ordinal);
    private readonly List<IReadOnlyDictionary<string, string>> _tokenForms = [];
    private readonly List<string> _clientAuthentications = [];
    private WebApplication? _app;

    private TokenServer(Func<TokenRequest, string> mint, TokenServerOptions options)
    {
        _mint = mint;
        _options = options;
    }

    public TestCertificate Certificate { get; } = TestCertificate.CreateForLocalhost();

    public LogCapture Logs { get; } = new();

    public int Port { get; private set; }

    /// <summary>The base address, which is also the issuer its discovery document names.</summary>
    public string Issuer => $"https://127.0.0.1:{Port}";

    public string TokenEndpoint => Issuer + TokenPath;

    /// <summary>Requests seen for the token endpoint, whatever they were answered.</summary>
    public int TokenRequests => _hits.GetValueOrDefault(TokenPath);

    /// <summary>
    /// The form fields of every token request that had a form, in order, whatever it was answered (a field sent
    /// several times: its values joined with a comma).
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> TokenForms
    {
        get
        {
            lock (_tokenForms)
            {
                return _tokenForms.ToArray();
            }
        }
    }

    /// <summary>
    /// How each authenticated token request authenticated its client, in order: <c>private_key_jwt</c>,
    /// <c>tls_client_auth</c>, <c>client_secret_basic</c> or <c>client_secret_post</c>.
    /// </summary>
    public IReadOnlyList<string> ClientAuthentications
    {
        get
        {
            lock (_tokenForms)
            {
                return _clientAuthentications.ToArray();
            }
        }
    }

    public int Hits(string path) => _hits.GetValueOrDefault(path);

    public static async Task<TokenServer> StartAsync(Func<TokenRequest, string> mint, TokenServerOptions? options = null)
    {
        options ??= new TokenServerOptions();
        var server = new TokenServer(mint, options);
        var builder = TestHost.CreateBuilder(
            "TokenServer",
            server.Logs,
            LogLevel.Information,
            server.Certificate,
            port: 0,
            HttpProtocols.Http1AndHttp2,
            https =>
            {
                if (options.AllowClientCertificates)
                {
                    // Any certificate passes the handshake; the handler decides whether it authenticates the client.
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.ClientCertificateValidation = static (_, _, _) => true;
                }
            });
        var app = builder.Build();
        app.Run(server.HandleAsync);
        server.Port = await TestHost.StartAsync(app);
        server._app = app;
        return server;
    }

    /// <summary>A loopback port nothing listens on: bound, read, and closed again. For an unreachable token endpoint.</summary>
    public static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await TestHost.StopAsync(_app);
        }

        Certificate.Dispose();
        Logs.AssertNoUnexpectedErrors("The token server");
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        _hits.AddOrUpdate(path, 1, static (_, count) => count + 1);

        if (path == DiscoveryPath && HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
            {
                ["issuer"] = Issuer,
                ["token_endpoint"] = TokenEndpoint,
            });
            return;
        }

        if (path != TokenPath || !HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!context.Request.HasFormContentType)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "send a form-encoded body");
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        lock (_tokenForms)
        {
            _tokenForms.Add(form.ToDictionary(field => field.Key, field => field.Value.ToString(), StringComparer.Ordinal));
        }

        var (clientId, method, failure) = await AuthenticateAsync(context, form);
        if (clientId is null)
        {
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", failure!);
            return;
        }

        lock (_tokenForms)
        {
            _clientAuthentications.Add(method!);
        }

        var grantType = form["grant_type"].ToString();
        string? subjectToken = null;
        switch (grantType)
        {
            case ClientCredentialsGrant:
                break;
            case TokenExchangeGrant:
                subjectToken = form["subject_token"].FirstOrDefault();
                if (string.IsNullOrEmpty(subjectToken))
                {
                    await ErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "subject_token is required");
                    return;
                }

                if (form["subject_token_type"] != AccessTokenType)
                {
                    await ErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "subject_token_type must be an access token");
                    return;
                }

                break;
            default:
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "unsupported_grant_type", "only client_credentials and token exchange");
                return;
        }

        var token = _mint(new TokenRequest(
            clientId,
            form["scope"].FirstOrDefault(),
            grantType,
            subjectToken,
            form["audience"].FirstOrDefault(),
            form["resource"].FirstOrDefault()));

        var answer = new Dictionary<string, object>
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
        };
        if (grantType == TokenExchangeGrant)
        {
            answer["issued_token_type"] = AccessTokenType;
        }

        await context.Response.WriteAsJsonAsync(answer);
    }

    /// <summary>The client and how it authenticated, or why it did not.</summary>
    private async Task<(string? ClientId, string? Method, string? Failure)> AuthenticateAsync(HttpContext context, IFormCollection form)
    {
        var formClientId = form["client_id"].FirstOrDefault();
        if (form.ContainsKey("client_assertion") || form.ContainsKey("client_assertion_type"))
        {
            // RFC 7523 section 3: client_id may be left out; the assertion's issuer names the client.
            var assertionClientId = formClientId ?? UnverifiedIssuer(form["client_assertion"].ToString());
            var failure = await CheckAssertionAsync(form, assertionClientId);
            return failure is null ? (assertionClientId, "private_key_jwt", null) : (null, null, failure);
        }

        var (secretClientId, secret, method) = SecretCredentials(context, form);
        if (secret is null && _options.AllowClientCertificates)
        {
            var presented = context.Connection.ClientCertificate;
            if (presented is null)
            {
                return (null, null, "no client certificate");
            }

            if (_options.TrustedClientCertificate is not { } trusted || presented.Thumbprint != trusted.Thumbprint)
            {
                return (null, null, "untrusted client certificate");
            }

            return formClientId is not null && _options.ClientIds.Contains(formClientId)
                ? (formClientId, "tls_client_auth", null)
                : (null, null, "unknown client");
        }

        return secretClientId is not null && _options.ClientIds.Contains(secretClientId) && secret == _options.ClientSecret
            ? (secretClientId, method, null)
            : (null, null, "unknown client or wrong secret");
    }

    /// <summary>RFC 7523 section 3: type, signature, issuer and subject the client, audience this endpoint, lifetime, one use.</summary>
    private async Task<string?> CheckAssertionAsync(IFormCollection form, string? clientId)
    {
        if (form["client_assertion_type"] != JwtBearerAssertionType)
        {
            return "unsupported client_assertion_type";
        }

        if (_options.ClientAssertionKey is not { } key)
        {
            return "client assertions are not accepted";
        }

        if (clientId is null || !_options.ClientIds.Contains(clientId))
        {
            return "unknown client";
        }

        var result = await AssertionHandler.ValidateTokenAsync(form["client_assertion"].ToString(), new TokenValidationParameters
        {
            ValidIssuer = clientId,
            ValidAudience = TokenEndpoint,
            IssuerSigningKey = key,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.Zero,
        });
        if (!result.IsValid)
        {
            return "invalid client assertion";
        }

        var assertion = (JsonWebToken)result.SecurityToken;
        if (assertion.Subject != clientId)
        {
            return "client assertion subject is not the client";
        }

        if (string.IsNullOrEmpty(assertion.Id) || !_seenAssertionIds.TryAdd(assertion.Id, true))
        {
            return "client assertion replayed or without jti";
        }

        return null;
    }

    private static string? UnverifiedIssuer(string assertion) =>
        AssertionHandler.CanReadToken(assertion) ? new JsonWebToken(assertion).Issuer : null;

    /// <summary>From the Basic header (RFC 6749 section 2.3.1: each part form-encoded) or else from the body.</summary>
    private static (string? ClientId, string? Secret, string Method) SecretCredentials(HttpContext context, IFormCollection form)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0
                ? (null, null, "client_secret_basic")
                : (WebUtility.UrlDecode(decoded[..colon]), WebUtility.UrlDecode(decoded[(colon + 1)..]), "client_secret_basic");
        }

        return (form["client_id"].FirstOrDefault(), form["client_secret"].FirstOrDefault(), "client_secret_post");
    }

    private static Task ErrorAsync(HttpContext context, int status, string error, string description)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new Dictionary<string, string>
        {
            ["error"] = error,
            ["error_description"] = description,
        });
    }
}
