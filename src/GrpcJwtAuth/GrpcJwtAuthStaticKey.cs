namespace GrpcJwtAuth;

/// <summary>
/// A signing key configured in place. Set exactly one of <see cref="Pem"/>, <see cref="PemFile"/> and
/// <see cref="SymmetricSecret"/>.
/// </summary>
public sealed class GrpcJwtAuthStaticKey
{
    /// <summary>
    /// The <c>kid</c> tokens signed with this key carry. When empty, the key is tried for any token of its issuer.
    /// Defaults to none.
    /// </summary>
    public string? KeyId { get; set; }

    /// <summary>
    /// An inline PEM public key (<c>PUBLIC KEY</c>, <c>RSA PUBLIC KEY</c>) or certificate (<c>CERTIFICATE</c>).
    /// RSA keys must be at least 2048 bits. Private keys are refused. Defaults to none.
    /// </summary>
    public string? Pem { get; set; }

    /// <summary>The path of a file holding what <see cref="Pem"/> would hold. Defaults to none.</summary>
    public string? PemFile { get; set; }

    /// <summary>
    /// A base64 (or base64url) secret of at least 32 bytes for HS256, HS384 and HS512. Meant for service-to-service
    /// setups where both sides share the secret. Defaults to none.
    /// </summary>
    public string? SymmetricSecret { get; set; }

    /// <summary>
    /// The issuer (<c>iss</c>) this key signs for: the key verifies tokens of that issuer only, never those of another
    /// (RFC 8725 section 3.8). Required when a key endpoint (<see cref="GrpcJwtAuthOptions.Authority"/>,
    /// <see cref="GrpcJwtAuthOptions.MetadataAddress"/> or <see cref="GrpcJwtAuthOptions.JwksUri"/>) is configured too,
    /// and it must differ from that endpoint's issuer. Without a key endpoint it may be left empty: the key then signs
    /// for <see cref="GrpcJwtAuthOptions.Issuers"/>. Defaults to none.
    /// </summary>
    public string? Issuer { get; set; }
}
