using System.Security.Cryptography;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// What the server takes from a key endpoint, over TLS: documents are read up to a limit, a discovery document must
/// name the issuer it was fetched for, and a published key is used only as it declares and only if it is strong enough.
/// </summary>
public class KeyEndpointTests : IntegrationTest
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    private static Action<GrpcJwtAuthOptions> Jwks(KeyServer keys) => options =>
    {
        options.JwksUri = keys.JwksUri;
        options.Issuers.Add(keys.Issuer);
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        options.JwksMinimumRefreshInterval = TimeSpan.FromMinutes(1);
    };

    private static Action<GrpcJwtAuthOptions> Discovery(KeyServer keys) => options =>
    {
        options.Authority = keys.Issuer;
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
    };

    /// <summary>A valid key set made larger than <paramref name="bytes"/> with insignificant whitespace.</summary>
    private static string Padded(int bytes, params TestSigningKey[] keys)
    {
        var jwks = TestSigningKey.JwksJson(keys);
        return jwks[..^1] + new string(' ', bytes) + "}";
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Key_set_larger_than_the_limit_is_a_failed_fetch_and_the_last_good_keys_stay(bool declaresLength)
    {
        var clock = new FakeTimeProvider(Start);
        var tokens = new TestTokenFactory(clock);
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        keys.DeclareContentLength = declaresLength;
        var server = await StartServerAsync(
            options =>
            {
                Jwks(keys)(options);
                options.MaxKeyDocumentBytes = 64 * 1024;
            },
            keys,
            clock);
        using var metrics = new MetricCapture(server.Services);
        var token = tokens.Create(TestKeys.Primary, issuer: keys.Issuer, lifetime: TimeSpan.FromDays(1));
        await server.Probe.CallUnaryAsync(Auth.Bearer(token));

        keys.PublishJwks(Padded(4 * 1024 * 1024, TestKeys.Primary, TestKeys.Next));
        clock.Advance(TimeSpan.FromHours(12));
        await server.Logs.WaitForEventCountAsync("KeyRefreshFailedUsingLastKnownGood", 1).DefaultTimeout();

        var failed = Assert.Single(server.Logs.WithEvent("KeyRefreshFailedUsingLastKnownGood"));
        Assert.Contains("larger than 65536 bytes", failed.Exception?.Message, StringComparison.Ordinal);
        Assert.Contains("GrpcJwtAuth:MaxKeyDocumentBytes", failed.Exception?.Message, StringComparison.Ordinal);
        var refresh = metrics.Of("grpcjwtauth.keys.refreshes")[^1];
        Assert.Equal("failure", refresh.Tag("grpcjwtauth.outcome"));
        Assert.Equal("KeyDocumentTooLargeException", refresh.Tag("error.type"));
        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(token))).PrincipalAuthenticated);
    }

    [Fact]
    public async Task Key_set_larger_than_the_limit_at_startup_leaves_no_keys()
    {
        var keys = await StartKeyServerAsync();
        keys.PublishJwks(Padded(1024 * 1024, TestKeys.Primary));
        var server = await StartServerAsync(Jwks(keys), keys, expectedErrors: ["KeyRefreshFailedNoKeys"]);
        var token = new TestTokenFactory(TimeProvider.System).Create(TestKeys.Primary, issuer: keys.Issuer);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unavailable, Details.KeysUnavailable, token);
    }

    [Fact]
    public async Task Key_set_within_the_limit_is_used_whatever_its_padding()
    {
        var keys = await StartKeyServerAsync();
        keys.PublishJwks(Padded(100 * 1024, TestKeys.Primary));
        var server = await StartServerAsync(Jwks(keys), keys);
        var token = new TestTokenFactory(TimeProvider.System).Create(TestKeys.Primary, issuer: keys.Issuer);

        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(token))).PrincipalAuthenticated);
    }

    [Fact]
    public async Task Discovery_document_naming_another_issuer_is_not_used_and_is_logged_with_both_names()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        keys.DiscoveryIssuer = "https://evil.test";
        var server = await StartServerAsync(Discovery(keys), keys, expectedErrors: ["KeyRefreshFailedNoKeys", "DiscoveryIssuerMismatch"]);
        var tokens = new TestTokenFactory(TimeProvider.System);
        var evil = tokens.Create(TestKeys.Primary, issuer: "https://evil.test");
        var own = tokens.Create(TestKeys.Primary, issuer: keys.Issuer);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(evil)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, evil);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(own)), StatusCode.Unavailable, Details.KeysUnavailable, own);

        // Once at startup, once more for the call that found no keys.
        var mismatches = server.Logs.WithEvent("DiscoveryIssuerMismatch");
        Assert.NotEmpty(mismatches);
        Assert.All(mismatches, mismatch =>
        {
            Assert.Equal("https://evil.test", mismatch.GetStructuredStateValue("DocumentIssuer"));
            Assert.Equal(keys.Issuer, mismatch.GetStructuredStateValue("ExpectedIssuer"));
        });
        Assert.Equal(0, keys.JwksHits);
    }

    [Fact]
    public async Task Discovery_document_naming_its_authority_with_a_trailing_slash_is_used_and_that_spelling_accepted()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        keys.DiscoveryIssuer = keys.Issuer + "/";
        var server = await StartServerAsync(Discovery(keys), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        var withSlash = tokens.Create(TestKeys.Primary, issuer: keys.Issuer + "/");
        var withoutSlash = tokens.Create(TestKeys.Primary, issuer: keys.Issuer);

        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(withSlash))).PrincipalAuthenticated);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(withoutSlash)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, withoutSlash);
    }

    [Theory]
    [InlineData("plain http jwks_uri", "is not an https address")]
    [InlineData("no jwks_uri", "The discovery document names no jwks_uri.")]
    [InlineData("no issuer", "The discovery document names another issuer than the one it was fetched for")]
    public async Task Discovery_document_that_cannot_be_trusted_is_not_used(string flaw, string reason)
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        switch (flaw)
        {
            case "plain http jwks_uri":
                keys.DiscoveryJwksUri = $"http://127.0.0.1:{keys.Port}/jwks";
                break;
            case "no jwks_uri":
                keys.DiscoveryJwksUri = string.Empty;
                break;
            default:
                keys.DiscoveryIssuer = string.Empty;
                break;
        }

        var server = await StartServerAsync(Discovery(keys), keys, expectedErrors: ["KeyRefreshFailedNoKeys", "DiscoveryIssuerMismatch"]);
        var token = new TestTokenFactory(TimeProvider.System).Create(TestKeys.Primary, issuer: keys.Issuer);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unavailable, Details.KeysUnavailable, token);
        Assert.Contains(reason, server.Logs.WithEvent("KeyRefreshFailedNoKeys")[0].Exception?.Message, StringComparison.Ordinal);
        Assert.Equal(0, keys.JwksHits);
    }

    public static TheoryData<string, string> MisusedKeys() => new()
    {
        { "PS256 with a key declaring RS256", Details.AlgorithmNotAllowed },
        { "RS256 with a key declaring PS256", Details.AlgorithmNotAllowed },
        { "ES256 with a P-384 key", Details.AlgorithmNotAllowed },
        { "ES384 with a P-256 key", Details.AlgorithmNotAllowed },
        // A key whose declaration its curve contradicts verifies nothing: it is left out of the set.
        { "ES256 with a P-256 key declaring ES384", Details.KeyNotFound },
    };

    [Theory]
    [MemberData(nameof(MisusedKeys))]
    public async Task Key_is_used_only_for_the_algorithm_it_declares_and_its_curve_allows(string misuse, string detail)
    {
        var signer = misuse switch
        {
            "PS256 with a key declaring RS256" => TestSigningKey.Rsa("rsa-x", algorithm: SecurityAlgorithms.RsaSsaPssSha256, jwkAlgorithm: SecurityAlgorithms.RsaSha256),
            "RS256 with a key declaring PS256" => TestSigningKey.Rsa("rsa-x", jwkAlgorithm: SecurityAlgorithms.RsaSsaPssSha256),
            "ES256 with a P-384 key" => TestSigningKey.Ec("ec-x", SecurityAlgorithms.EcdsaSha256, ECCurve.NamedCurves.nistP384, jwkAlgorithm: string.Empty),
            "ES384 with a P-256 key" => TestSigningKey.Ec("ec-x", SecurityAlgorithms.EcdsaSha384, ECCurve.NamedCurves.nistP256, jwkAlgorithm: string.Empty),
            _ => TestSigningKey.Ec("ec-x", jwkAlgorithm: SecurityAlgorithms.EcdsaSha384),
        };
        var keys = await StartKeyServerAsync(signer, TestKeys.Primary);
        var server = await StartServerAsync(Jwks(keys), keys);
        var token = new TestTokenFactory(TimeProvider.System).Create(signer, issuer: keys.Issuer);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, detail, token);
    }

    [Fact]
    public async Task Key_declaring_no_algorithm_is_used_for_every_one_its_type_and_curve_allow()
    {
        var rsa = TestSigningKey.Rsa("rsa-x", algorithm: SecurityAlgorithms.RsaSsaPssSha384, jwkAlgorithm: string.Empty);
        var ec = TestSigningKey.Ec("ec-x", SecurityAlgorithms.EcdsaSha384, jwkAlgorithm: string.Empty);
        var keys = await StartKeyServerAsync(rsa, ec);
        var server = await StartServerAsync(Jwks(keys), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);

        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(rsa, issuer: keys.Issuer)))).PrincipalAuthenticated);
        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(ec, issuer: keys.Issuer)))).PrincipalAuthenticated);
    }

    [Fact]
    public async Task Rsa_key_under_2048_bits_is_skipped_and_logged_and_the_rest_of_the_set_is_used()
    {
        var weak = TestSigningKey.Rsa("rsa-1024", bits: 1024);
        var keys = await StartKeyServerAsync(weak, TestKeys.Primary);
        var server = await StartServerAsync(Jwks(keys), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        var forged = tokens.Create(weak, issuer: keys.Issuer);

        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)))).PrincipalAuthenticated);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(forged)), StatusCode.Unauthenticated, Details.KeyNotFound, forged);

        // At startup, and again at the refresh the forged token's kid caused.
        var skipped = server.Logs.WithEvent("KeySkipped");
        Assert.NotEmpty(skipped);
        Assert.All(skipped, line =>
        {
            Assert.Equal("rsa-1024", line.GetStructuredStateValue("KeyId"));
            Assert.Contains("1024-bit RSA", line.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Secrets_and_encryption_keys_in_a_key_set_are_never_used_to_verify()
    {
        var secret = TestSigningKey.Hmac("hs-x");
        var encryption = TestSigningKey.Rsa("rsa-enc");
        encryption.PublicJwk.Use = "enc";
        var keys = await StartKeyServerAsync(secret, encryption, TestKeys.Primary);
        var server = await StartServerAsync(Jwks(keys), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        var hmac = tokens.Create(secret, issuer: keys.Issuer);
        var enc = tokens.Create(encryption, issuer: keys.Issuer);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(hmac)), StatusCode.Unauthenticated, Details.AlgorithmNotAllowed, hmac);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(enc)), StatusCode.Unauthenticated, Details.KeyNotFound, enc);
    }

    [Fact]
    public async Task Newly_published_kid_is_fetched_on_its_first_call_even_next_to_a_key_without_kid()
    {
        // A key without a kid is tried for any token; it must not make every kid look known, or rotation would wait
        // for the next scheduled refresh.
        var kidless = TestSigningKey.Ec(keyId: null);
        var keys = await StartKeyServerAsync(kidless, TestKeys.Primary);
        var server = await StartServerAsync(Jwks(keys), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));

        keys.Publish(kidless, TestKeys.Primary, TestKeys.Next);
        var rotated = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Next, subject: "nina", issuer: keys.Issuer)));

        Assert.Equal("nina", rotated.Subject);
        Assert.Equal(2, keys.JwksHits);
    }

    [Fact]
    public async Task Newly_published_kid_is_fetched_on_its_first_call_next_to_a_static_key_without_kid()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(
            options =>
            {
                Discovery(keys)(options);
                options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = TestKeys.Ec.PublicPem, Issuer = "https://services.test" });
            },
            keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));

        keys.Publish(TestKeys.Primary, TestKeys.Next);
        var rotated = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Next, subject: "otto", issuer: keys.Issuer)));

        Assert.Equal("otto", rotated.Subject);
        Assert.Equal(2, keys.JwksHits);
    }

    [Fact]
    public async Task Key_set_with_more_keys_than_the_limit_is_a_failed_fetch()
    {
        var many = Enumerable.Range(0, 101).Select(i => TestSigningKey.Ec("ec-" + i)).ToArray();
        var keys = await StartKeyServerAsync(many);
        var server = await StartServerAsync(Jwks(keys), keys, expectedErrors: ["KeyRefreshFailedNoKeys"]);
        var token = new TestTokenFactory(TimeProvider.System).Create(many[0], issuer: keys.Issuer);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unavailable, Details.KeysUnavailable, token);
        var failed = server.Logs.WithEvent("KeyRefreshFailedNoKeys")[0];
        Assert.Contains("101 keys; at most 100", failed.Exception?.Message, StringComparison.Ordinal);
    }
}
