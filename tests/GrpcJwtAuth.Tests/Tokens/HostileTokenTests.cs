using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Keys;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Tokens;

/// <summary>
/// What an attacker sends instead of a token, through the whole validator (pre-check, IdentityModel, key lookup):
/// each case is rejected with its own reason, nothing escapes as an exception, and no key is fetched because of it.
/// Every hostile token is built like <see cref="Control_tokens_built_the_same_way_are_accepted"/>'s, so the hostile
/// part alone is what gets it rejected.
/// </summary>
public class HostileTokenTests
{
    private const string Issuer = TestTokenFactory.DefaultIssuer;
    private const string Audience = TestTokenFactory.DefaultAudience;

    private static readonly DateTimeOffset Now = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly long IssuedAt = Now.ToUnixTimeSeconds();
    private static readonly long Expires = Now.AddMinutes(10).ToUnixTimeSeconds();

    private static readonly TestSigningKey Rs256 = TestSigningKey.Rsa("rsa-1");
    private static readonly TestSigningKey Es256 = TestSigningKey.Ec("ec-1");
    private static readonly TestSigningKey Hs256 = TestSigningKey.Hmac("hs-1");
    private static readonly TestSigningKey Attacker = TestSigningKey.Rsa("attacker-1");

    // The order n of the P-256 group.
    private static readonly byte[] P256Order = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

    private static readonly Lazy<X509Certificate2> AttackerCertificate = new(() =>
    {
        var request = new CertificateRequest("CN=attacker", ((RsaSecurityKey)Attacker.PrivateKey).Rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
    });

    private static readonly Lazy<Dictionary<string, HostileCase>> Cases = new(BuildCases);

    private readonly FakeTimeProvider _time = new(Now);

    /// <summary>Which keys the server trusts in a case.</summary>
    public enum Trust
    {
        /// <summary>The RSA key rsa-1 only: RS/PS/ES algorithms, no HMAC.</summary>
        Rsa,

        /// <summary>rsa-1 and the HMAC key hs-1, so HS256 is an allowed algorithm.</summary>
        RsaAndHmac,

        /// <summary>The EC key ec-1 only.</summary>
        Ec,
    }

    public static TheoryData<string> CaseNames() => new(Cases.Value.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Hostile_token_is_rejected_with_its_reason(string name)
    {
        var hostile = Cases.Value[name];
        var validator = CreateValidator(hostile.Trust);

        var check = await ValidateAsync(validator, hostile.Token);

        Assert.True(hostile.Expected == check.Failure, $"{name}: expected {hostile.Expected}, got {check.Failure}");
        Assert.Null(check.Caller);
    }

    [Theory]
    [InlineData(Trust.Rsa)]
    [InlineData(Trust.RsaAndHmac)]
    [InlineData(Trust.Ec)]
    public async Task Control_tokens_built_the_same_way_are_accepted(Trust trust)
    {
        var validator = CreateValidator(trust);
        var key = trust == Trust.Ec ? Es256 : Rs256;

        var check = await ValidateAsync(validator, Signed(Header(key.Algorithm, key.KeyId), Payload(), key));

        Assert.Equal(AuthFailure.None, check.Failure);
        Assert.Equal("user-1", check.Caller!.Subject);
    }

    [Fact]
    public async Task Control_HS256_token_signed_with_the_configured_secret_is_accepted()
    {
        var check = await ValidateAsync(CreateValidator(Trust.RsaAndHmac), Signed(Header("HS256", "hs-1"), Payload(), Hs256));

        Assert.Equal(AuthFailure.None, check.Failure);
    }

    [Theory]
    [InlineData("jku")]
    [InlineData("x5u")]
    [InlineData("jwk")]
    [InlineData("x5c")]
    public async Task Token_naming_its_own_key_never_makes_the_validator_fetch_or_trust_that_key(string parameter)
    {
        // The server's keys come from its configured source only; a refresh for the unknown kid goes there, once.
        var source = new FakeRemoteKeySource();
        source.Returns(Rs256);
        var validator = CreateValidator(options => options.JwksUri = "https://keys.test/jwks", source);
        var token = Signed(Header("RS256", Attacker.KeyId, AttackerKeyParameter(parameter)), Payload(), Attacker);

        var check = await ValidateAsync(validator, token);

        Assert.Equal(AuthFailure.SignatureKeyNotFound, check.Failure);
        Assert.Equal(1, source.Calls);
    }

    [Fact]
    public async Task Token_over_MaxTokenLength_is_rejected_as_too_large_before_it_is_parsed()
    {
        var options = Options(Trust.Rsa);
        var validSignedButLong = Signed(Header("RS256", "rsa-1"), Payload($",\"pad\":\"{new string('x', options.MaxTokenLength)}\""), Rs256);
        var garbage = new string('!', options.MaxTokenLength + 1);

        foreach (var token in new[] { validSignedButLong, garbage })
        {
            var failure = BearerHeaderParser.TryGetToken(new StringValues("Bearer " + token), options.MaxTokenLength, out _, out _, out _);

            // Garbage of that size would be MalformedBearerValue, and the long token valid, if either were parsed.
            Assert.Equal(AuthFailure.TokenTooLarge, failure);
        }

        Assert.Equal(AuthFailure.None, (await ValidateAsync(CreateValidator(Trust.Rsa), validSignedButLong)).Failure);
    }

    [Fact]
    public async Task Token_just_under_MaxTokenLength_with_a_huge_kid_is_parsed_and_rejected_for_its_kid()
    {
        var options = Options(Trust.Rsa);
        var shell = Signed(Header("RS256", ""), Payload(), Attacker);
        var kid = new string('k', (options.MaxTokenLength - shell.Length - 64) * 3 / 4);
        var token = Signed(Header("RS256", kid), Payload(), Attacker);
        Assert.InRange(token.Length, options.MaxTokenLength - 200, options.MaxTokenLength);

        Assert.Equal(AuthFailure.None, BearerHeaderParser.TryGetToken(new StringValues("Bearer " + token), options.MaxTokenLength, out _, out _, out _));
        Assert.Equal(AuthFailure.SignatureKeyNotFound, (await ValidateAsync(CreateValidator(Trust.Rsa), token)).Failure);
    }

    [Property(MaxTest = 300)]
    public void Random_authorization_value_is_rejected_without_an_exception(string? value)
    {
        var validator = CreateValidator(Trust.Rsa);

        Assert.NotEqual(AuthFailure.None, Authenticate(validator, value ?? string.Empty, out _));
        Assert.NotEqual(AuthFailure.None, Authenticate(validator, "Bearer " + value, out _));
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(RandomTokens)])]
    public void Random_token_shaped_value_is_rejected_without_an_exception(TokenShaped token)
    {
        Assert.NotEqual(AuthFailure.None, Authenticate(CreateValidator(Trust.Rsa), "Bearer " + token.Value, out _));
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(RandomTokens)])]
    public void Mutated_valid_token_is_accepted_only_when_the_token_read_is_a_signed_one(Mutation[] mutations)
    {
        var original = ControlToken.Value;
        var mutated = mutations.Aggregate(original, Mutation.Apply);

        var failure = Authenticate(CreateValidator(Trust.Rsa), "Bearer " + mutated, out var read);

        // Whitespace around the value is not part of it, so "the token read" rather than the header value; and
        // splicing in both the payload and the signature of the other token (same header) rebuilds that token.
        if (read == original || read == OtherToken.Value)
        {
            Assert.Equal(AuthFailure.None, failure);
        }
        else
        {
            Assert.NotEqual(AuthFailure.None, failure);
        }
    }

    /// <summary>
    /// What the server does with one authorization value: parse the header, then pre-check and validate the token.
    /// Each validation is bounded; the validator must report the pre-check's reason when there is one.
    /// </summary>
    private static AuthFailure Authenticate(JwtTokenValidator validator, string authorization, out string? token)
    {
        token = null;
        var failure = BearerHeaderParser.TryGetToken(new StringValues(authorization), 16 * 1024, out var value, out var start, out var length);
        if (failure != AuthFailure.None)
        {
            return failure;
        }

        token = value.Substring(start, length);
        var precheck = TokenPrecheck.Check(token);
        var check = validator.ValidateAsync(token, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        if (precheck != AuthFailure.None)
        {
            Assert.Equal(precheck, check.Failure);
        }

        Assert.True(Enum.IsDefined(check.Failure));
        Assert.Equal(check.Failure == AuthFailure.None, check.Caller is not null);
        return check.Failure;
    }

    private static Dictionary<string, HostileCase> BuildCases()
    {
        var cases = new Dictionary<string, HostileCase>(StringComparer.Ordinal);
        void Add(string name, string token, AuthFailure expected, Trust trust = Trust.Rsa) =>
            cases.Add(name, new HostileCase(token, expected, trust));

        var header = Header("RS256", "rsa-1");
        var payload = Payload();
        var valid = Signed(header, payload, Rs256);
        var validParts = valid.Split('.');

        // alg none, in its spellings: with the trailing dot the signature is empty, without it the token has two parts;
        // with something in the signature it is a disallowed algorithm.
        foreach (var none in new[] { "none", "None", "NONE", "nOnE" })
        {
            var unsigned = TestTokenFactory.Raw($$"""{"alg":"{{none}}","typ":"JWT"}""", payload);
            Add($"alg {none}, empty signature", unsigned, AuthFailure.MalformedToken);
            Add($"alg {none}, no trailing dot", unsigned.TrimEnd('.'), AuthFailure.MalformedToken);
            Add($"alg {none}, naming the configured kid, empty signature", TestTokenFactory.Raw($$"""{"alg":"{{none}}","kid":"rsa-1"}""", payload), AuthFailure.MalformedToken);
            Add($"alg {none}, a signature present", TestTokenFactory.Raw($$"""{"alg":"{{none}}","kid":"rsa-1"}""", payload, validParts[2]), AuthFailure.AlgorithmNotAllowed);
        }

        Add("alg RS256, signature removed", $"{validParts[0]}.{validParts[1]}.", AuthFailure.MalformedToken);
        Add("alg RS256, signature and its dot removed", $"{validParts[0]}.{validParts[1]}", AuthFailure.MalformedToken);

        // Key confusion: HS256 with the RSA public key as the HMAC secret, in each form a server might hold it.
        var rsa = ((RsaSecurityKey)Rs256.PublicKey).Rsa;
        var publicKeyForms = new Dictionary<string, byte[]>
        {
            ["PEM text"] = Encoding.ASCII.GetBytes(Rs256.PublicPem),
            ["PEM text without the final newline"] = Encoding.ASCII.GetBytes(Rs256.PublicPem.TrimEnd('\n')),
            ["DER SubjectPublicKeyInfo"] = rsa.ExportSubjectPublicKeyInfo(),
            ["DER PKCS#1 RSAPublicKey"] = rsa.ExportRSAPublicKey(),
        };
        foreach (var (form, secret) in publicKeyForms)
        {
            Add($"HS256 keyed with the RSA public key ({form}), HMAC not allowed", HmacSigned(Header("HS256", "rsa-1"), payload, secret), AuthFailure.AlgorithmNotAllowed);
            // The kid names the RSA key, which may verify RS/PS only, so the secret is never even tried.
            Add($"HS256 keyed with the RSA public key ({form}), HMAC allowed", HmacSigned(Header("HS256", "rsa-1"), payload, secret), AuthFailure.AlgorithmNotAllowed, Trust.RsaAndHmac);
            // Without a kid every key is tried, and IdentityModel reports that none matched.
            Add($"HS256 keyed with the RSA public key ({form}), HMAC allowed, no kid", HmacSigned(Header("HS256", null), payload, secret), AuthFailure.SignatureKeyNotFound, Trust.RsaAndHmac);
        }

        // Keys the token brings along (jwk, jku, x5u, x5c): never used, so the attacker's signature matches no key.
        foreach (var parameter in new[] { "jwk", "jku", "x5u", "x5c" })
        {
            Add($"{parameter} header with the attacker's key and kid", Signed(Header("RS256", Attacker.KeyId, AttackerKeyParameter(parameter)), payload, Attacker), AuthFailure.SignatureKeyNotFound);
            Add($"{parameter} header with the attacker's key, claiming the configured kid", Signed(Header("RS256", "rsa-1", AttackerKeyParameter(parameter)), payload, Attacker), AuthFailure.InvalidSignature);
            Add($"{parameter} header with the attacker's key, no kid", Signed(Header("RS256", null, AttackerKeyParameter(parameter)), payload, Attacker), AuthFailure.SignatureKeyNotFound);
        }

        // kid values aimed at whatever might look keys up by kid.
        foreach (var (label, kid) in new[]
        {
            ("path traversal", "../../../../etc/passwd"),
            ("path traversal, Windows", "..\\..\\windows\\win.ini"),
            ("file URL", "file:///dev/random"),
            ("SQL", "' OR '1'='1"),
            ("SQL, stacked", "1; DROP TABLE keys;--"),
            ("NUL", "rsa-1\u0000"),
            ("CR LF", "rsa-1\r\nx"),
            ("escape sequence", "\u001b[2J"),
            ("trailing space", "rsa-1 "),
            ("different case", "RSA-1"),
            ("huge", new string('k', 8 * 1024)),
        })
        {
            Add($"kid: {label}", Signed(Header("RS256", kid), payload, Attacker), AuthFailure.SignatureKeyNotFound);
        }

        Add("kid: a number", Signed("""{"alg":"RS256","kid":1}""", payload, Attacker), AuthFailure.MalformedToken);
        Add("kid: an object", Signed("""{"alg":"RS256","kid":{"$ne":null}}""", payload, Attacker), AuthFailure.MalformedToken);

        // Tampering: the signature covers header and payload, byte for byte.
        Add("payload tampered: sub", $"{validParts[0]}.{Base64UrlEncoder.Encode(Payload(subject: "admin"))}.{validParts[2]}", AuthFailure.InvalidSignature);
        Add("payload tampered: role added", $"{validParts[0]}.{Base64UrlEncoder.Encode(Payload(",\"roles\":[\"admin\"]"))}.{validParts[2]}", AuthFailure.InvalidSignature);
        Add("payload tampered: exp extended", $"{validParts[0]}.{Base64UrlEncoder.Encode(Payload(expires: Expires + 86_400))}.{validParts[2]}", AuthFailure.InvalidSignature);
        Add("header tampered: typ added", $"{Base64UrlEncoder.Encode("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"typ\":\"JWT\"}")}.{validParts[1]}.{validParts[2]}", AuthFailure.InvalidSignature);
        var signature = Base64UrlEncoder.DecodeBytes(validParts[2]);
        Add("signature truncated by one byte", $"{validParts[0]}.{validParts[1]}.{Base64UrlEncoder.Encode(signature[..^1])}", AuthFailure.InvalidSignature);
        Add("signature truncated to half", $"{validParts[0]}.{validParts[1]}.{Base64UrlEncoder.Encode(signature[..(signature.Length / 2)])}", AuthFailure.InvalidSignature);
        Add("signature truncated mid-character", $"{validParts[0]}.{validParts[1]}.{validParts[2][..^1]}", AuthFailure.MalformedToken);
        Add("signature with a byte appended", $"{validParts[0]}.{validParts[1]}.{Base64UrlEncoder.Encode([.. signature, 0])}", AuthFailure.InvalidSignature);
        Add("signature of zeros", $"{validParts[0]}.{validParts[1]}.{Base64UrlEncoder.Encode(new byte[signature.Length])}", AuthFailure.InvalidSignature);
        var other = Signed(header, Payload(subject: "admin"), Rs256).Split('.');
        Add("signature spliced from another valid token", $"{validParts[0]}.{validParts[1]}.{other[2]}", AuthFailure.InvalidSignature);
        Add("payload spliced from another valid token", $"{validParts[0]}.{other[1]}.{validParts[2]}", AuthFailure.InvalidSignature);

        // Not base64url: the standard alphabet, padding, and anything else.
        Add("signature in standard base64 (+ and /)", $"{validParts[0]}.{validParts[1]}.{Convert.ToBase64String(signature)}", AuthFailure.MalformedToken);
        Add("signature with '=' padding", $"{validParts[0]}.{validParts[1]}.{validParts[2]}==", AuthFailure.MalformedToken);
        Add("payload with '=' padding", $"{validParts[0]}.{validParts[1]}=.{validParts[2]}", AuthFailure.MalformedToken);
        Add("header with a '~'", $"{validParts[0]}~.{validParts[1]}.{validParts[2]}", AuthFailure.MalformedToken);
        Add("payload with a space", $"{validParts[0]}.{validParts[1][..10]} {validParts[1][10..]}.{validParts[2]}", AuthFailure.MalformedToken);
        Add("payload with a non-ASCII letter", $"{validParts[0]}.{validParts[1]}\u00e9.{validParts[2]}", AuthFailure.MalformedToken);
        Add("signature with a NUL", $"{validParts[0]}.{validParts[1]}.{validParts[2]}\u0000", AuthFailure.MalformedToken);
        Add("signature with unused trailing bits set (non-canonical)", $"{validParts[0]}.{validParts[1]}.{NonCanonical(validParts[2])}", AuthFailure.MalformedToken);
        Add("payload with unused trailing bits set (non-canonical)", NonCanonicalPayloadToken(), AuthFailure.MalformedToken);

        // Part counts.
        Add("one part", validParts[1], AuthFailure.MalformedToken);
        Add("two parts", $"{validParts[0]}.{validParts[1]}", AuthFailure.MalformedToken);
        Add("four parts", valid + ".c2ln", AuthFailure.MalformedToken);
        Add("five parts, JWE header", $"{Base64UrlEncoder.Encode("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"kid\":\"rsa-1\"}")}.ZW5jcnlwdGVka2V5.aXZpdml2aXZpdg.Y2lwaGVydGV4dA.dGFndGFndGFndGFn", AuthFailure.EncryptedToken);
        Add("five parts, JWE header, direct encryption (empty key)", $"{Base64UrlEncoder.Encode("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}")}..aXZpdml2aXZpdg.Y2lwaGVydGV4dA.dGFndGFndGFndGFn", AuthFailure.EncryptedToken);
        Add("five parts, JWS header", valid + ".c2ln.c2ln", AuthFailure.MalformedToken);
        Add("six parts", valid + ".a.b.c", AuthFailure.MalformedToken);
        Add("empty header", $".{validParts[1]}.{validParts[2]}", AuthFailure.MalformedToken);
        Add("empty payload", $"{validParts[0]}..{validParts[2]}", AuthFailure.MalformedToken);
        Add("dots only", "..", AuthFailure.MalformedToken);

        // Header and payload must each be one JSON object, nothing before or after it.
        foreach (var (label, json) in new[]
        {
            ("not JSON", "alg RS256"),
            ("a JSON array", "[\"RS256\"]"),
            ("a JSON string", "\"RS256\""),
            ("a JSON number", "256"),
            ("JSON null", "null"),
            ("an unterminated object", "{\"alg\":\"RS256\""),
        })
        {
            Add($"header {label}", Signed(json, payload, Rs256), AuthFailure.MalformedToken);
            Add($"payload {label}", Signed(header, json, Rs256), AuthFailure.MalformedToken);
        }

        foreach (var (label, suffix) in new[]
        {
            ("trailing garbage", "xyz"),
            ("a second object", "{\"sub\":\"admin\"}"),
            ("a trailing NUL", "\u0000"),
            ("a trailing newline", "\n"),
            ("a trailing comma", ","),
        })
        {
            Add($"header object followed by {label}", Signed(header + suffix, payload, Rs256), AuthFailure.MalformedToken);
            Add($"payload object followed by {label}", Signed(header, payload + suffix, Rs256), AuthFailure.MalformedToken);
        }

        Add("payload with a byte order mark", Signed(header, "\ufeff" + payload, Rs256), AuthFailure.MalformedToken);
        Add("payload with a comment", Signed(header, payload.Insert(1, "/* hi */"), Rs256), AuthFailure.MalformedToken);
        Add("payload with a trailing comma inside", Signed(header, payload.Insert(payload.Length - 1, ","), Rs256), AuthFailure.MalformedToken);
        Add("payload nested 100 deep", Signed(header, Payload($",\"deep\":{new string('[', 100)}{new string(']', 100)}"), Rs256), AuthFailure.MalformedToken);
        Add("payload with invalid UTF-8", SignedBytes(Encoding.UTF8.GetBytes(header), [.. Encoding.UTF8.GetBytes(payload[..^1]), .. ",\"name\":\""u8, 0xC3, 0x28, .. "\"}"u8], Rs256), AuthFailure.MalformedToken);
        Add("payload name escaping a lone surrogate", Signed(header, Payload(",\"\\ud800\":1"), Rs256), AuthFailure.MalformedToken);

        // crit: no extension is understood, so any crit is refused (RFC 7515 section 4.1.11).
        Add("crit naming an unknown extension", Signed("""{"alg":"RS256","kid":"rsa-1","crit":["http://example.invalid/ext"],"http://example.invalid/ext":true}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("crit naming exp", Signed("""{"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("crit b64 false (unencoded payload)", Signed("""{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("crit empty", Signed("""{"alg":"RS256","kid":"rsa-1","crit":[]}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);

        // Duplicate names: rejected outright, whichever copy a parser would keep.
        foreach (var (label, extra) in new[]
        {
            ("second aud, another audience", ",\"aud\":\"api://other\""),
            ("second aud, the same audience", $",\"aud\":\"{Audience}\""),
            ("second iss", ",\"iss\":\"https://evil.test\""),
            ("second exp, far in the future", $",\"exp\":{Expires + 31_536_000}"),
            ("second exp, in the past", $",\"exp\":{IssuedAt - 3600}"),
            ("second nbf", $",\"nbf\":{IssuedAt},\"nbf\":{IssuedAt + 3600}"),
            ("second sub", ",\"sub\":\"admin\""),
            ("second roles", ",\"roles\":[\"user\"],\"roles\":[\"admin\"]"),
            ("second aud, name escaped", ",\"\\u0061ud\":\"api://other\""),
            ("second exp, name fully escaped", $",\"\\u0065\\u0078\\u0070\":{Expires + 31_536_000}"),
        })
        {
            Add($"payload with a {label}", Signed(header, Payload(extra), Rs256), AuthFailure.DuplicateTokenMember);
        }

        Add("header with a second alg (none)", Signed("""{"alg":"RS256","kid":"rsa-1","alg":"none"}""", payload, Rs256), AuthFailure.DuplicateTokenMember);
        Add("header with a second alg (HS256)", Signed("""{"alg":"RS256","kid":"rsa-1","alg":"HS256"}""", payload, Rs256), AuthFailure.DuplicateTokenMember);
        Add("header with a second kid", Signed("""{"alg":"RS256","kid":"rsa-1","kid":"attacker-1"}""", payload, Rs256), AuthFailure.DuplicateTokenMember);
        Add("header with a second typ", Signed("""{"alg":"RS256","kid":"rsa-1","typ":"JWT","typ":"at+jwt"}""", payload, Rs256), AuthFailure.DuplicateTokenMember);
        Add("header with a second crit", Signed("""{"alg":"RS256","kid":"rsa-1","crit":[],"crit":[]}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);

        // ECDSA: an all-zero signature (r = s = 0, the "psychic signature"), random bytes, DER instead of r||s.
        var ecHeader = Header("ES256", "ec-1");
        var ecInput = $"{Base64UrlEncoder.Encode(ecHeader)}.{Base64UrlEncoder.Encode(payload)}";
        Add("ES256 signature of 64 zero bytes", $"{ecInput}.{Base64UrlEncoder.Encode(new byte[64])}", AuthFailure.InvalidSignature, Trust.Ec);
        Add("ES256 signature of 64 random bytes", $"{ecInput}.{Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(64))}", AuthFailure.InvalidSignature, Trust.Ec);
        Add("ES256 signature r = 0, s = n", $"{ecInput}.{Base64UrlEncoder.Encode([.. new byte[32], .. P256Order])}", AuthFailure.InvalidSignature, Trust.Ec);
        Add("ES256 signature r = s = n", $"{ecInput}.{Base64UrlEncoder.Encode([.. P256Order, .. P256Order])}", AuthFailure.InvalidSignature, Trust.Ec);
        Add("ES256 signature of one zero byte", $"{ecInput}.AA", AuthFailure.InvalidSignature, Trust.Ec);
        var ecdsa = ((ECDsaSecurityKey)Es256.PrivateKey).ECDsa;
        var der = ecdsa.SignData(Encoding.ASCII.GetBytes(ecInput), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        Add("ES256 signature DER-encoded instead of r||s", $"{ecInput}.{Base64UrlEncoder.Encode(der)}", AuthFailure.InvalidSignature, Trust.Ec);

        // Nested and compressed tokens.
        Add("cty JWT (nested token)", Signed("""{"alg":"RS256","kid":"rsa-1","cty":"JWT"}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("cty jwt, lower case", Signed("""{"alg":"RS256","kid":"rsa-1","cty":"jwt"}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("cty application/jwt", Signed("""{"alg":"RS256","kid":"rsa-1","cty":"application/JWT"}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("cty JWT, escaped", Signed("""{"alg":"RS256","kid":"rsa-1","cty":"\u004aWT"}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("cty not a string", Signed("""{"alg":"RS256","kid":"rsa-1","cty":["JWT"]}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("cty JWT with a JWT as payload", SignedBytes(Encoding.UTF8.GetBytes("""{"alg":"RS256","kid":"rsa-1","cty":"JWT"}"""), Encoding.ASCII.GetBytes(valid), Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("zip DEF (compressed)", Signed("""{"alg":"RS256","kid":"rsa-1","zip":"DEF"}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);
        Add("zip with an unknown value", Signed("""{"alg":"RS256","kid":"rsa-1","zip":"GZIP"}""", payload, Rs256), AuthFailure.UnsupportedTokenHeader);

        // exp, nbf and iat: whole seconds from 1970 to 9999, as JSON numbers.
        foreach (var claim in new[] { "exp", "nbf", "iat" })
        {
            foreach (var (label, value) in new[]
            {
                ("a string", $"\"{Expires}\""),
                ("a date string", "\"2030-01-01T00:00:00Z\""),
                ("a float with a fraction", $"{Expires}.5"),
                ("a whole float", $"{Expires}.0"),
                ("in exponent notation", "1.7e9"),
                ("huge (1e30)", "1e30"),
                ("beyond Int64", "99999999999999999999"),
                ("negative", "-1"),
                ("after the year 9999", "253402300800"),
                ("true", "true"),
                ("null", "null"),
                ("an array", $"[{Expires}]"),
                ("an object", $"{{\"value\":{Expires}}}"),
            })
            {
                var claims = Payload(withoutTimes: true) + $",\"{claim}\":{value}";
                var json = claims + (claim == "exp" ? "}" : $",\"exp\":{Expires}}}");
                Add($"{claim} {label}", Signed(header, json, Rs256), AuthFailure.InvalidTimeClaim);
            }
        }

        return cases;
    }

    private static string Header(string algorithm, string? keyId, string? extra = null)
    {
        var kid = keyId is null ? "" : $",\"kid\":{System.Text.Json.JsonSerializer.Serialize(keyId)}";
        return $"{{\"alg\":\"{algorithm}\"{kid}{extra}}}";
    }

    /// <summary>The control payload; <paramref name="extra"/> (starting with a comma) is appended inside the object.</summary>
    private static string Payload(string? extra = null, string subject = "user-1", long? expires = null, bool withoutTimes = false)
    {
        var times = withoutTimes ? "" : $",\"iat\":{IssuedAt},\"exp\":{expires ?? Expires}";
        var body = $"{{\"iss\":\"{Issuer}\",\"aud\":\"{Audience}\",\"sub\":\"{subject}\"{times}{extra}";
        return withoutTimes ? body : body + "}";
    }

    private static string Signed(string headerJson, string payloadJson, TestSigningKey key) =>
        TestTokenFactory.SignRaw(headerJson, payloadJson, key);

    private static string SignedBytes(byte[] header, byte[] payload, TestSigningKey key)
    {
        var input = $"{Base64UrlEncoder.Encode(header)}.{Base64UrlEncoder.Encode(payload)}";
        var provider = key.PrivateKey.CryptoProviderFactory.CreateForSigning(key.PrivateKey, key.Algorithm);
        try
        {
            return $"{input}.{Base64UrlEncoder.Encode(provider.Sign(Encoding.ASCII.GetBytes(input)))}";
        }
        finally
        {
            key.PrivateKey.CryptoProviderFactory.ReleaseSignatureProvider(provider);
        }
    }

    private static string HmacSigned(string headerJson, string payloadJson, byte[] secret)
    {
        var input = $"{Base64UrlEncoder.Encode(headerJson)}.{Base64UrlEncoder.Encode(payloadJson)}";
        return $"{input}.{Base64UrlEncoder.Encode(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)))}";
    }

    /// <summary>A header member making the token carry or point at the attacker's own key.</summary>
    private static string AttackerKeyParameter(string parameter) => parameter switch
    {
        "jwk" => $",\"jwk\":{TestSigningKey.ToJson(Attacker.PublicJwk)}",
        "jku" => ",\"jku\":\"https://127.0.0.1:1/jwks\"",
        "x5u" => ",\"x5u\":\"https://127.0.0.1:1/attacker.pem\"",
        "x5c" => $",\"x5c\":[\"{Convert.ToBase64String(AttackerCertificate.Value.RawData)}\"]",
        _ => throw new ArgumentOutOfRangeException(nameof(parameter)),
    };

    /// <summary>The same bytes spelled differently: the unused low bits of the last character set.</summary>
    private static string NonCanonical(string segment)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var unused = segment.Length % 4 == 2 ? 0b1111 : segment.Length % 4 == 3 ? 0b11 : throw new ArgumentException("No unused bits.", nameof(segment));
        return segment[..^1] + Alphabet[Alphabet.IndexOf(segment[^1], StringComparison.Ordinal) | unused];
    }

    /// <summary>A token signed over a payload segment that is then spelled non-canonically (IdentityModel decodes it to the same JSON).</summary>
    private static string NonCanonicalPayloadToken()
    {
        // Pad the payload until its encoding leaves unused bits.
        var payload = Payload();
        while (Base64UrlEncoder.Encode(payload).Length % 4 is not (2 or 3))
        {
            payload = Payload($",\"p\":\"{new string('p', payload.Length % 7)}\"");
        }

        var header = Base64UrlEncoder.Encode(Header("RS256", "rsa-1"));
        var segment = NonCanonical(Base64UrlEncoder.Encode(payload));
        var input = $"{header}.{segment}";
        var provider = Rs256.PrivateKey.CryptoProviderFactory.CreateForSigning(Rs256.PrivateKey, Rs256.Algorithm);
        try
        {
            return $"{input}.{Base64UrlEncoder.Encode(provider.Sign(Encoding.ASCII.GetBytes(input)))}";
        }
        finally
        {
            Rs256.PrivateKey.CryptoProviderFactory.ReleaseSignatureProvider(provider);
        }
    }

    private static GrpcJwtAuthOptions Options(Trust trust)
    {
        var options = new GrpcJwtAuthOptions();
        options.Issuers.Add(Issuer);
        options.Audiences.Add(Audience);
        var keys = trust switch
        {
            Trust.Rsa => new[] { Rs256 },
            Trust.RsaAndHmac => [Rs256, Hs256],
            _ => [Es256],
        };
        foreach (var key in keys)
        {
            options.StaticKeys.Add(key.ToStaticKey());
        }

        return options;
    }

    private JwtTokenValidator CreateValidator(Trust trust) => Create(Options(trust), remote: null);

    private JwtTokenValidator CreateValidator(Action<GrpcJwtAuthOptions> configure, IRemoteKeySource remote)
    {
        var options = new GrpcJwtAuthOptions();
        options.Issuers.Add(Issuer);
        options.Audiences.Add(Audience);
        configure(options);
        return Create(options, remote);
    }

    private JwtTokenValidator Create(GrpcJwtAuthOptions options, IRemoteKeySource? remote)
    {
        var compiled = CompiledAuthOptions.Create(options, _time);
        var keys = new SigningKeyManager(compiled.Issuers[0], remote, _time, NullLogger<SigningKeyManager>.Instance);
        return new JwtTokenValidator(new TrustedIssuers([keys], compiled.ValidateIssuer), compiled);
    }

    private static async Task<TokenCheck> ValidateAsync(JwtTokenValidator validator, string token) =>
        await validator.ValidateAsync(token, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    private sealed record HostileCase(string Token, AuthFailure Expected, Trust Trust);

    private static readonly Lazy<string> ControlToken = new(() => Signed(Header("RS256", "rsa-1"), Payload(), Rs256));

    private static readonly Lazy<string> OtherToken = new(() => Signed(Header("RS256", "rsa-1"), Payload(subject: "admin"), Rs256));

    public sealed record TokenShaped(string Value);

    /// <summary>One edit of a token: a character replaced, removed or inserted, a cut, a bit flipped in a decoded segment, segments swapped or spliced from another valid token.</summary>
    public sealed record Mutation(int Kind, int Position, char Character, int Bit)
    {
        public static string Apply(string token, Mutation mutation)
        {
            var position = mutation.Position;
            var parts = token.Split('.');
            switch (mutation.Kind)
            {
                case 0 when token.Length > 0:
                    return token.Remove(position % token.Length, 1).Insert(position % token.Length, mutation.Character.ToString());
                case 1 when token.Length > 0:
                    return token.Remove(position % token.Length, 1);
                case 2:
                    return token.Insert(position % (token.Length + 1), mutation.Character.ToString());
                case 3 when token.Length > 0:
                    return token[..(position % token.Length)];
                case 4 when parts.Length == 3 && TokenPrecheck.IsCanonicalBase64Url(parts[position % 3]):
                    var bytes = Base64UrlEncoder.DecodeBytes(parts[position % 3]);
                    bytes[position / 3 % bytes.Length] ^= (byte)(1 << mutation.Bit);
                    parts[position % 3] = Base64UrlEncoder.Encode(bytes);
                    return string.Join('.', parts);
                case 5 when parts.Length == 3:
                    (parts[position % 3], parts[(position + 1) % 3]) = (parts[(position + 1) % 3], parts[position % 3]);
                    return string.Join('.', parts);
                case 6 when parts.Length == 3:
                    parts[position % 3] = OtherToken.Value.Split('.')[position % 3];
                    return string.Join('.', parts);
                default:
                    return token;
            }
        }
    }

    public static class RandomTokens
    {
        private static readonly char[] Characters = "AQZagz09-_.=+/~ \t!\u00e9\u0000\"{}".ToCharArray();
        private static readonly char[] Base64UrlCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".ToCharArray();

        public static Arbitrary<Mutation> Mutation() =>
            (from kind in Gen.Choose(0, 6)
             from position in Gen.Choose(0, 100_000)
             from character in Gen.Elements(Characters)
             from bit in Gen.Choose(0, 7)
             select new Mutation(kind, position, character, bit))
            .ToArbitrary();

        public static Arbitrary<TokenShaped> TokenShaped() =>
            (from parts in Gen.Choose(1, 6)
             from segments in Gen.ArrayOf(Gen.ArrayOf(Gen.Elements(Base64UrlCharacters)).Select(chars => new string(chars)), parts)
             select new TokenShaped(string.Join('.', segments)))
            .ToArbitrary();
    }
}
