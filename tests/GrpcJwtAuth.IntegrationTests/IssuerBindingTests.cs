using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// A key is good only for the issuer that published it (RFC 8725 section 3.8): with an identity provider (discovery),
/// a static service key and a shared HS256 secret configured together, a token is checked against the keys of the
/// issuer its <c>iss</c> names and no other, so holding one issuer's key never lets anyone speak for another.
/// </summary>
public class IssuerBindingTests : IntegrationTest
{
    private const string Services = "https://services.test";
    private const string Partner = "https://partner.test";

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);
    private static readonly Dictionary<string, object> Admin = new() { ["roles"] = new[] { "admin" } };

    private static Action<GrpcJwtAuthOptions> ThreeIssuers(KeyServer idp) => options =>
    {
        options.Authority = idp.Issuer;
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = TestKeys.Ec.KeyId, Pem = TestKeys.Ec.PublicPem, Issuer = Services });
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = TestKeys.Hmac.KeyId, SymmetricSecret = TestKeys.Hmac.SecretBase64, Issuer = Partner });
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Admin", Roles = { "admin" } });
    };

    [Fact]
    public async Task Static_key_without_an_issuer_next_to_a_key_endpoint_is_refused_at_startup_naming_the_key()
    {
        var idp = await StartKeyServerAsync(TestKeys.Primary);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartServerAsync(options =>
        {
            options.Authority = idp.Issuer;
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
            options.StaticKeys.Add(TestKeys.Ec.ToStaticKey());
            options.StaticKeys.Add(TestKeys.Hmac.ToStaticKey());
        }, idp));

        Assert.Contains(
            "GrpcJwtAuth:StaticKeys:0:Issuer is empty; a static key next to GrpcJwtAuth:Authority must name the issuer (iss) it signs for",
            error.Message,
            StringComparison.Ordinal);
        Assert.Contains("GrpcJwtAuth:StaticKeys:1:Issuer is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_issuer_is_accepted_with_its_own_key()
    {
        var idp = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(ThreeIssuers(idp), idp);

        Assert.Equal("user-1", (await server.Probe.CallAdminAsync(Auth.Bearer(Tokens.Create(TestKeys.Primary, issuer: idp.Issuer, claims: Admin)))).Subject);
        Assert.Equal("user-1", (await server.Probe.CallAdminAsync(Auth.Bearer(Tokens.Create(TestKeys.Ec, issuer: Services, claims: Admin)))).Subject);
        Assert.Equal("user-1", (await server.Probe.CallAdminAsync(Auth.Bearer(Tokens.Create(TestKeys.Hmac, issuer: Partner, claims: Admin)))).Subject);
    }

    public static TheoryData<string, string, string> Impersonations() => new()
    {
        // The identity provider's name, signed by the static service key or the shared secret.
        { "idp", "ec", Details.KeyNotFound },
        { "idp", "hmac", Details.AlgorithmNotAllowed },
        // The service issuer's name, signed by the identity provider's key or the shared secret: its only key is EC.
        { "services", "idp", Details.AlgorithmNotAllowed },
        { "services", "hmac", Details.AlgorithmNotAllowed },
        // The partner's name, signed by an asymmetric key it does not own.
        { "partner", "ec", Details.AlgorithmNotAllowed },
        { "partner", "idp", Details.AlgorithmNotAllowed },
    };

    [Theory]
    [MemberData(nameof(Impersonations))]
    public async Task Token_naming_one_issuer_signed_with_another_issuers_key_is_rejected(string claimed, string signer, string detail)
    {
        var idp = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(ThreeIssuers(idp), idp);
        var issuer = claimed switch { "idp" => idp.Issuer, "services" => Services, _ => Partner };
        var key = signer switch { "idp" => TestKeys.Primary, "ec" => TestKeys.Ec, _ => TestKeys.Hmac };
        var forged = Tokens.Create(key, subject: "mallory", issuer: issuer, claims: Admin);

        await Rejection.AssertAsync(() => server.Probe.CallAdminAsync(Auth.Bearer(forged)), StatusCode.Unauthenticated, detail, forged);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Token_signed_by_a_kid_less_static_key_is_not_accepted_for_the_identity_provider()
    {
        // The identity provider has an ES256 key too, so the algorithm is fine: only the key decides.
        var idp = await StartKeyServerAsync(TestKeys.Primary, TestSigningKey.Ec("idp-ec"));
        var server = await StartServerAsync(options =>
        {
            options.Authority = idp.Issuer;
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = TestKeys.Ec.PublicPem, Issuer = Services });
        }, idp);
        var kidless = TestKeys.Ec;
        var forged = TestTokenFactory.SignRaw(
            "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
            $"{{\"iss\":\"{idp.Issuer}\",\"aud\":\"{TestTokenFactory.DefaultAudience}\",\"sub\":\"mallory\",\"exp\":{DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()}}}",
            kidless);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(forged)), StatusCode.Unauthenticated, Details.KeyNotFound, forged);
    }

    [Fact]
    public async Task Token_naming_no_configured_issuer_is_rejected_without_any_key_fetch()
    {
        var idp = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(ThreeIssuers(idp), idp);
        await server.Probe.CallUnaryAsync(Auth.Bearer(Tokens.Create(TestKeys.Primary, issuer: idp.Issuer)));
        var fetches = idp.TotalHits;

        for (var i = 0; i < 20; i++)
        {
            var stranger = Tokens.Create(TestSigningKey.Rsa("unknown-" + i), issuer: "https://stranger.test/" + i);
            await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(stranger)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, stranger);
        }

        Assert.Equal(fetches, idp.TotalHits);
    }

    [Fact]
    public async Task Issuers_are_matched_exactly()
    {
        var idp = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(ThreeIssuers(idp), idp);

        foreach (var variant in new[] { Services + "/", "HTTPS://SERVICES.TEST", Services + " ", Services[..^1] })
        {
            var token = Tokens.Create(TestKeys.Ec, issuer: variant);
            await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, token);
        }
    }
}
