using System.Globalization;
using System.Security.Cryptography;
using GrpcJwtAuth;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Greeter.Server.Development;

/// <summary>
/// An identity provider inside the sample, for running it with none: a discovery document, a JWKS and an OAuth 2.0
/// client-credentials token endpoint that mints demo tokens with a chosen subject, roles, audience and lifetime.
/// On only when no external issuer (Authority, MetadataAddress, JwksUri) is configured; answers loopback callers only
/// unless DevelopmentIssuer:AllowRemote is true.
/// </summary>
internal sealed class DevelopmentIssuer
{
    public const string DefaultIssuer = "greeter-development-issuer";
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly RsaSecurityKey _signingKey;
    private readonly SigningCredentials _credentials;
    private readonly bool _allowRemote;

    private DevelopmentIssuer(string issuer, string defaultAudience, bool allowRemote)
    {
        Issuer = issuer;
        DefaultAudience = defaultAudience;
        _allowRemote = allowRemote;
        var rsa = RSA.Create(2048);
        _signingKey = new RsaSecurityKey(rsa) { KeyId = "dev-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) };
        _credentials = new SigningCredentials(_signingKey, SecurityAlgorithms.RsaSha256);
        PublicKeyPem = rsa.ExportSubjectPublicKeyInfoPem();
    }

    public string Issuer { get; }

    public string DefaultAudience { get; }

    public string KeyId => _signingKey.KeyId;

    public string PublicKeyPem { get; }

    /// <summary>The issuer, when the configuration names no external one; otherwise <see langword="null"/>.</summary>
    public static DevelopmentIssuer? CreateIfNoIssuerConfigured(IConfiguration configuration)
    {
        var section = configuration.GetSection(GrpcJwtAuthOptions.SectionName);
        if (!string.IsNullOrWhiteSpace(section["Authority"])
            || !string.IsNullOrWhiteSpace(section["MetadataAddress"])
            || !string.IsNullOrWhiteSpace(section["JwksUri"]))
        {
            return null;
        }

        var issuer = configuration["DevelopmentIssuer:Issuer"] ?? DefaultIssuer;
        var audience = section.GetSection("Audiences").Get<string[]>()?.FirstOrDefault() ?? "greeter";
        return new DevelopmentIssuer(issuer, audience, configuration.GetValue("DevelopmentIssuer:AllowRemote", false));
    }

    /// <summary>Makes GrpcJwtAuth trust this issuer's key and name.</summary>
    public void Configure(GrpcJwtAuthOptions options)
    {
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = KeyId, Pem = PublicKeyPem });
        if (options.Issuers.Count == 0)
        {
            options.Issuers.Add(Issuer);
        }
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/.well-known/openid-configuration", (HttpContext context) => LoopbackOnly(context) ?? Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["jwks_uri"] = BaseAddress(context) + "/.well-known/jwks.json",
            ["token_endpoint"] = BaseAddress(context) + "/connect/token",
            ["grant_types_supported"] = new[] { "client_credentials" },
            ["id_token_signing_alg_values_supported"] = new[] { SecurityAlgorithms.RsaSha256 },
        }));

        endpoints.MapGet("/.well-known/jwks.json", (HttpContext context) =>
        {
            if (LoopbackOnly(context) is { } refused)
            {
                return refused;
            }

            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_signingKey.Rsa.ExportParameters(false)) { KeyId = KeyId });
            return Results.Json(new
            {
                keys = new[] { new { kty = jwk.Kty, use = "sig", alg = SecurityAlgorithms.RsaSha256, kid = KeyId, n = jwk.N, e = jwk.E } },
            });
        });

        endpoints.MapPost("/connect/token", async (HttpContext context) =>
        {
            if (LoopbackOnly(context) is { } refused)
            {
                return refused;
            }

            if (!context.Request.HasFormContentType)
            {
                return Error("invalid_request", "Send an application/x-www-form-urlencoded body.");
            }

            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            if (form["grant_type"] != "client_credentials")
            {
                return Error("unsupported_grant_type", "Only client_credentials is supported.");
            }

            var clientId = ClientId(context, form);
            if (string.IsNullOrWhiteSpace(clientId))
            {
                return Error("invalid_client", "Send a client id (any value is accepted by the development issuer).", StatusCodes.Status401Unauthorized);
            }

            if (!int.TryParse(form["lifetime"].FirstOrDefault() ?? "300", NumberStyles.Integer, CultureInfo.InvariantCulture, out var lifetime)
                || lifetime is < -3600 or > 86_400)
            {
                return Error("invalid_request", "lifetime must be a number of seconds between -3600 and 86400.");
            }

            var subject = form["subject"].FirstOrDefault() ?? clientId;
            var roles = (form["roles"].FirstOrDefault() ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var audience = form["audience"].FirstOrDefault() ?? DefaultAudience;
            var scope = form["scope"].FirstOrDefault();

            var now = DateTime.UtcNow;
            var claims = new Dictionary<string, object>
            {
                ["sub"] = subject,
                ["client_id"] = clientId,
                ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            };
            if (roles.Length > 0)
            {
                claims["roles"] = roles;
            }

            if (!string.IsNullOrWhiteSpace(scope))
            {
                claims["scope"] = scope;
            }

            var expires = now.AddSeconds(lifetime);
            var token = Handler.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Issuer,
                Audience = audience,
                IssuedAt = lifetime > 0 ? now : expires.AddMinutes(-5),
                NotBefore = lifetime > 0 ? now : expires.AddMinutes(-5),
                Expires = expires,
                Claims = claims,
                SigningCredentials = _credentials,
            });

            return Results.Json(new { access_token = token, token_type = "Bearer", expires_in = lifetime });
        });
    }

    private IResult? LoopbackOnly(HttpContext context) =>
        _allowRemote || context.Connection.RemoteIpAddress is { } address && System.Net.IPAddress.IsLoopback(address)
            ? null
            : Results.NotFound();

    private static string? ClientId(HttpContext context, IFormCollection form)
    {
        if (form["client_id"].FirstOrDefault() is { Length: > 0 } fromBody)
        {
            return fromBody;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return Uri.UnescapeDataString(colon < 0 ? decoded : decoded[..colon]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string BaseAddress(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}";

    private static IResult Error(string error, string description, int status = StatusCodes.Status400BadRequest) =>
        Results.Json(new { error, error_description = description }, statusCode: status);
}
