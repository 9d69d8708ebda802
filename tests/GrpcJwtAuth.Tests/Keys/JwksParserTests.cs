using System.Security.Cryptography;
using System.Text.Json;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Keys;

public class JwksParserTests
{
    private const string Address = "https://issuer.test/keys";

    private static readonly TestSigningKey Rsa = TestSigningKey.Rsa("rsa-1");
    private static readonly TestSigningKey Ec = TestSigningKey.Ec("ec-1");

    private readonly FakeLogger _logger = new();

    [Fact]
    public void Parse_KeySet_ReturnsEachKeyWithTheAlgorithmItDeclares()
    {
        var keys = Parse(TestSigningKey.JwksJson(Rsa, Ec));

        Assert.Equal(["rsa-1", "ec-1"], keys.Select(key => key.KeyId));
        Assert.Equal([SecurityAlgorithms.RsaSha256], keys[0].Algorithms);
        Assert.Equal([SecurityAlgorithms.EcdsaSha256], keys[1].Algorithms);
        Assert.Empty(_logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Parse_KeysDeclaringNoAlgorithm_GetEveryAlgorithmTheirTypeAndCurveAllow()
    {
        var keys = Parse(Set(Without(Rsa, "alg"), Without(TestSigningKey.Ec("p384", SecurityAlgorithms.EcdsaSha384), "alg")));

        Assert.Equal(SigningKey.RsaAlgorithms, keys[0].Algorithms);
        Assert.Equal([SecurityAlgorithms.EcdsaSha384], keys[1].Algorithms);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"keys\": [ this is not json")]
    public void Parse_NotAKeySet_ThrowsKeySourceException(string body)
    {
        var error = Assert.Throws<KeySourceException>(() => Parse(body));

        Assert.Equal("The key set is not a valid JSON Web Key Set.", error.Message);
    }

    [Theory]
    [InlineData("{\"keys\":[]}")]
    [InlineData("{}")]
    [InlineData("{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"x\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}")]
    public void Parse_NoUsableSigningKey_ThrowsKeySourceException(string body)
    {
        var error = Assert.Throws<KeySourceException>(() => Parse(body));

        Assert.Equal("The key set holds no usable signing key.", error.Message);
    }

    public static TheoryData<string, string, string> RefusedKeys()
    {
        var weak = TestSigningKey.Rsa("weak", bits: 1024);
        var p384AsEs256 = TestSigningKey.Ec("mismatch", SecurityAlgorithms.EcdsaSha256, ECCurve.NamedCurves.nistP384);
        var rsaAsEs256 = TestSigningKey.Rsa("rsa-es", jwkAlgorithm: SecurityAlgorithms.EcdsaSha256);
        var secret = TestSigningKey.Hmac("secret");
        return new TheoryData<string, string, string>
        {
            { "1024-bit RSA", TestSigningKey.ToJson(weak.PublicJwk), "it is a 1024-bit RSA key; at least 2048 bits are required (RFC 7518 section 3.3)" },
            { "ES256 declared on P-384", TestSigningKey.ToJson(p384AsEs256.PublicJwk), "it declares alg ES256, which its key type or curve cannot verify" },
            { "ES256 declared on RSA", TestSigningKey.ToJson(rsaAsEs256.PublicJwk), "it declares alg ES256, which its key type or curve cannot verify" },
            { "HS256 declared on RSA", Replace(Rsa, "alg", "HS256"), "it declares alg HS256, which is not an RS, PS or ES algorithm" },
            { "none declared", Replace(Rsa, "alg", "none"), "it declares alg none, which is not an RS, PS or ES algorithm" },
            { "secret", TestSigningKey.ToJson(secret.PublicJwk), "it is a secret (kty oct), and a secret in a published key set is no secret" },
            { "OKP", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"okp\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}", "its key type is not RSA or EC" },
            { "key_ops without verify", Replace(Rsa, "key_ops", new[] { "encrypt" }), "its key_ops do not include verify" },
            { "unreadable RSA", "{\"kty\":\"RSA\",\"kid\":\"broken\",\"n\":\"\",\"e\":\"\"}", "it cannot be read as an RSA or EC public key" },
        };
    }

    [Theory]
    [MemberData(nameof(RefusedKeys))]
    public void Parse_KeyThatMustNotVerify_IsSkippedAndLoggedWhileTheRestIsUsed(string description, string refused, string reason)
    {
        var keys = Parse("{\"keys\":[" + refused + "," + TestSigningKey.ToJson(Ec.PublicJwk) + "]}");

        Assert.Equal(["ec-1"], keys.Select(key => key.KeyId));
        var skipped = Assert.Single(_logger.Collector.GetSnapshot());
        Assert.Equal("KeySkipped", skipped.Id.Name);
        Assert.Equal(reason, skipped.GetStructuredStateValue("Reason"));
        Assert.Equal("issuer-1", skipped.GetStructuredStateValue("IssuerName"));
        Assert.Equal(Address, skipped.GetStructuredStateValue("Address"));
        Assert.NotNull(description);
    }

    [Fact]
    public void Parse_EncryptionKey_IsLeftOutWithoutALogLine()
    {
        var encryption = TestSigningKey.Rsa("enc");
        encryption.PublicJwk.Use = "enc";

        var keys = Parse(TestSigningKey.JwksJson(encryption, Ec));

        Assert.Equal(["ec-1"], keys.Select(key => key.KeyId));
        Assert.Empty(_logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Parse_MoreKeysThanTheLimit_ThrowsCountingThem()
    {
        var json = "{\"keys\":[" + string.Join(',', Enumerable.Repeat(TestSigningKey.ToJson(Ec.PublicJwk), 101)) + "]}";

        var error = Assert.Throws<KeySourceException>(() => Parse(json));

        Assert.Equal("The key set holds 101 keys; at most 100 are accepted.", error.Message);
    }

    [Fact]
    public void Parse_KidOfASkippedKey_IsSanitizedInTheLog()
    {
        Parse("{\"keys\":[" + Replace(TestSigningKey.Rsa("x", bits: 1024), "kid", "evil\nline") + "," + TestSigningKey.ToJson(Ec.PublicJwk) + "]}");

        var skipped = Assert.Single(_logger.Collector.GetSnapshot());
        Assert.Equal("evil?line", skipped.GetStructuredStateValue("KeyId"));
    }

    private IReadOnlyList<SigningKey> Parse(string json) => JwksParser.Parse(json, "issuer-1", Address, _logger);

    private static string Set(params string[] keys) => "{\"keys\":[" + string.Join(',', keys) + "]}";

    private static string Without(TestSigningKey key, string member)
    {
        var json = JsonSerializer.Deserialize<Dictionary<string, object>>(TestSigningKey.ToJson(key.PublicJwk))!;
        json.Remove(member);
        return JsonSerializer.Serialize(json);
    }

    private static string Replace(TestSigningKey key, string member, object value)
    {
        var json = JsonSerializer.Deserialize<Dictionary<string, object>>(TestSigningKey.ToJson(key.PublicJwk))!;
        json[member] = value;
        return JsonSerializer.Serialize(json);
    }
}
