using System.Collections.Concurrent;
using System.Text;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>What a client asked the token endpoint for, after its credentials were checked.</summary>
public sealed record TokenRequest(string ClientId, string? Scope);

/// <summary>
/// An OAuth 2.0 token endpoint (client credentials grant, <c>client_secret_basic</c> or <c>client_secret_post</c>) on
/// its own in-process Kestrel (HTTPS, own certificate, 127.0.0.1, port 0), with a discovery document naming it.
/// Tokens come from the test's <c>mint</c> function; requests are counted per path.
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    public const string DiscoveryPath = "/.well-known/openid-configuration";
    public const string TokenPath = "/connect/token";
    public const string ClientId = "probe-client";

    /// <summary>The only accepted secret, random per run: tests check it never shows up where it must not.</summary>
    public static readonly string ClientSecret = "secret-" + Guid.NewGuid().ToString("N");

    private readonly Func<TokenRequest, string> _mint;
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private WebApplication? _app;

    private TokenServer(Func<TokenRequest, string> mint)
    {
        _mint = mint;
    }

    public TestCertificate Certificate { get; } = TestCertificate.CreateForLocalhost();

    public LogCapture Logs { get; } = new();

    public int Port { get; private set; }

    /// <summary>The base address, which is also the issuer its discovery document names.</summary>
    public string Issuer => $"https://127.0.0.1:{Port}";

    public string TokenEndpoint => Issuer + TokenPath;

    /// <summary>Requests seen for the token endpoint, whatever they were answered.</summary>
    public int TokenRequests => _hits.GetValueOrDefault(TokenPath);

    public int Hits(string path) => _hits.GetValueOrDefault(path);

    public static async Task<TokenServer> StartAsync(Func<TokenRequest, string> mint)
    {
        var server = new TokenServer(mint);
        var builder = TestHost.CreateBuilder("TokenServer", server.Logs, LogLevel.Information, server.Certificate, port: 0, HttpProtocols.Http1AndHttp2);
        var app = builder.Build();
        app.Run(server.HandleAsync);
        server.Port = await TestHost.StartAsync(app);
        server._app = app;
        return server;
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
        if (form["grant_type"] != "client_credentials")
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "unsupported_grant_type", "only client_credentials");
            return;
        }

        var (clientId, secret) = Credentials(context, form);
        if (clientId != ClientId || secret != ClientSecret)
        {
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", "unknown client or wrong secret");
            return;
        }

        var token = _mint(new TokenRequest(clientId, form["scope"].FirstOrDefault()));
        await context.Response.WriteAsJsonAsync(new Dictionary<string, object>
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
        });
    }

    /// <summary>From the Basic header (RFC 6749 section 2.3.1: each part form-encoded) or else from the body.</summary>
    private static (string? ClientId, string? Secret) Credentials(HttpContext context, IFormCollection form)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0
                ? (null, null)
                : (Uri.UnescapeDataString(decoded[..colon]), Uri.UnescapeDataString(decoded[(colon + 1)..]));
        }

        return (form["client_id"].FirstOrDefault(), form["client_secret"].FirstOrDefault());
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
