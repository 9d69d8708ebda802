using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Client.Sources;

/// <summary>
/// How a service mints its own short-lived tokens, for service-to-service calls without an identity provider.
/// </summary>
public sealed class SelfSignedTokenOptions
{
    /// <summary>The key that signs: an RSA or ECDSA private key, or a symmetric secret. Required.</summary>
    public SecurityKey? SigningKey { get; set; }

    /// <summary>
    /// The JWS algorithm. When empty: RS256 for RSA keys, ES256/ES384/ES512 by curve for ECDSA keys, HS256 for
    /// symmetric keys. Defaults to empty.
    /// </summary>
    public string? Algorithm { get; set; }

    /// <summary>The <c>kid</c> header; when empty the signing key's <c>KeyId</c>. Defaults to none.</summary>
    public string? KeyId { get; set; }

    /// <summary>The <c>iss</c> claim. Required.</summary>
    public string? Issuer { get; set; }

    /// <summary>The <c>aud</c> claim: the service the token is for. Required.</summary>
    public string? Audience { get; set; }

    /// <summary>The <c>sub</c> claim. Defaults to none.</summary>
    public string? Subject { get; set; }

    /// <summary>
    /// More claims (for example <c>roles</c> as a string array or <c>scope</c> as a space-separated string).
    /// Defaults to none.
    /// </summary>
    public IDictionary<string, object> Claims { get; } = new Dictionary<string, object>(StringComparer.Ordinal);

    /// <summary>How long each token lives. Defaults to 00:05:00.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How far <c>nbf</c> and <c>iat</c> are set in the past, to absorb clock differences with the server.
    /// Defaults to 00:00:00.
    /// </summary>
    public TimeSpan NotBeforeSkew { get; set; } = TimeSpan.Zero;
}
