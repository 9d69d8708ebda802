using System.Text.Json;
using GrpcJwtAuth.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Keys;

/// <summary>
/// Turns a JSON Web Key Set into the keys an issuer verifies with, holding each key to what it declares and what its
/// type allows: encryption keys and secrets are left out (a secret in a published key set is public); a key declaring
/// an <c>alg</c> is used for that algorithm only (RFC 8725 section 3.1); an RSA key needs 2048 bits (RFC 7518 section
/// 3.3); an EC key verifies only the algorithm of its curve (RFC 7518 section 3.4). Every key left out for a reason the
/// operator should know is logged (event 205); a set of more than <see cref="MaxKeys"/> keys is refused whole.
/// </summary>
internal static class JwksParser
{
    /// <summary>More keys than any identity provider publishes (they rotate through two or three).</summary>
    public const int MaxKeys = 100;

    private static readonly string[] SupportedAlgorithms = [.. SigningKey.RsaAlgorithms, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512];

    /// <exception cref="KeySourceException">Not a key set, too many keys, or no usable key.</exception>
    public static IReadOnlyList<SigningKey> Parse(string json, string issuerName, string address, ILogger logger)
    {
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(json);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or InvalidOperationException)
        {
            throw new KeySourceException("The key set is not a valid JSON Web Key Set.", ex);
        }

        if (set.Keys.Count > MaxKeys)
        {
            throw new KeySourceException($"The key set holds {set.Keys.Count} keys; at most {MaxKeys} are accepted.");
        }

        var keys = new List<SigningKey>();
        foreach (var jwk in set.Keys)
        {
            // Encryption keys are routinely published next to signing keys: leaving them out is no news.
            if (!string.IsNullOrEmpty(jwk.Use) && !string.Equals(jwk.Use, JsonWebKeyUseNames.Sig, StringComparison.Ordinal))
            {
                continue;
            }

            if (Refusal(jwk) is { } refusal)
            {
                Skipped(logger, issuerName, address, jwk.Kid, refusal);
                continue;
            }

            var single = new JsonWebKeySet { SkipUnresolvedJsonWebKeys = true };
            single.Keys.Add(jwk);
            var converted = single.GetSigningKeys();
            if (converted.Count == 0)
            {
                Skipped(logger, issuerName, address, jwk.Kid, "it cannot be read as an RSA or EC public key");
                continue;
            }

            foreach (var key in converted)
            {
                if (SigningKey.IsRsa(key) && key.KeySize < StaticKeyLoader.MinimumRsaKeyBits)
                {
                    Skipped(logger, issuerName, address, jwk.Kid, $"it is a {key.KeySize}-bit RSA key; at least {StaticKeyLoader.MinimumRsaKeyBits} bits are required (RFC 7518 section 3.3)");
                    continue;
                }

                var signingKey = SigningKey.Of(key, jwk.Alg);
                if (signingKey.Algorithms.Length == 0)
                {
                    Skipped(logger, issuerName, address, jwk.Kid, string.IsNullOrEmpty(jwk.Alg)
                        ? "its curve is not one JWS uses (P-256, P-384, P-521)"
                        : $"it declares alg {jwk.Alg}, which its key type or curve cannot verify");
                    continue;
                }

                keys.Add(signingKey);
            }
        }

        if (keys.Count == 0)
        {
            throw new KeySourceException("The key set holds no usable signing key.");
        }

        return keys;
    }

    /// <summary>Why a signing key is not even converted: a type or declared algorithm that cannot verify a token here.</summary>
    private static string? Refusal(JsonWebKey jwk)
    {
        if (jwk.Kty is not (JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve))
        {
            return jwk.Kty == JsonWebAlgorithmsKeyTypes.Octet
                ? "it is a secret (kty oct), and a secret in a published key set is no secret"
                : "its key type is not RSA or EC";
        }

        if (!string.IsNullOrEmpty(jwk.Alg) && Array.IndexOf(SupportedAlgorithms, jwk.Alg) < 0)
        {
            return $"it declares alg {jwk.Alg}, which is not an RS, PS or ES algorithm";
        }

        if (jwk.KeyOps.Count > 0 && !jwk.KeyOps.Contains("verify"))
        {
            return "its key_ops do not include verify";
        }

        return null;
    }

    private static void Skipped(ILogger logger, string issuerName, string address, string? keyId, string reason) =>
        Log.KeySkipped(logger, issuerName, RejectedTokenClaims.Sanitize(keyId), address, reason);
}
