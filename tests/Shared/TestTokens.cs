using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Testing;

/// <summary>A signing key a test owns: its private half signs, its public half is what the server is given.</summary>
public sealed class TestSigningKey
{
    private TestSigningKey(SecurityKey privateKey, SecurityKey publicKey, string algorithm, string publicPem, JsonWebKey publicJwk)
    {
        PrivateKey = privateKey;
        PublicKey = publicKey;
        Algorithm = algorithm;
        PublicPem = publicPem;
        PublicJwk = publicJwk;
    }

    public SecurityKey PrivateKey { get; }

    public SecurityKey PublicKey { get; }

    public string Algorithm { get; }

    public string? KeyId => PrivateKey.KeyId;

    /// <summary>SubjectPublicKeyInfo PEM (<c>-----BEGIN PUBLIC KEY-----</c>); empty for symmetric keys.</summary>
    public string PublicPem { get; }

    /// <summary>The public key as a JWK (with <c>kid</c>, <c>alg</c>, <c>use: sig</c>), for a JWKS document.</summary>
    public JsonWebKey PublicJwk { get; }

    /// <param name="keyId">The <c>kid</c>.</param>
    /// <param name="bits">The modulus size.</param>
    /// <param name="algorithm">The algorithm tokens are signed with.</param>
    /// <param name="jwkAlgorithm">The <c>alg</c> the JWK declares: <paramref name="algorithm"/> when null, none when empty.</param>
    public static TestSigningKey Rsa(string? keyId = "rsa-1", int bits = 2048, string algorithm = SecurityAlgorithms.RsaSha256, string? jwkAlgorithm = null)
    {
        var rsa = RSA.Create(bits);
        var publicRsa = RSA.Create();
        publicRsa.ImportRSAPublicKey(rsa.ExportRSAPublicKey(), out _);
        var privateKey = new RsaSecurityKey(rsa) { KeyId = keyId };
        var publicKey = new RsaSecurityKey(publicRsa) { KeyId = keyId };
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(publicKey);
        jwk.Use = "sig";
        jwk.Alg = jwkAlgorithm ?? algorithm;
        return new TestSigningKey(privateKey, publicKey, algorithm, publicRsa.ExportSubjectPublicKeyInfoPem(), jwk);
    }

    /// <param name="keyId">The <c>kid</c>.</param>
    /// <param name="algorithm">The algorithm tokens are signed with.</param>
    /// <param name="curve">The curve: the one <paramref name="algorithm"/> is defined on when null.</param>
    /// <param name="jwkAlgorithm">The <c>alg</c> the JWK declares: <paramref name="algorithm"/> when null, none when empty.</param>
    public static TestSigningKey Ec(
        string? keyId = "ec-1", string algorithm = SecurityAlgorithms.EcdsaSha256, ECCurve? curve = null, string? jwkAlgorithm = null)
    {
        var ecdsa = ECDsa.Create(curve ?? algorithm switch
        {
            SecurityAlgorithms.EcdsaSha384 => ECCurve.NamedCurves.nistP384,
            SecurityAlgorithms.EcdsaSha512 => ECCurve.NamedCurves.nistP521,
            _ => ECCurve.NamedCurves.nistP256,
        });
        var publicEcdsa = ECDsa.Create();
        publicEcdsa.ImportSubjectPublicKeyInfo(ecdsa.ExportSubjectPublicKeyInfo(), out _);
        var privateKey = new ECDsaSecurityKey(ecdsa) { KeyId = keyId };
        var publicKey = new ECDsaSecurityKey(publicEcdsa) { KeyId = keyId };
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(publicKey);
        jwk.Use = "sig";
        jwk.Alg = jwkAlgorithm ?? algorithm;
        return new TestSigningKey(privateKey, publicKey, algorithm, publicEcdsa.ExportSubjectPublicKeyInfoPem(), jwk);
    }

    public static TestSigningKey Hmac(string? keyId = "hs-1", int bytes = 32, string algorithm = SecurityAlgorithms.HmacSha256)
    {
        var secret = RandomNumberGenerator.GetBytes(bytes);
        var key = new SymmetricSecurityKey(secret) { KeyId = keyId };
        var jwk = JsonWebKeyConverter.ConvertFromSymmetricSecurityKey(key);
        return new TestSigningKey(key, key, algorithm, string.Empty, jwk) { SecretBase64 = Convert.ToBase64String(secret) };
    }

    /// <summary>The base64 secret of a symmetric key; empty for asymmetric keys.</summary>
    public string SecretBase64 { get; private init; } = string.Empty;

    /// <summary>A configuration entry for this key.</summary>
    public GrpcJwtAuthStaticKey ToStaticKey() => SecretBase64.Length > 0
        ? new GrpcJwtAuthStaticKey { KeyId = KeyId, SymmetricSecret = SecretBase64 }
        : new GrpcJwtAuthStaticKey { KeyId = KeyId, Pem = PublicPem };

    /// <summary>A JWKS document holding the public halves of <paramref name="keys"/>.</summary>
    public static string JwksJson(params TestSigningKey[] keys)
    {
        var set = new StringBuilder("{\"keys\":[");
        for (var i = 0; i < keys.Length; i++)
        {
            if (i > 0)
            {
                set.Append(',');
            }

            set.Append(ToJson(keys[i].PublicJwk));
        }

        return set.Append("]}").ToString();
    }

    /// <summary>One JWK as JSON, with only the members that are set.</summary>
    public static string ToJson(JsonWebKey jwk)
    {
        var members = new Dictionary<string, string>
        {
            ["kty"] = jwk.Kty,
            ["kid"] = jwk.Kid,
            ["use"] = jwk.Use,
            ["alg"] = jwk.Alg,
            ["n"] = jwk.N,
            ["e"] = jwk.E,
            ["crv"] = jwk.Crv,
            ["x"] = jwk.X,
            ["y"] = jwk.Y,
            ["k"] = jwk.K,
        };
        return System.Text.Json.JsonSerializer.Serialize(
            members.Where(member => !string.IsNullOrEmpty(member.Value)).ToDictionary(member => member.Key, member => member.Value));
    }
}

/// <summary>Mints tokens for tests, relative to a clock the test controls.</summary>
public sealed class TestTokenFactory(TimeProvider timeProvider)
{
    public const string DefaultIssuer = "https://issuer.test";
    public const string DefaultAudience = "api://greeter";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public string Create(
        TestSigningKey key,
        string? subject = "user-1",
        string? issuer = DefaultIssuer,
        string? audience = DefaultAudience,
        TimeSpan? lifetime = null,
        TimeSpan? notBeforeOffset = null,
        bool includeExpiry = true,
        IDictionary<string, object>? claims = null,
        IDictionary<string, object>? headers = null,
        TimeSpan? issuedAtOffset = null)
    {
        var now = timeProvider.GetUtcNow().UtcDateTime;
        var payload = new Dictionary<string, object>(claims ?? new Dictionary<string, object>());
        if (subject is not null)
        {
            payload["sub"] = subject;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now + (issuedAtOffset ?? TimeSpan.Zero),
            NotBefore = notBeforeOffset is { } nbf ? now + nbf : null,
            Expires = includeExpiry ? now + (lifetime ?? TimeSpan.FromMinutes(10)) : null,
            Claims = payload,
            AdditionalHeaderClaims = headers,
            SigningCredentials = new SigningCredentials(key.PrivateKey, key.Algorithm),
        };

        return Handler.CreateToken(descriptor);
    }

    /// <summary>Builds a compact JWS by hand: for headers and payloads IdentityModel's writer would refuse.</summary>
    public static string Raw(string headerJson, string payloadJson, string signature = "") =>
        $"{Base64UrlEncoder.Encode(headerJson)}.{Base64UrlEncoder.Encode(payloadJson)}.{signature}";

    /// <summary>Signs a hand-built header and payload with <paramref name="key"/>.</summary>
    public static string SignRaw(string headerJson, string payloadJson, TestSigningKey key)
    {
        var input = $"{Base64UrlEncoder.Encode(headerJson)}.{Base64UrlEncoder.Encode(payloadJson)}";
        var provider = key.PrivateKey.CryptoProviderFactory.CreateForSigning(key.PrivateKey, key.Algorithm);
        try
        {
            var signature = provider.Sign(Encoding.ASCII.GetBytes(input));
            return $"{input}.{Base64UrlEncoder.Encode(signature)}";
        }
        finally
        {
            key.PrivateKey.CryptoProviderFactory.ReleaseSignatureProvider(provider);
        }
    }
}
