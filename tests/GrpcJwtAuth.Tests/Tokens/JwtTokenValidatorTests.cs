using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Keys;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Tokens;

public class JwtTokenValidatorTests
{
    private const string Issuer = TestTokenFactory.DefaultIssuer;
    private const string Audience = TestTokenFactory.DefaultAudience;

    private static readonly DateTimeOffset Now = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);

    private static readonly TestSigningKey Rs256 = TestSigningKey.Rsa("rsa-1");
    private static readonly TestSigningKey Ps256 = TestSigningKey.Rsa("ps-1", algorithm: SecurityAlgorithms.RsaSsaPssSha256);
    private static readonly TestSigningKey Es256 = TestSigningKey.Ec("ec-1");
    private static readonly TestSigningKey Hs256 = TestSigningKey.Hmac("hs-1");

    private readonly FakeTimeProvider _time = new(Now);
    private readonly TestTokenFactory _tokens;

    public JwtTokenValidatorTests()
    {
        _tokens = new TestTokenFactory(_time);
    }

    public static TheoryData<string> Algorithms() => new("RS256", "PS256", "ES256", "HS256");

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task ValidateAsync_ValidToken_ReturnsCallerWithTokenFields(string algorithm)
    {
        var key = KeyFor(algorithm);
        var validator = CreateValidator(key);
        var token = _tokens.Create(key, claims: new Dictionary<string, object> { ["jti"] = "token-7" });

        var check = await ValidateAsync(validator, token);

        Assert.Equal(AuthFailure.None, check.Failure);
        var caller = Assert.IsType<JwtCaller>(check.Caller);
        Assert.Equal("user-1", caller.Subject);
        Assert.Equal(Issuer, caller.Issuer);
        Assert.Equal(key.KeyId, caller.KeyId);
        Assert.Equal("token-7", caller.TokenId);
        Assert.Equal(Now.AddMinutes(10), caller.ExpiresAt);
        Assert.Equal(TimeSpan.Zero, caller.ExpiresAt.Offset);
        Assert.Equal(key.KeyId, check.KeyId);
    }

    [Fact]
    public async Task ValidateAsync_AllConfiguredKeys_EachValidatesItsOwnTokens()
    {
        var validator = CreateValidator(Rs256, Ps256, Es256, Hs256);

        foreach (var key in new[] { Rs256, Ps256, Es256, Hs256 })
        {
            Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(key))).Failure);
        }
    }

    [Theory]
    // skew, seconds since exp, expected
    [InlineData(30, 20, nameof(AuthFailure.None))]
    [InlineData(30, 30, nameof(AuthFailure.None))]
    [InlineData(30, 31, nameof(AuthFailure.TokenExpired))]
    [InlineData(120, 60, nameof(AuthFailure.None))]
    [InlineData(120, 180, nameof(AuthFailure.TokenExpired))]
    [InlineData(0, 1, nameof(AuthFailure.TokenExpired))]
    [InlineData(0, -1, nameof(AuthFailure.None))]
    public async Task ValidateAsync_ExpiredToken_RejectedOnlyBeyondClockSkew(int skewSeconds, int secondsSinceExpiry, string expected)
    {
        var validator = CreateValidator(options => options.ClockSkew = TimeSpan.FromSeconds(skewSeconds), Rs256);
        var token = _tokens.Create(Rs256, lifetime: TimeSpan.FromMinutes(10));

        _time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(secondsSinceExpiry));

        Assert.Equal(Enum.Parse<AuthFailure>(expected), (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_ExpiredThreeMinutesAgoButSkewIsTwoMinutes_ReturnsTokenExpired()
    {
        var validator = CreateValidator(options => options.ClockSkew = TimeSpan.FromMinutes(2), Rs256);
        var token = _tokens.Create(Rs256, lifetime: TimeSpan.FromMinutes(5));

        _time.Advance(TimeSpan.FromMinutes(8));

        var check = await ValidateAsync(validator, token);

        Assert.Equal(AuthFailure.TokenExpired, check.Failure);
        Assert.Null(check.Caller);
        Assert.Equal(Rs256.KeyId, check.KeyId);
    }

    [Fact]
    public async Task ValidateAsync_ExpiredOneMinuteAgoButSkewIsTwoMinutes_IsAccepted()
    {
        var validator = CreateValidator(options => options.ClockSkew = TimeSpan.FromMinutes(2), Rs256);
        var token = _tokens.Create(Rs256, lifetime: TimeSpan.FromMinutes(5));

        _time.Advance(TimeSpan.FromMinutes(6));

        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, token)).Failure);
    }

    [Theory]
    // skew, nbf seconds ahead, expected
    [InlineData(30, 20, nameof(AuthFailure.None))]
    [InlineData(30, 30, nameof(AuthFailure.None))]
    [InlineData(30, 31, nameof(AuthFailure.TokenNotYetValid))]
    [InlineData(120, 180, nameof(AuthFailure.TokenNotYetValid))]
    [InlineData(0, 1, nameof(AuthFailure.TokenNotYetValid))]
    [InlineData(0, -1, nameof(AuthFailure.None))]
    public async Task ValidateAsync_NotBeforeInFuture_RejectedOnlyBeyondClockSkew(int skewSeconds, int notBeforeSeconds, string expected)
    {
        var validator = CreateValidator(options => options.ClockSkew = TimeSpan.FromSeconds(skewSeconds), Rs256);
        var token = _tokens.Create(Rs256, notBeforeOffset: TimeSpan.FromSeconds(notBeforeSeconds));

        Assert.Equal(Enum.Parse<AuthFailure>(expected), (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_NotYetValidToken_BecomesValidWhenTheClockReachesNbf()
    {
        var validator = CreateValidator(options => options.ClockSkew = TimeSpan.Zero, Rs256);
        var token = _tokens.Create(Rs256, notBeforeOffset: TimeSpan.FromMinutes(2));

        Assert.Equal(AuthFailure.TokenNotYetValid, (await ValidateAsync(validator, token)).Failure);
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_IssuedTwoHoursAhead_ReturnsTokenIssuedInFutureSayingByHowMuch()
    {
        var validator = CreateValidator(Rs256);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", Rs256.KeyId), Payload(expires: Now.AddHours(3), issuedAt: Now.AddHours(2)), Rs256);

        var check = await ValidateAsync(validator, token);

        Assert.Equal(AuthFailure.TokenIssuedInFuture, check.Failure);
        Assert.Equal(
            "token not valid: its iat is 2 h in the future by the server's clock (allowed skew 30 s); check clock synchronisation",
            check.Detail);
        Assert.Null(check.Caller);
        Assert.Equal(Rs256.KeyId, check.KeyId);
    }

    [Theory]
    // skew, iat seconds ahead, expected
    [InlineData(30, 20, nameof(AuthFailure.None))]
    [InlineData(30, 30, nameof(AuthFailure.None))]
    [InlineData(30, 31, nameof(AuthFailure.TokenIssuedInFuture))]
    [InlineData(120, 180, nameof(AuthFailure.TokenIssuedInFuture))]
    [InlineData(0, 1, nameof(AuthFailure.TokenIssuedInFuture))]
    [InlineData(0, 0, nameof(AuthFailure.None))]
    [InlineData(30, -3600, nameof(AuthFailure.None))]
    public async Task ValidateAsync_IssuedAtInFuture_RejectedOnlyBeyondClockSkew(int skewSeconds, int issuedAtSeconds, string expected)
    {
        var validator = CreateValidator(options => options.ClockSkew = TimeSpan.FromSeconds(skewSeconds), Rs256);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", Rs256.KeyId), Payload(expires: Now.AddHours(1), issuedAt: Now.AddSeconds(issuedAtSeconds)), Rs256);

        Assert.Equal(Enum.Parse<AuthFailure>(expected), (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_NoIat_IsAccepted()
    {
        var validator = CreateValidator(Rs256);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", Rs256.KeyId), Payload(expires: Now.AddMinutes(5), includeIssuedAt: false), Rs256);

        var check = await ValidateAsync(validator, token);

        Assert.Equal(AuthFailure.None, check.Failure);
        Assert.Null(check.Detail);
    }

    [Fact]
    public async Task ValidateAsync_IssuedInFutureWithABadSignature_IsRejectedBeforeTheSignatureIsChecked()
    {
        var validator = CreateValidator(Rs256);
        var impostor = TestSigningKey.Rsa(Rs256.KeyId);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", Rs256.KeyId), Payload(expires: Now.AddHours(3), issuedAt: Now.AddHours(2)), impostor);

        Assert.Equal(AuthFailure.TokenIssuedInFuture, (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_IssuedInFutureWithAnUnknownKid_DoesNotRefreshKeys()
    {
        var source = new FakeRemoteKeySource();
        source.Returns(Rs256);
        var validator = CreateValidator(options => options.JwksUri = "https://keys.test/jwks", source);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", "rsa-unknown"), Payload(expires: Now.AddHours(3), issuedAt: Now.AddHours(2)), TestSigningKey.Rsa("rsa-unknown"));

        Assert.Equal(AuthFailure.TokenIssuedInFuture, (await ValidateAsync(validator, token)).Failure);
        Assert.Equal(0, source.Calls);
    }

    [Fact]
    public async Task ValidateAsync_IssuedInFutureToken_BecomesValidWhenTheClockReachesIatLessTheSkew()
    {
        var validator = CreateValidator(options => options.ClockSkew = TimeSpan.FromSeconds(30), Rs256);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", Rs256.KeyId), Payload(expires: Now.AddHours(1), issuedAt: Now.AddMinutes(2)), Rs256);

        Assert.Equal(AuthFailure.TokenIssuedInFuture, (await ValidateAsync(validator, token)).Failure);
        _time.Advance(TimeSpan.FromSeconds(90));
        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_NoExp_ReturnsNoExpiration()
    {
        var validator = CreateValidator(Rs256);
        var token = _tokens.Create(Rs256, includeExpiry: false);

        Assert.Equal(AuthFailure.NoExpiration, (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_NbfAfterExp_ReturnsInvalidLifetime()
    {
        var validator = CreateValidator(Rs256);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", Rs256.KeyId),
            Payload(notBefore: Now.AddSeconds(10), expires: Now.AddSeconds(5)),
            Rs256);

        Assert.Equal(AuthFailure.InvalidLifetime, (await ValidateAsync(validator, token)).Failure);
    }

    [Theory]
    [InlineData("https://evil.test")]
    [InlineData("https://issuer.test/")]
    [InlineData("HTTPS://ISSUER.TEST")]
    [InlineData("")]
    [InlineData(null)]
    public async Task ValidateAsync_IssuerNotConfigured_ReturnsIssuerNotAccepted(string? issuer)
    {
        var validator = CreateValidator(Rs256);

        var check = await ValidateAsync(validator, _tokens.Create(Rs256, issuer: issuer));

        Assert.Equal(AuthFailure.IssuerNotAccepted, check.Failure);
    }

    [Fact]
    public async Task ValidateAsync_IssuerValidationOff_AcceptsAnyIssuer()
    {
        var validator = CreateValidator(options => options.ValidateIssuer = false, Rs256);

        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(Rs256, issuer: "https://other.test"))).Failure);
    }

    [Theory]
    [InlineData("api://other")]
    [InlineData("API://GREETER")]
    [InlineData(null)]
    public async Task ValidateAsync_AudienceNotConfigured_ReturnsAudienceNotAccepted(string? audience)
    {
        var validator = CreateValidator(Rs256);

        var check = await ValidateAsync(validator, _tokens.Create(Rs256, audience: audience));

        Assert.Equal(AuthFailure.AudienceNotAccepted, check.Failure);
    }

    [Fact]
    public async Task ValidateAsync_OneOfSeveralAudiencesConfigured_IsAccepted()
    {
        var validator = CreateValidator(Rs256);
        var token = TestTokenFactory.SignRaw(
            Header("RS256", Rs256.KeyId),
            Payload(expires: Now.AddMinutes(5), audience: ["api://other", Audience]),
            Rs256);

        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_AudienceValidationOff_AcceptsAnyAudience()
    {
        var validator = CreateValidator(options => options.ValidateAudience = false, Rs256);

        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(Rs256, audience: "api://other"))).Failure);
    }

    [Fact]
    public async Task ValidateAsync_SignedByAnotherKeyWithTheSameKid_ReturnsInvalidSignature()
    {
        var validator = CreateValidator(Rs256);
        var impostor = TestSigningKey.Rsa(Rs256.KeyId);

        Assert.Equal(AuthFailure.InvalidSignature, (await ValidateAsync(validator, _tokens.Create(impostor))).Failure);
    }

    [Fact]
    public async Task ValidateAsync_UnknownKidWithStaticKeysOnly_ReturnsSignatureKeyNotFound()
    {
        var validator = CreateValidator(Rs256);
        var stranger = TestSigningKey.Rsa("rsa-unknown");

        var check = await ValidateAsync(validator, _tokens.Create(stranger));

        Assert.Equal(AuthFailure.SignatureKeyNotFound, check.Failure);
        Assert.Equal("rsa-unknown", check.KeyId);
    }

    [Fact]
    public async Task ValidateAsync_NoKidAndSignedByConfiguredKey_IsAccepted()
    {
        var validator = CreateValidator(Rs256);
        var token = TestTokenFactory.SignRaw(Header("RS256", keyId: null), Payload(expires: Now.AddMinutes(5)), Rs256);

        var check = await ValidateAsync(validator, token);

        Assert.Equal(AuthFailure.None, check.Failure);
        Assert.Null(check.Caller!.KeyId);
    }

    [Fact]
    public async Task ValidateAsync_NoKidAndSignedByUnknownKey_IsRejected()
    {
        var validator = CreateValidator(Rs256);
        var stranger = TestSigningKey.Rsa(keyId: null);

        Assert.Equal(AuthFailure.SignatureKeyNotFound, (await ValidateAsync(validator, _tokens.Create(stranger))).Failure);
    }

    [Fact]
    public async Task ValidateAsync_StaticKeyWithoutKeyId_IsTriedForATokenNamingAnyKid()
    {
        var entry = Rs256.ToStaticKey();
        entry.KeyId = null;
        var validator = CreateValidator(options => options.StaticKeys.Add(entry));

        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(Rs256))).Failure);
    }

    [Theory]
    [InlineData("any-kid")]
    [InlineData(null)]
    public async Task ValidateAsync_CertificateKeyWithoutKeyId_IsTriedForAnyToken(string? tokenKeyId)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=issuer.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
        var validator = CreateValidator(options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = certificate.ExportCertificatePem() }));
        var token = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Expires = Now.AddMinutes(5).UtcDateTime,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = tokenKeyId }, SecurityAlgorithms.RsaSha256),
        });

        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_Hs256TokenWithUnknownKidWhenOnlyRsaConfigured_ReturnsAlgorithmNotAllowed()
    {
        var validator = CreateValidator(Rs256);

        Assert.Equal(AuthFailure.AlgorithmNotAllowed, (await ValidateAsync(validator, _tokens.Create(TestSigningKey.Hmac("hs-x")))).Failure);
    }

    [Fact]
    public async Task ValidateAsync_Hs256TokenNamingTheRsaKidWhenOnlyRsaConfigured_ReturnsAlgorithmNotAllowed()
    {
        var validator = CreateValidator(Rs256);
        var hmac = TestSigningKey.Hmac(Rs256.KeyId);

        Assert.Equal(AuthFailure.AlgorithmNotAllowed, (await ValidateAsync(validator, _tokens.Create(hmac))).Failure);
    }

    [Fact]
    public async Task ValidateAsync_DisallowedAlgorithmWithUnknownKid_DoesNotRefreshKeys()
    {
        var source = new FakeRemoteKeySource();
        source.Returns(Rs256);
        var validator = CreateValidator(options => options.JwksUri = "https://keys.test/jwks", source);

        var check = await ValidateAsync(validator, _tokens.Create(TestSigningKey.Hmac("hs-x")));

        Assert.Equal(AuthFailure.AlgorithmNotAllowed, check.Failure);
        Assert.Equal(0, source.Calls);
    }

    [Fact]
    public async Task ValidateAsync_AlgorithmsRestrictedToEs256_RejectsRs256WithAlgorithmNotAllowed()
    {
        var validator = CreateValidator(options => options.ValidAlgorithms.Add(SecurityAlgorithms.EcdsaSha256), Rs256, Es256);

        Assert.Equal(AuthFailure.AlgorithmNotAllowed, (await ValidateAsync(validator, _tokens.Create(Rs256))).Failure);
        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(Es256))).Failure);
    }

    [Theory]
    [InlineData("{\"alg\":\"none\",\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"rsa-1\"}")]
    [InlineData("{\"alg\":\"None\",\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":\"NONE\"}")]
    [InlineData("{\"alg\":\"\",\"typ\":\"JWT\"}")]
    [InlineData("{\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":\"rs256\",\"kid\":\"rsa-1\"}")]
    public async Task ValidateAsync_AlgNoneOrMissing_ReturnsAlgorithmNotAllowed(string header)
    {
        var validator = CreateValidator(Rs256);

        // Some signature bytes, so that the pre-check (which refuses an empty signature) lets it reach the alg check.
        var token = TestTokenFactory.Raw(header, Payload(expires: Now.AddMinutes(5)), "c2ln");

        Assert.Equal(AuthFailure.AlgorithmNotAllowed, (await ValidateAsync(validator, token)).Failure);
    }

    [Fact]
    public async Task ValidateAsync_AlgNoneWithoutTrailingDot_ReturnsMalformedToken()
    {
        var validator = CreateValidator(Rs256);
        var token = TestTokenFactory.Raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", Payload(expires: Now.AddMinutes(5))).TrimEnd('.');

        Assert.Equal(AuthFailure.MalformedToken, (await ValidateAsync(validator, token)).Failure);
    }

    public static TheoryData<string, string, string> UnsignedTokens()
    {
        var payload = Payload(expires: Now.AddMinutes(5));
        var none = TestTokenFactory.Raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload);
        // An empty signature is refused by the pre-check; with signature bytes, because no key verifies 'none' (and
        // IdentityModel's RequireSignedTokens behind that).
        return new TheoryData<string, string, string>
        {
            { "alg none, trailing dot", none, nameof(AuthFailure.MalformedToken) },
            { "alg none, no trailing dot", none.TrimEnd('.'), nameof(AuthFailure.MalformedToken) },
            { "alg none with the configured kid", TestTokenFactory.Raw("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", payload), nameof(AuthFailure.MalformedToken) },
            { "alg none with the configured kid and signature bytes", TestTokenFactory.Raw("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", payload, "c2ln"), nameof(AuthFailure.AlgorithmNotAllowed) },
            { "alg none without kid, signature bytes", TestTokenFactory.Raw("{\"alg\":\"none\"}", payload, "c2ln"), nameof(AuthFailure.AlgorithmNotAllowed) },
            { "RS256 header, signature removed", TestTokenFactory.Raw(Header("RS256", "rsa-1"), payload), nameof(AuthFailure.MalformedToken) },
        };
    }

    [Theory]
    [MemberData(nameof(UnsignedTokens))]
    public async Task ValidateAsync_UnsignedTokenEvenWithNoneMisconfiguredAsAllowed_IsRejected(string description, string token, string expected)
    {
        // The options validator refuses 'none'; IdentityModel's RequireSignedTokens is the second line of defence.
        var validator = CreateValidator(
            options =>
            {
                options.ValidAlgorithms.Add("none");
                options.ValidAlgorithms.Add(SecurityAlgorithms.RsaSha256);
            },
            Rs256);

        var check = await ValidateAsync(validator, token);

        Assert.True(Enum.Parse<AuthFailure>(expected) == check.Failure, $"{description}: expected {expected}, got {check.Failure}");
        Assert.Null(check.Caller);
    }

    [Fact]
    public async Task ValidateAsync_Hs256SignedWithRsaPublicKeyPem_ReturnsAlgorithmNotAllowed()
    {
        var validator = CreateValidator(Rs256);

        Assert.Equal(AuthFailure.AlgorithmNotAllowed, (await ValidateAsync(validator, KeyConfusionToken())).Failure);
    }

    [Fact]
    public async Task ValidateAsync_Hs256NamingTheRsaKeyWhileHmacAllowed_ReturnsAlgorithmNotAllowedWithoutTryingTheSecret()
    {
        // The kid names the RSA key, which may verify RS/PS only: no HMAC check runs at all.
        var validator = CreateValidator(Rs256, Hs256);

        Assert.Equal(AuthFailure.AlgorithmNotAllowed, (await ValidateAsync(validator, KeyConfusionToken())).Failure);
    }

    [Fact]
    public async Task ValidateAsync_TamperedPayload_ReturnsInvalidSignature()
    {
        var validator = CreateValidator(Rs256);
        var parts = _tokens.Create(Rs256).Split('.');
        var forged = Base64UrlEncoder.Encode(Payload(expires: Now.AddMinutes(5), subject: "admin"));

        var check = await ValidateAsync(validator, $"{parts[0]}.{forged}.{parts[2]}");

        Assert.Equal(AuthFailure.InvalidSignature, check.Failure);
    }

    [Fact]
    public async Task ValidateAsync_TamperedSignature_ReturnsInvalidSignature()
    {
        var validator = CreateValidator(Es256);
        var parts = _tokens.Create(Es256).Split('.');
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[0] ^= 0x01;

        var check = await ValidateAsync(validator, $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(signature)}");

        Assert.Equal(AuthFailure.InvalidSignature, check.Failure);
    }

    public static TheoryData<string, string, string> MalformedTokens()
    {
        var payload = Base64UrlEncoder.Encode(Payload(expires: Now.AddMinutes(5)));
        var jweHeader = Base64UrlEncoder.Encode("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"kid\":\"rsa-1\"}");
        return new TheoryData<string, string, string>
        {
            { "empty", "", nameof(AuthFailure.MalformedToken) },
            { "garbage", "garbage", nameof(AuthFailure.MalformedToken) },
            { "two parts", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0", nameof(AuthFailure.MalformedToken) },
            { "four parts", "a.b.c.d", nameof(AuthFailure.MalformedToken) },
            { "six parts", "a.b.c.d.e.f", nameof(AuthFailure.MalformedToken) },
            { "dots only", "..", nameof(AuthFailure.MalformedToken) },
            { "header not base64url", $"!!!.{payload}.c2ln", nameof(AuthFailure.MalformedToken) },
            { "header not JSON", $"{Base64UrlEncoder.Encode("not json")}.{payload}.c2ln", nameof(AuthFailure.MalformedToken) },
            { "header a JSON array", $"{Base64UrlEncoder.Encode("[1,2]")}.{payload}.c2ln", nameof(AuthFailure.MalformedToken) },
            { "payload not JSON", $"{Base64UrlEncoder.Encode(Header("RS256", "rsa-1"))}.{Base64UrlEncoder.Encode("nope")}.c2ln", nameof(AuthFailure.MalformedToken) },
            { "five garbage parts", "a.b.c.d.e", nameof(AuthFailure.MalformedToken) },
            { "JWE shaped", $"{jweHeader}.ZW5jcnlwdGVka2V5.aXZpdml2aXZpdg.Y2lwaGVydGV4dA.dGFndGFndGFndGFn", nameof(AuthFailure.EncryptedToken) },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedTokens))]
    public async Task ValidateAsync_MalformedOrEncrypted_ReturnsReason(string description, string token, string expected)
    {
        var validator = CreateValidator(Rs256);

        var check = await ValidateAsync(validator, token);

        Assert.True(Enum.Parse<AuthFailure>(expected) == check.Failure, $"{description}: expected {expected}, got {check.Failure}");
        Assert.Null(check.Caller);
    }

    [Fact]
    public async Task ValidateAsync_UnknownKidPublishedByRemoteSource_IsAcceptedOnFirstCall()
    {
        var source = new FakeRemoteKeySource();
        source.Returns(Rs256);
        var validator = CreateValidator(options => options.JwksUri = "https://keys.test/jwks", source);

        var check = await ValidateAsync(validator, _tokens.Create(Rs256));

        Assert.Equal(AuthFailure.None, check.Failure);
        Assert.Equal(1, source.Calls);
    }

    [Fact]
    public async Task ValidateAsync_UnknownKidNotInRefreshedSet_ReturnsSignatureKeyNotFound()
    {
        var source = new FakeRemoteKeySource();
        source.Returns(Rs256);
        var validator = CreateValidator(options => options.JwksUri = "https://keys.test/jwks", source);

        var check = await ValidateAsync(validator, _tokens.Create(Es256));

        Assert.Equal(AuthFailure.SignatureKeyNotFound, check.Failure);
        Assert.Equal(1, source.Calls);
    }

    [Fact]
    public async Task ValidateAsync_UnknownKidWhileTheSourceIsDown_ReturnsKeyNotFoundSourceUnavailable()
    {
        var source = new FakeRemoteKeySource();
        source.Returns(Rs256);
        var validator = CreateValidator(options => options.JwksUri = "https://keys.test/jwks", source);
        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(Rs256))).Failure);

        source.Throws();
        _time.Advance(TimeSpan.FromMinutes(10));
        var check = await ValidateAsync(validator, _tokens.Create(Es256));

        Assert.Equal(AuthFailure.KeyNotFoundSourceUnavailable, check.Failure);
        Assert.Equal(2, source.Calls);
        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(Rs256))).Failure);
    }

    [Fact]
    public async Task ValidateAsync_NoKeysAndRemoteSourceDown_ReturnsKeysUnavailable()
    {
        var source = new FakeRemoteKeySource();
        source.Throws();
        var validator = CreateValidator(options => options.JwksUri = "https://keys.test/jwks", source);

        var check = await ValidateAsync(validator, _tokens.Create(Rs256));

        Assert.Equal(AuthFailure.KeysUnavailable, check.Failure);
        Assert.Equal(Rs256.KeyId, check.KeyId);
    }

    [Fact]
    public async Task ValidateAsync_NoIssuersConfigured_AcceptsTheDiscoveredIssuerOnly()
    {
        var source = new FakeRemoteKeySource();
        source.Returns(new RemoteKeys(FakeRemoteKeySource.PublicKeys(Rs256), "https://discovered.test"));
        var validator = CreateValidator(
            options =>
            {
                options.Issuers.Clear();
                options.Authority = "https://discovered.test";
            },
            source);

        Assert.Equal(AuthFailure.None, (await ValidateAsync(validator, _tokens.Create(Rs256, issuer: "https://discovered.test"))).Failure);
        Assert.Equal(AuthFailure.IssuerNotAccepted, (await ValidateAsync(validator, _tokens.Create(Rs256))).Failure);
    }

    public static TheoryData<Type, string> ExceptionMappings() => new()
    {
        { typeof(SecurityTokenExpiredException), nameof(AuthFailure.TokenExpired) },
        { typeof(SecurityTokenNotYetValidException), nameof(AuthFailure.TokenNotYetValid) },
        { typeof(SecurityTokenNoExpirationException), nameof(AuthFailure.NoExpiration) },
        { typeof(SecurityTokenInvalidLifetimeException), nameof(AuthFailure.InvalidLifetime) },
        { typeof(SecurityTokenSignatureKeyNotFoundException), nameof(AuthFailure.SignatureKeyNotFound) },
        { typeof(SecurityTokenInvalidAlgorithmException), nameof(AuthFailure.AlgorithmNotAllowed) },
        { typeof(SecurityTokenInvalidSignatureException), nameof(AuthFailure.InvalidSignature) },
        { typeof(SecurityTokenInvalidIssuerException), nameof(AuthFailure.IssuerNotAccepted) },
        { typeof(SecurityTokenInvalidAudienceException), nameof(AuthFailure.AudienceNotAccepted) },
        { typeof(SecurityTokenDecryptionFailedException), nameof(AuthFailure.EncryptedToken) },
        { typeof(SecurityTokenEncryptionKeyNotFoundException), nameof(AuthFailure.EncryptedToken) },
        { typeof(SecurityTokenMalformedException), nameof(AuthFailure.MalformedToken) },
        { typeof(SecurityTokenInvalidSigningKeyException), nameof(AuthFailure.TokenInvalid) },
        { typeof(SecurityTokenInvalidTypeException), nameof(AuthFailure.TokenInvalid) },
        { typeof(SecurityTokenValidationException), nameof(AuthFailure.TokenInvalid) },
        { typeof(SecurityTokenException), nameof(AuthFailure.TokenInvalid) },
        { typeof(ArgumentException), nameof(AuthFailure.TokenInvalid) },
        { typeof(Exception), nameof(AuthFailure.TokenInvalid) },
    };

    [Theory]
    [MemberData(nameof(ExceptionMappings))]
    public void MapException_ExceptionType_MapsToItsFailure(Type exceptionType, string expected)
    {
        var exception = (Exception)Activator.CreateInstance(exceptionType, "message")!;

        Assert.Equal(Enum.Parse<AuthFailure>(expected), JwtTokenValidator.MapException(exception));
    }

    [Fact]
    public void MapException_Null_ReturnsTokenInvalid()
    {
        Assert.Equal(AuthFailure.TokenInvalid, JwtTokenValidator.MapException(null));
    }

    [Theory]
    // A derived type that maps to a reason of its own, listed with the base type it derives from.
    [InlineData(typeof(SecurityTokenSignatureKeyNotFoundException), typeof(SecurityTokenInvalidSignatureException))]
    [InlineData(typeof(SecurityTokenExpiredException), typeof(SecurityTokenValidationException))]
    [InlineData(typeof(SecurityTokenInvalidLifetimeException), typeof(SecurityTokenValidationException))]
    [InlineData(typeof(SecurityTokenEncryptionKeyNotFoundException), typeof(SecurityTokenDecryptionFailedException))]
    public void MapException_DerivedType_IsMappedBeforeItsBase(Type derived, Type baseType)
    {
        Assert.True(baseType.IsAssignableFrom(derived), $"{derived.Name} does not derive from {baseType.Name}.");

        var derivedFailure = JwtTokenValidator.MapException((Exception)Activator.CreateInstance(derived, "message")!);
        var baseFailure = JwtTokenValidator.MapException((Exception)Activator.CreateInstance(baseType, "message")!);

        if (derivedFailure != AuthFailure.EncryptedToken)
        {
            Assert.NotEqual(baseFailure, derivedFailure);
        }
    }

    private JwtTokenValidator CreateValidator(params TestSigningKey[] keys) => CreateValidator(configure: null, keys);

    private JwtTokenValidator CreateValidator(Action<GrpcJwtAuthOptions>? configure, params TestSigningKey[] keys)
    {
        return CreateValidator(
            options =>
            {
                foreach (var key in keys)
                {
                    options.StaticKeys.Add(key.ToStaticKey());
                }

                configure?.Invoke(options);
            },
            remote: null);
    }

    private JwtTokenValidator CreateValidator(Action<GrpcJwtAuthOptions> configure, IRemoteKeySource? remote)
    {
        var options = new GrpcJwtAuthOptions();
        options.Issuers.Add(Issuer);
        options.Audiences.Add(Audience);
        configure(options);

        var compiled = CompiledAuthOptions.Create(options, _time);
        var keys = new SigningKeyManager(compiled.Issuers[0], remote, _time, NullLogger<SigningKeyManager>.Instance);
        return new JwtTokenValidator(new TrustedIssuers([keys], compiled.ValidateIssuer), compiled);
    }

    private static async Task<TokenCheck> ValidateAsync(JwtTokenValidator validator, string token) =>
        await validator.ValidateAsync(token, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    private static TestSigningKey KeyFor(string algorithm) => algorithm switch
    {
        "RS256" => Rs256,
        "PS256" => Ps256,
        "ES256" => Es256,
        "HS256" => Hs256,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    private static string Header(string algorithm, string? keyId) => JsonSerializer.Serialize(
        keyId is null
            ? new Dictionary<string, string> { ["alg"] = algorithm, ["typ"] = "JWT" }
            : new Dictionary<string, string> { ["alg"] = algorithm, ["typ"] = "JWT", ["kid"] = keyId });

    private static string Payload(
        DateTimeOffset expires,
        DateTimeOffset? notBefore = null,
        string subject = "user-1",
        string[]? audience = null,
        DateTimeOffset? issuedAt = null,
        bool includeIssuedAt = true)
    {
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = audience is null ? Audience : audience,
            ["sub"] = subject,
            ["exp"] = expires.ToUnixTimeSeconds(),
        };
        if (includeIssuedAt)
        {
            claims["iat"] = (issuedAt ?? Now).ToUnixTimeSeconds();
        }
        if (notBefore is { } nbf)
        {
            claims["nbf"] = nbf.ToUnixTimeSeconds();
        }

        return JsonSerializer.Serialize(claims);
    }

    /// <summary>HS256 over the RSA public key's PEM text: the classic RS256/HS256 key-confusion forgery.</summary>
    private static string KeyConfusionToken()
    {
        var input = $"{Base64UrlEncoder.Encode(Header("HS256", Rs256.KeyId))}.{Base64UrlEncoder.Encode(Payload(expires: Now.AddMinutes(5)))}";
        var signature = HMACSHA256.HashData(Encoding.ASCII.GetBytes(Rs256.PublicPem), Encoding.ASCII.GetBytes(input));
        return $"{input}.{Base64UrlEncoder.Encode(signature)}";
    }
}
