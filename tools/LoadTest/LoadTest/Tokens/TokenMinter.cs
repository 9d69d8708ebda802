using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GrpcJwtAuth.LoadTest.Tokens;

/// <summary>
/// The load tool's issuer: an RSA-2048 key (RS256) and a P-256 key (ES256) made at startup, whose public halves the
/// server is given, plus a second RSA key that forges signatures under the first key's <c>kid</c>. Tokens are minted
/// here, compactly and without IdentityModel, so the pool of unique tokens is quick to make.
/// </summary>
internal sealed class TokenMinter : IDisposable
{
    public const string Issuer = "https://loadtest.grpcjwtauth.invalid";
    public const string Audience = "greeter-load";
    public const string Subject = "load-user";
    public const string RsaKeyId = "load-rs256";
    public const string EcKeyId = "load-es256";

    private static readonly string RsaHeader = Base64Url.EncodeToString(
        Encoding.UTF8.GetBytes($$"""{"alg":"RS256","kid":"{{RsaKeyId}}","typ":"JWT"}"""));

    private static readonly string EcHeader = Base64Url.EncodeToString(
        Encoding.UTF8.GetBytes($$"""{"alg":"ES256","kid":"{{EcKeyId}}","typ":"JWT"}"""));

    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly RSA _forger = RSA.Create(2048);

    /// <summary>Writes the two public keys as PEM; returns the server's <c>--key</c> values.</summary>
    public string[] ExportPublicKeys(string directory)
    {
        Directory.CreateDirectory(directory);
        var rsaPath = Path.Combine(directory, "rs256.public.pem");
        var ecPath = Path.Combine(directory, "es256.public.pem");
        File.WriteAllText(rsaPath, _rsa.ExportSubjectPublicKeyInfoPem());
        File.WriteAllText(ecPath, _ecdsa.ExportSubjectPublicKeyInfoPem());
        return [$"rsa:{RsaKeyId}:{rsaPath}", $"ec:{EcKeyId}:{ecPath}"];
    }

    /// <summary>A token valid from a minute ago for <paramref name="lifetime"/>.</summary>
    public string Valid(TokenAlgorithm algorithm, string tokenId, TimeSpan lifetime, string subject = Subject)
    {
        var now = DateTimeOffset.UtcNow;
        return Sign(algorithm, Payload(subject, tokenId, now.AddMinutes(-1), now + lifetime), _rsa, _ecdsa);
    }

    /// <summary>A correctly signed token that expired ten minutes ago, well beyond any clock skew.</summary>
    public string Expired(TokenAlgorithm algorithm, string tokenId, string subject = Subject)
    {
        var now = DateTimeOffset.UtcNow;
        return Sign(algorithm, Payload(subject, tokenId, now.AddMinutes(-70), now.AddMinutes(-10)), _rsa, _ecdsa);
    }

    /// <summary>A token signed by another RSA key under the real key's <c>kid</c>: its signature does not verify.</summary>
    public string ForgedSignature(string tokenId, TimeSpan lifetime, string subject = Subject)
    {
        var now = DateTimeOffset.UtcNow;
        return Sign(TokenAlgorithm.Rs256, Payload(subject, tokenId, now.AddMinutes(-1), now + lifetime), _forger, _ecdsa);
    }

    /// <summary>A valid token whose payload was swapped for another subject after signing: the signature no longer matches.</summary>
    public string TamperedPayload(string tokenId, TimeSpan lifetime, string subject)
    {
        var genuine = Valid(TokenAlgorithm.Rs256, tokenId, lifetime);
        var now = DateTimeOffset.UtcNow;
        var parts = genuine.Split('.');
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Payload(subject, tokenId, now.AddMinutes(-1), now + lifetime)));
        return $"{parts[0]}.{payload}.{parts[2]}";
    }

    /// <summary>
    /// Mints <paramref name="count"/> valid RS256 tokens, each with its own <c>jti</c>, on every core (a signature costs
    /// about a quarter of a millisecond). Each worker signs with its own copy of the key.
    /// </summary>
    public string[] ManyValid(int count, string tokenIdPrefix, TimeSpan lifetime)
    {
        var tokens = new string[count];
        var parameters = _rsa.ExportParameters(includePrivateParameters: true);
        var now = DateTimeOffset.UtcNow;
        Parallel.For(
            0,
            count,
            () =>
            {
                var rsa = RSA.Create();
                rsa.ImportParameters(parameters);
                return rsa;
            },
            (i, _, rsa) =>
            {
                var tokenId = tokenIdPrefix + i.ToString(CultureInfo.InvariantCulture);
                tokens[i] = Sign(TokenAlgorithm.Rs256, Payload(Subject, tokenId, now.AddMinutes(-1), now + lifetime), rsa, _ecdsa);
                return rsa;
            },
            rsa => rsa.Dispose());
        return tokens;
    }

    public void Dispose()
    {
        _rsa.Dispose();
        _ecdsa.Dispose();
        _forger.Dispose();
    }

    private static string Payload(string subject, string tokenId, DateTimeOffset notBefore, DateTimeOffset expires)
    {
        var nbf = notBefore.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var exp = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        // Subjects and token ids are the tool's own ASCII names, so no JSON escaping is needed.
        return $$"""{"sub":"{{subject}}","iss":"{{Issuer}}","aud":"{{Audience}}","iat":{{nbf}},"nbf":{{nbf}},"exp":{{exp}},"jti":"{{tokenId}}"}""";
    }

    private static string Sign(TokenAlgorithm algorithm, string payloadJson, RSA rsa, ECDsa ecdsa)
    {
        var signingInput = (algorithm == TokenAlgorithm.Rs256 ? RsaHeader : EcHeader) + "." +
            Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson));
        var bytes = Encoding.ASCII.GetBytes(signingInput);
        var signature = algorithm == TokenAlgorithm.Rs256
            ? rsa.SignData(bytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : ecdsa.SignData(bytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }
}

internal enum TokenAlgorithm
{
    Rs256,
    Es256,
}
