using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tokens;

/// <summary>
/// Checks a compact JWS's signature with IdentityModel's own signature providers (<see cref="CryptoProviderFactory"/>)
/// before the token is parsed: a forged token then costs the pre-check and one signature check, never IdentityModel's
/// parse of up to <c>MaxTokenLength</c> of claims. IdentityModel's validation of the token that passes is then handed
/// the verified token through <see cref="Verified"/> instead of checking the signature a second time.
/// </summary>
internal static class SignatureCheck
{
    [ThreadStatic]
    private static JsonWebToken? _verified;

    /// <summary>
    /// Whether one of <paramref name="keys"/> verifies <paramref name="token"/>'s signature under
    /// <paramref name="algorithm"/>; the key that did, if one did.
    /// </summary>
    public static bool Verify(ReadOnlySpan<char> token, string algorithm, SecurityKey[] keys, out SecurityKey? signingKey)
    {
        signingKey = null;
        var lastDot = token.LastIndexOf('.');
        var input = token[..lastDot];
        var encodedSignature = token[(lastDot + 1)..];

        var inputBytes = ArrayPool<byte>.Shared.Rent(input.Length);
        var signatureBytes = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(encodedSignature.Length));
        try
        {
            // The pre-check let through only base64url and dots: one byte per character.
            var inputLength = Encoding.ASCII.GetBytes(input, inputBytes);
            if (Base64Url.DecodeFromChars(encodedSignature, signatureBytes, out _, out var signatureLength) != OperationStatus.Done)
            {
                return false;
            }

            foreach (var key in keys)
            {
                if (VerifyWith(key, algorithm, inputBytes, inputLength, signatureBytes, signatureLength))
                {
                    signingKey = key;
                    return true;
                }
            }

            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(inputBytes);
            ArrayPool<byte>.Shared.Return(signatureBytes);
        }
    }

    /// <summary>
    /// Runs IdentityModel's validation of <paramref name="token"/>, whose signature <see cref="Verify"/> checked, with
    /// <see cref="Verified"/> as its signature validator. The validator runs synchronously within the call (no
    /// configuration manager is involved), so the verified token is set on this thread only for its length.
    /// </summary>
    public static Task<TokenValidationResult> ValidateVerified(JsonWebTokenHandler handler, JsonWebToken token, TokenValidationParameters parameters)
    {
        _verified = token;
        try
        {
            return handler.ValidateTokenAsync(token, parameters);
        }
        finally
        {
            _verified = null;
        }
    }

    /// <summary>
    /// IdentityModel's <see cref="TokenValidationParameters.SignatureValidator"/>: gives back the token whose signature
    /// <see cref="Verify"/> checked. Anything else fails, so a token can never skip the signature check.
    /// </summary>
    public static SecurityToken Verified(string token, TokenValidationParameters parameters)
    {
        var verified = _verified;
        if (verified is null || !string.Equals(verified.EncodedToken, token, StringComparison.Ordinal))
        {
            throw new SecurityTokenInvalidSignatureException("The token's signature was not checked before its validation.");
        }

        return verified;
    }

    private static bool VerifyWith(SecurityKey key, string algorithm, byte[] input, int inputLength, byte[] signature, int signatureLength)
    {
        var factory = key.CryptoProviderFactory;
        if (!factory.IsSupportedAlgorithm(algorithm, key))
        {
            return false;
        }

        var provider = factory.CreateForVerifying(key, algorithm);
        try
        {
            return provider.Verify(input, 0, inputLength, signature, 0, signatureLength);
        }
        catch (Exception ex) when (ex is ArgumentException or System.Security.Cryptography.CryptographicException or InvalidOperationException)
        {
            // A signature of the wrong length or shape for the key: not this key's signature.
            return false;
        }
        finally
        {
            factory.ReleaseSignatureProvider(provider);
        }
    }
}
