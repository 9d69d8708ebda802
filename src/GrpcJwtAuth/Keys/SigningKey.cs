using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Keys;

/// <summary>
/// A verification key and the JWS algorithms it may verify: what its type (and, for EC, its curve) allows, narrowed to
/// the one algorithm it declares when it declares one (RFC 8725 section 3.1, RFC 7518 sections 3.3 and 3.4).
/// </summary>
internal sealed record SigningKey(SecurityKey Key, string[] Algorithms)
{
    public static readonly string[] RsaAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    public static readonly string[] HmacAlgorithms =
    [
        SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512,
    ];

    public string? KeyId => string.IsNullOrEmpty(Key.KeyId) ? null : Key.KeyId;

    /// <summary>A key usable with every algorithm its type allows.</summary>
    public static SigningKey Of(SecurityKey key) => new(key, AlgorithmsOf(key));

    /// <summary>
    /// A key that declares <paramref name="declaredAlgorithm"/> (a JWK's <c>alg</c>): usable with that algorithm only,
    /// and with none when its type cannot verify it.
    /// </summary>
    public static SigningKey Of(SecurityKey key, string? declaredAlgorithm)
    {
        var natural = AlgorithmsOf(key);
        if (string.IsNullOrEmpty(declaredAlgorithm))
        {
            return new SigningKey(key, natural);
        }

        return new SigningKey(key, Array.IndexOf(natural, declaredAlgorithm) >= 0 ? [declaredAlgorithm] : []);
    }

    public static bool IsRsa(SecurityKey key) => key is RsaSecurityKey or X509SecurityKey { PublicKey: RSA };

    /// <summary>The algorithms a key of this type can verify: RS/PS for RSA, one ES per curve, HS for secrets.</summary>
    public static string[] AlgorithmsOf(SecurityKey key) => key switch
    {
        RsaSecurityKey => RsaAlgorithms,
        ECDsaSecurityKey { ECDsa: { } ecdsa } => CurveAlgorithms(ecdsa),
        X509SecurityKey { PublicKey: RSA } => RsaAlgorithms,
        X509SecurityKey { PublicKey: ECDsa ecdsa } => CurveAlgorithms(ecdsa),
        SymmetricSecurityKey => HmacAlgorithms,
        _ => [],
    };

    /// <summary>
    /// P-256 verifies ES256 only, P-384 ES384, P-521 ES512 (RFC 7518 section 3.4); any other curve, such as secp256k1
    /// (which is also 256 bits), nothing.
    /// </summary>
    public static string[] CurveAlgorithms(ECDsa ecdsa)
    {
        string? oid;
        try
        {
            oid = ecdsa.ExportParameters(includePrivateParameters: false).Curve.Oid?.Value;
        }
        catch (CryptographicException)
        {
            return [];
        }

        return oid switch
        {
            "1.2.840.10045.3.1.7" => [SecurityAlgorithms.EcdsaSha256],
            "1.3.132.0.34" => [SecurityAlgorithms.EcdsaSha384],
            "1.3.132.0.35" => [SecurityAlgorithms.EcdsaSha512],
            _ => [],
        };
    }
}
