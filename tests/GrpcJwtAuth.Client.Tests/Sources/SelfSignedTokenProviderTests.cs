using System.Security.Cryptography;
using System.Text.Json;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Client.Tests.Sources;

/// <summary>
/// Minted tokens are read back as JSON and validated by the server package's own validator (its internal
/// <see cref="JwtTokenValidator"/> over static keys), on the same fake clock.
/// </summary>
public sealed class SelfSignedTokenProviderTests
{
    private const string Issuer = "https://orders.internal";
    private const string Audience = "api://inventory";

    // Not on a whole second: exp, nbf and iat are whole seconds.
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, 750, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);

    public static TheoryData<string, string> Algorithms => new()
    {
        { "RSA 2048", SecurityAlgorithms.RsaSha256 },
        { "ECDSA P-256", SecurityAlgorithms.EcdsaSha256 },
        { "ECDSA P-384", SecurityAlgorithms.EcdsaSha384 },
        { "ECDSA P-521", SecurityAlgorithms.EcdsaSha512 },
        { "HMAC 32 bytes", SecurityAlgorithms.HmacSha256 },
    };

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task GetTokenAsync_DefaultAlgorithmForKey_MintsTokenTheServerAccepts(string keyKind, string expectedAlgorithm)
    {
        var key = CreateKey(keyKind);
        var provider = CreateProvider(key);

        var token = await provider.GetTokenAsync().DefaultTimeout();

        var jwt = new JsonWebToken(token.Value);
        Assert.Equal(expectedAlgorithm, jwt.Alg);
        Assert.Equal(key.KeyId, jwt.Kid);
        Assert.Equal("JWT", jwt.Typ);

        var check = await ValidateAsync(token.Value, key);
        Assert.Equal(AuthFailure.None, check.Failure);
        var caller = check.Caller!;
        Assert.Equal("orders-service", caller.Subject);
        Assert.Equal(Issuer, caller.Issuer);
        Assert.Equal(key.KeyId, caller.KeyId);
        Assert.Equal(["admin", "reader"], caller.Roles);
        Assert.Equal(["inventory.read", "inventory.write"], caller.Scopes);
        Assert.True(caller.IsInRole("admin"));
        Assert.True(caller.HasScope("inventory.write"));
    }

    [Fact]
    public async Task GetTokenAsync_Payload_HasIssAudSubJtiCustomClaimsAndTimesFromTheClock()
    {
        var key = TestSigningKey.Ec();
        var provider = CreateProvider(key, options => options.Lifetime = TimeSpan.FromMinutes(3));

        var token = await provider.GetTokenAsync().DefaultTimeout();

        using var payload = ReadPayload(token.Value);
        var root = payload.RootElement;
        var nowSeconds = Now.ToUnixTimeSeconds();
        Assert.Equal(Issuer, root.GetProperty("iss").GetString());
        Assert.Equal(Audience, root.GetProperty("aud").GetString());
        Assert.Equal("orders-service", root.GetProperty("sub").GetString());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("jti").GetString()));
        Assert.Equal(JsonValueKind.Array, root.GetProperty("roles").ValueKind);
        Assert.Equal(["admin", "reader"], root.GetProperty("roles").EnumerateArray().Select(role => role.GetString()));
        Assert.Equal("inventory.read inventory.write", root.GetProperty("scope").GetString());
        Assert.Equal(nowSeconds, root.GetProperty("iat").GetInt64());
        Assert.Equal(nowSeconds, root.GetProperty("nbf").GetInt64());
        Assert.Equal(nowSeconds + 180, root.GetProperty("exp").GetInt64());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(nowSeconds + 180), token.ExpiresAt);
    }

    [Fact]
    public async Task GetTokenAsync_EachToken_HasItsOwnJtiAndTheClocksTime()
    {
        var provider = CreateProvider(TestSigningKey.Hmac());
        var ids = new HashSet<string>(StringComparer.Ordinal);

        for (var i = 0; i < 20; i++)
        {
            var token = await provider.GetTokenAsync().DefaultTimeout();
            using var payload = ReadPayload(token.Value);
            Assert.True(ids.Add(payload.RootElement.GetProperty("jti").GetString()!));
            Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), payload.RootElement.GetProperty("iat").GetInt64());
            _time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task GetTokenAsync_NotBeforeSkew_SetsNbfAndIatInThePast()
    {
        var provider = CreateProvider(TestSigningKey.Ec(), options => options.NotBeforeSkew = TimeSpan.FromSeconds(30));

        var token = await provider.GetTokenAsync().DefaultTimeout();

        using var payload = ReadPayload(token.Value);
        var nowSeconds = Now.ToUnixTimeSeconds();
        Assert.Equal(nowSeconds - 30, payload.RootElement.GetProperty("nbf").GetInt64());
        Assert.Equal(nowSeconds - 30, payload.RootElement.GetProperty("iat").GetInt64());
        Assert.Equal(nowSeconds + 300, payload.RootElement.GetProperty("exp").GetInt64());
    }

    [Fact]
    public async Task GetTokenAsync_NoSubject_OmitsSub()
    {
        var provider = CreateProvider(TestSigningKey.Ec(), options => options.Subject = null);

        var token = await provider.GetTokenAsync().DefaultTimeout();

        using var payload = ReadPayload(token.Value);
        Assert.False(payload.RootElement.TryGetProperty("sub", out _));
    }

    [Fact]
    public async Task GetTokenAsync_KeyIdOption_OverridesTheKeysKid()
    {
        var key = TestSigningKey.Rsa(keyId: "from-key");
        var provider = CreateProvider(key, options => options.KeyId = "from-options");

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal("from-options", new JsonWebToken(token.Value).Kid);
        var server = new GrpcJwtAuthStaticKey { KeyId = "from-options", Pem = key.PublicPem };
        Assert.Equal(AuthFailure.None, (await ValidateAsync(token.Value, server)).Failure);
    }

    [Theory]
    [InlineData("RSA 2048")]
    [InlineData("ECDSA P-256")]
    [InlineData("HMAC 32 bytes")]
    [InlineData("JWK")]
    public async Task GetTokenAsync_KeyIdOption_LeavesTheCallersKeyAsItWas(string keyKind)
    {
        SecurityKey key = keyKind == "JWK"
            ? JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "mine" })
            : CreateKey(keyKind).PrivateKey;
        var before = key.KeyId;
        var provider = CreateProvider(key, options => options.KeyId = "from-options");

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal("from-options", new JsonWebToken(token.Value).Kid);
        Assert.Equal(before, key.KeyId);
        Assert.NotEqual("from-options", key.KeyId);
    }

    [Fact]
    public async Task GetTokenAsync_KeyWithoutKid_MintsTokenWithoutKid()
    {
        var key = TestSigningKey.Ec(keyId: null);
        var provider = CreateProvider(key);

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.True(string.IsNullOrEmpty(new JsonWebToken(token.Value).Kid));
        Assert.Equal(AuthFailure.None, (await ValidateAsync(token.Value, key)).Failure);
    }

    [Theory]
    [InlineData(SecurityAlgorithms.RsaSha384)]
    [InlineData(SecurityAlgorithms.RsaSsaPssSha256)]
    public async Task GetTokenAsync_ExplicitAlgorithm_IsUsed(string algorithm)
    {
        var key = TestSigningKey.Rsa();
        var provider = CreateProvider(key, options => options.Algorithm = algorithm);

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal(algorithm, new JsonWebToken(token.Value).Alg);
        Assert.Equal(AuthFailure.None, (await ValidateAsync(token.Value, key)).Failure);
    }

    [Theory]
    [InlineData("P-256", SecurityAlgorithms.EcdsaSha256)]
    [InlineData("P-384", SecurityAlgorithms.EcdsaSha384)]
    [InlineData("P-521", SecurityAlgorithms.EcdsaSha512)]
    public async Task GetTokenAsync_EcJsonWebKey_PicksAlgorithmByCurve(string curve, string expectedAlgorithm)
    {
        using var ecdsa = ECDsa.Create(curve switch
        {
            "P-384" => ECCurve.NamedCurves.nistP384,
            "P-521" => ECCurve.NamedCurves.nistP521,
            _ => ECCurve.NamedCurves.nistP256,
        });
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ecdsa) { KeyId = "jwk-ec" });
        var provider = CreateProvider(jwk);

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal(expectedAlgorithm, new JsonWebToken(token.Value).Alg);
        var server = new GrpcJwtAuthStaticKey { KeyId = "jwk-ec", Pem = ecdsa.ExportSubjectPublicKeyInfoPem() };
        Assert.Equal(AuthFailure.None, (await ValidateAsync(token.Value, server)).Failure);
    }

    [Theory]
    [InlineData("RSA 2048")]
    [InlineData("ECDSA P-256")]
    [InlineData("ECDSA P-384")]
    [InlineData("HMAC 32 bytes")]
    public async Task GetTokenAsync_ServerHoldsAnotherKeyWithTheSameKid_RejectsTheSignature(string keyKind)
    {
        var signing = CreateKey(keyKind);
        var other = CreateKey(keyKind);
        var provider = CreateProvider(signing);

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal(signing.KeyId, other.KeyId);
        Assert.Equal(AuthFailure.InvalidSignature, (await ValidateAsync(token.Value, other)).Failure);
    }

    [Fact]
    public async Task GetTokenAsync_ServerHoldsOnlyOtherKids_RejectsWithSignatureKeyNotFound()
    {
        var provider = CreateProvider(TestSigningKey.Rsa(keyId: "signing"));

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal(AuthFailure.SignatureKeyNotFound, (await ValidateAsync(token.Value, TestSigningKey.Rsa(keyId: "other"))).Failure);
    }

    [Theory]
    [InlineData("issuer", "AudienceNotAccepted")]
    [InlineData("audience", "IssuerNotAccepted")]
    public async Task GetTokenAsync_ServerExpectsOtherIssuerOrAudience_RejectsIt(string keptSetting, string expected)
    {
        var key = TestSigningKey.Ec();
        var provider = CreateProvider(key, options =>
        {
            if (keptSetting == "issuer")
            {
                options.Audience = "api://someone-else";
            }
            else
            {
                options.Issuer = "https://someone-else";
            }
        });

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal(Enum.Parse<AuthFailure>(expected), (await ValidateAsync(token.Value, key)).Failure);
    }

    [Fact]
    public async Task GetTokenAsync_TokenOlderThanLifetime_IsRejectedByTheServerAsExpired()
    {
        var key = TestSigningKey.Ec();
        var provider = CreateProvider(key, options => options.Lifetime = TimeSpan.FromMinutes(1));
        var token = await provider.GetTokenAsync().DefaultTimeout();

        // The server allows 30 s of clock skew by default.
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(29));
        Assert.Equal(AuthFailure.None, (await ValidateAsync(token.Value, key)).Failure);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(AuthFailure.TokenExpired, (await ValidateAsync(token.Value, key)).Failure);
    }

    [Theory]
    [InlineData("no key", "SigningKey is required")]
    [InlineData("no issuer", "Issuer is required")]
    [InlineData("blank issuer", "Issuer is required")]
    [InlineData("no audience", "Audience is required")]
    [InlineData("blank audience", "Audience is required")]
    [InlineData("zero lifetime", "Lifetime is 00:00:00")]
    [InlineData("negative lifetime", "Lifetime is -00:01:00")]
    [InlineData("lifetime over a day", "Lifetime is 1.00:00:01")]
    [InlineData("negative skew", "NotBeforeSkew must not be negative")]
    [InlineData("alg none", "'none' is not allowed")]
    [InlineData("alg NONE", "'none' is not allowed")]
    [InlineData("16-byte secret", "at least 32 bytes")]
    [InlineData("31-byte secret", "at least 32 bytes")]
    [InlineData("algorithm for another key type", "Algorithm")]
    [InlineData("public ECDSA key only", "private key")]
    [InlineData("public RSA key only", "private key")]
    public void Constructor_InvalidOptions_ThrowsArgumentException(string problem, string expected)
    {
        var options = Options(TestSigningKey.Ec());
        switch (problem)
        {
            case "no key":
                options.SigningKey = null;
                break;
            case "no issuer":
                options.Issuer = null;
                break;
            case "blank issuer":
                options.Issuer = " ";
                break;
            case "no audience":
                options.Audience = null;
                break;
            case "blank audience":
                options.Audience = "";
                break;
            case "zero lifetime":
                options.Lifetime = TimeSpan.Zero;
                break;
            case "negative lifetime":
                options.Lifetime = TimeSpan.FromMinutes(-1);
                break;
            case "lifetime over a day":
                options.Lifetime = TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1);
                break;
            case "negative skew":
                options.NotBeforeSkew = TimeSpan.FromSeconds(-1);
                break;
            case "alg none":
                options.Algorithm = "none";
                break;
            case "alg NONE":
                options.Algorithm = "NONE";
                break;
            case "16-byte secret":
                options.SigningKey = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(16));
                break;
            case "31-byte secret":
                options.SigningKey = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(31));
                break;
            case "algorithm for another key type":
                options.Algorithm = SecurityAlgorithms.RsaSha256;
                break;
            case "public ECDSA key only":
                options.SigningKey = TestSigningKey.Ec().PublicKey;
                break;
            default:
                options.SigningKey = TestSigningKey.Rsa().PublicKey;
                break;
        }

        var failure = Assert.Throws<ArgumentException>(() => new SelfSignedTokenProvider(options, _time));

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Constructor_LifetimeOfExactlyOneDay_IsAccepted()
    {
        var provider = CreateProvider(TestSigningKey.Ec(), options => options.Lifetime = TimeSpan.FromDays(1));

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(Now.ToUnixTimeSeconds()) + TimeSpan.FromDays(1), token.ExpiresAt);
    }

    [Fact]
    public void Constructor_NullOptions_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => new SelfSignedTokenProvider(null!));
    }

    private static TestSigningKey CreateKey(string kind) => kind switch
    {
        "RSA 2048" => TestSigningKey.Rsa(),
        "ECDSA P-256" => TestSigningKey.Ec(),
        "ECDSA P-384" => TestSigningKey.Ec(algorithm: SecurityAlgorithms.EcdsaSha384),
        "ECDSA P-521" => TestSigningKey.Ec(algorithm: SecurityAlgorithms.EcdsaSha512),
        "HMAC 32 bytes" => TestSigningKey.Hmac(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private SelfSignedTokenProvider CreateProvider(TestSigningKey key, Action<SelfSignedTokenOptions>? configure = null) =>
        CreateProvider(key.PrivateKey, configure);

    private SelfSignedTokenProvider CreateProvider(SecurityKey key, Action<SelfSignedTokenOptions>? configure = null)
    {
        var options = Options(key);
        configure?.Invoke(options);
        return new SelfSignedTokenProvider(options, _time);
    }

    private static SelfSignedTokenOptions Options(TestSigningKey key) => Options(key.PrivateKey);

    private static SelfSignedTokenOptions Options(SecurityKey key)
    {
        var options = new SelfSignedTokenOptions
        {
            SigningKey = key,
            Issuer = Issuer,
            Audience = Audience,
            Subject = "orders-service",
        };
        options.Claims["roles"] = new[] { "admin", "reader" };
        options.Claims["scope"] = "inventory.read inventory.write";
        return options;
    }

    private static JsonDocument ReadPayload(string token) =>
        JsonDocument.Parse(Base64UrlEncoder.Decode(token.Split('.')[1]));

    private ValueTask<TokenCheck> ValidateAsync(string token, TestSigningKey serverKey) => ValidateAsync(token, serverKey.ToStaticKey());

    /// <summary>The server package's validation, built as the server builds it, over one static key.</summary>
    private async ValueTask<TokenCheck> ValidateAsync(string token, GrpcJwtAuthStaticKey serverKey)
    {
        var options = new GrpcJwtAuthOptions();
        options.Issuers.Add(Issuer);
        options.Audiences.Add(Audience);
        options.StaticKeys.Add(serverKey);
        var compiled = CompiledAuthOptions.Create(options, _time);
        using var keys = new SigningKeyManager(compiled.Issuers[0], null, _time, NullLogger<SigningKeyManager>.Instance);
        var validator = new JwtTokenValidator(new TrustedIssuers([keys], compiled.ValidateIssuer), compiled);
        return await validator.ValidateAsync(token, CancellationToken.None);
    }
}
