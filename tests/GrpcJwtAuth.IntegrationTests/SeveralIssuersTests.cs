using System.Net.Security;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// Several trust domains at once (<see cref="GrpcJwtAuthOptions.TrustedIssuers"/>), each with its own key source over
/// TLS or static keys, audiences and claim types: <c>users</c> (an identity provider with discovery), <c>partner</c>
/// (a bare JWKS endpoint), <c>workloads</c> (a static EC key) and <c>tenants</c> (a multi-tenant template whose tenants
/// share a JWKS endpoint). A token's <c>iss</c> picks exactly one of them before any key is looked at.
/// </summary>
public class SeveralIssuersTests : IntegrationTest
{
    private const string Workloads = "spiffe://workloads.test";
    private const string Partner = "https://partner.test";
    private const string TenantTemplate = "https://login.tenants.test/{tenantid}/v2.0";
    private const string UsersAudience = "api://users";
    private const string WorkloadsAudience = "api://workloads";

    private static readonly TestSigningKey UsersKey = TestSigningKey.Rsa("users-1");
    private static readonly TestSigningKey UsersNextKey = TestSigningKey.Rsa("users-2");
    private static readonly TestSigningKey PartnerKey = TestSigningKey.Rsa("partner-1");
    private static readonly TestSigningKey TenantsKey = TestSigningKey.Ec("tenants-1");
    private static readonly TestSigningKey WorkloadsKey = TestSigningKey.Ec("workloads-1");
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private KeyServer _users = null!;
    private KeyServer _partner = null!;
    private KeyServer _tenants = null!;

    [Fact]
    public async Task Each_issuers_tokens_are_accepted_and_the_caller_names_its_issuer()
    {
        var server = await StartAsync();

        // A tenant claim in the token itself is not the caller's tenant: only a template's accepted iss gives one.
        var user = await server.Probe.CallUnaryAsync(Auth.Bearer(UserToken(new()
        {
            ["groups"] = new[] { "admin" },
            [GrpcJwtAuthDefaults.TenantClaimType] = "contoso",
        })));
        var workload = await server.Probe.CallUnaryAsync(Auth.Bearer(WorkloadToken()));
        var partner = await server.Probe.CallUnaryAsync(Auth.Bearer(PartnerToken()));
        var tenant = await server.Probe.CallUnaryAsync(Auth.Bearer(TenantToken("contoso")));

        Assert.Equal(["users", "workloads", "partner", "tenants"], new[] { user.IssuerName, workload.IssuerName, partner.IssuerName, tenant.IssuerName });
        Assert.Equal(["admin"], user.Roles);
        Assert.Equal(("contoso", "contoso"), (tenant.Tenant, tenant.TenantClaim));
        Assert.Equal((string.Empty, string.Empty), (user.Tenant, user.TenantClaim));
    }

    public static TheoryData<string, string, string> Impersonations() => new()
    {
        // The users' iss with the partner's key: not among the users' keys (after one refresh for the unknown kid).
        { "users", "partner", Details.KeyNotFound },
        // The workloads' iss with an RSA key: the workloads' only key is EC.
        { "workloads", "users", Details.AlgorithmNotAllowed },
        // The partner's iss with the workloads' EC key, and a tenant's iss with the partner's key.
        { "partner", "workloads", Details.KeyNotFound },
        { "tenants", "partner", Details.KeyNotFound },
    };

    [Theory]
    [MemberData(nameof(Impersonations))]
    public async Task Token_naming_one_issuer_signed_with_another_issuers_key_is_rejected(string claimed, string signer, string detail)
    {
        var server = await StartAsync();
        var key = signer switch { "users" => UsersKey, "partner" => PartnerKey, _ => WorkloadsKey };
        var (issuer, audience) = claimed switch
        {
            "users" => (_users.Issuer, UsersAudience),
            "workloads" => (Workloads, WorkloadsAudience),
            "partner" => (Partner, TestTokenFactory.DefaultAudience),
            _ => (TenantIssuer("contoso"), TestTokenFactory.DefaultAudience),
        };
        var forged = Tokens.Create(key, issuer: issuer, audience: audience);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(forged)), StatusCode.Unauthenticated, detail, forged);
    }

    [Fact]
    public async Task Unknown_iss_and_unlisted_tenant_are_rejected_without_any_fetch()
    {
        var server = await StartAsync();
        // One call per remote issuer, so each has its keys (its start-up fetch cannot land after the count is read).
        await server.Probe.CallUnaryAsync(Auth.Bearer(UserToken()));
        await server.Probe.CallUnaryAsync(Auth.Bearer(PartnerToken()));
        await server.Probe.CallUnaryAsync(Auth.Bearer(TenantToken("contoso")));
        var before = (_users.TotalHits, _partner.TotalHits, _tenants.TotalHits);

        // New kids too, so that an issuer that looked would have to fetch.
        var unknown = Tokens.Create(TestSigningKey.Rsa("nobody-1"), issuer: "https://nobody.test");
        var unlisted = Tokens.Create(TestSigningKey.Ec("evil-1"), issuer: TenantIssuer("evil"));
        var badShape = Tokens.Create(TestSigningKey.Ec("evil-2"), issuer: TenantIssuer("a/b"));

        foreach (var token in new[] { unknown, unlisted, badShape })
        {
            await Rejection.AssertAsync(
                () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, token);
        }

        Assert.Equal(before, (_users.TotalHits, _partner.TotalHits, _tenants.TotalHits));
    }

    [Fact]
    public async Task Audiences_and_role_claims_are_each_issuers_own()
    {
        var server = await StartAsync();
        var userForWorkloads = Tokens.Create(UsersKey, issuer: _users.Issuer, audience: WorkloadsAudience);
        var workloadForUsers = Tokens.Create(WorkloadsKey, issuer: Workloads, audience: UsersAudience);
        var groups = new Dictionary<string, object> { ["groups"] = new[] { "admin" }, ["roles"] = new[] { "reader" } };

        var user = await server.Probe.CallUnaryAsync(Auth.Bearer(UserToken(groups)));
        var workload = await server.Probe.CallUnaryAsync(Auth.Bearer(Tokens.Create(WorkloadsKey, issuer: Workloads, audience: WorkloadsAudience, claims: groups)));

        // users map "groups" to roles; workloads keep the default "roles"; the partner inherits the top-level audience.
        Assert.Equal(["admin"], user.Roles);
        Assert.Equal(["reader"], workload.Roles);
        Assert.Equal("partner", (await server.Probe.CallUnaryAsync(Auth.Bearer(PartnerToken()))).IssuerName);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(userForWorkloads)), StatusCode.Unauthenticated, Details.AudienceNotAccepted, userForWorkloads);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(workloadForUsers)), StatusCode.Unauthenticated, Details.AudienceNotAccepted, workloadForUsers);
    }

    [Fact]
    public async Task Clock_skew_is_each_issuers_own()
    {
        // Expired 15 s ago: within the top level's 30 s the users inherit, beyond the 5 s the workloads set.
        var server = await StartAsync(options => options.TrustedIssuers["workloads"].ClockSkew = TimeSpan.FromSeconds(5));
        var lifetime = TimeSpan.FromSeconds(-15);
        var user = Tokens.Create(UsersKey, issuer: _users.Issuer, audience: UsersAudience, lifetime: lifetime);
        var workload = Tokens.Create(WorkloadsKey, issuer: Workloads, audience: WorkloadsAudience, lifetime: lifetime);

        Assert.Equal("users", (await server.Probe.CallUnaryAsync(Auth.Bearer(user))).IssuerName);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(workload)), StatusCode.Unauthenticated, Details.TokenExpired, workload);
    }

    [Fact]
    public async Task One_issuers_outage_leaves_the_others_working_and_degrades_the_health_check()
    {
        _partner = await StartKeyServerAsync(PartnerKey);
        await _partner.StopAsync();
        var server = await StartAsync(keepPartner: true, expectedErrors: ["KeyRefreshFailedNoKeys"]);

        var user = await server.Probe.CallUnaryAsync(Auth.Bearer(UserToken()));
        var workload = await server.Probe.CallUnaryAsync(Auth.Bearer(WorkloadToken()));
        var partner = PartnerToken();
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(partner)), StatusCode.Unavailable, Details.KeysUnavailable, partner);
        var health = await server.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(("users", "workloads"), (user.IssuerName, workload.IssuerName));
        var entry = health.Entries[GrpcJwtAuthDefaults.KeysHealthCheckName];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("Issuer partner: No signing keys are held", entry.Description, StringComparison.Ordinal);
        Assert.Contains("Issuer users: Validating with", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_issuer_rotates_its_keys_and_the_others_are_not_fetched()
    {
        var server = await StartAsync();
        using var metrics = new MetricCapture(server.Services);
        await server.Probe.CallUnaryAsync(Auth.Bearer(UserToken()));
        await server.Probe.CallUnaryAsync(Auth.Bearer(PartnerToken()));
        var partnerHits = _partner.TotalHits;

        _users.Publish(UsersKey, UsersNextKey);
        var rotated = await server.Probe.CallUnaryAsync(Auth.Bearer(Tokens.Create(UsersNextKey, issuer: _users.Issuer, audience: UsersAudience)));
        await server.Probe.CallUnaryAsync(Auth.Bearer(TenantToken("contoso"))); // the tenants' keys are loaded by now too
        metrics.RecordObservableInstruments();

        Assert.Equal("users", rotated.IssuerName);
        Assert.Equal(partnerHits, _partner.TotalHits);
        Assert.Equal("partner", (await server.Probe.CallUnaryAsync(Auth.Bearer(PartnerToken()))).IssuerName);

        // Key metrics carry each issuer's name.
        var refresh = Assert.Single(metrics.Of("grpcjwtauth.keys.refreshes"), m => m.Tag("grpcjwtauth.keys.trigger") == "unknown_key");
        Assert.Equal("users", refresh.Tag("grpcjwtauth.issuer"));
        var held = metrics.Of("grpcjwtauth.keys.held").ToDictionary(m => m.Tag("grpcjwtauth.issuer")!, m => m.Value);
        Assert.Equal(2, held["users"]);
        Assert.Equal(1, held["partner"]);
        Assert.Equal(1, held["workloads"]);
        Assert.Equal(1, held["tenants"]);
    }

    [Fact]
    public async Task Rules_and_policies_can_require_an_issuer()
    {
        var server = await StartAsync(
            configure: options => options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Admin", Issuers = { "users" } }),
            probeConventions: probe => probe.RequireAuthorization(policy => policy.RequireIssuer("users", "tenants")));
        var workload = WorkloadToken();
        var tenant = TenantToken("contoso");

        Assert.Equal("users", (await server.Probe.CallAdminAsync(Auth.Bearer(UserToken()))).IssuerName);
        Assert.Equal("tenants", (await server.Probe.CallUnaryAsync(Auth.Bearer(tenant))).IssuerName);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(workload)), StatusCode.PermissionDenied, Details.IssuerNotAllowed, workload);
        await Rejection.AssertAsync(
            () => server.Probe.CallAdminAsync(Auth.Bearer(tenant)), StatusCode.PermissionDenied, Details.IssuerNotAllowed, tenant);
    }

    [Fact]
    public async Task Tenants_with_keys_of_their_own_are_fetched_each_from_its_own_address_and_only_when_listed()
    {
        // The tenant id is the port of its key server: each listed tenant has its own JWKS address.
        var firstKey = TestSigningKey.Rsa("t1-1");
        var secondKey = TestSigningKey.Rsa("t2-1");
        var first = await StartKeyServerAsync(firstKey);
        var second = await StartKeyServerAsync(secondKey);
        var server = await StartServerAsync(
            options =>
            {
                var tenants = new GrpcJwtAuthIssuerOptions { IssuerTemplate = "https://per-tenant.test/{tenantid}", JwksUri = "https://127.0.0.1:{tenantid}/jwks" };
                tenants.Tenants.Add(first.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
                tenants.Tenants.Add(second.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
                tenants.Audiences.Add(TestTokenFactory.DefaultAudience);
                options.TrustedIssuers["tenants"] = tenants;
            },
            configureBuilder: builder => TrustKeyServers(builder, first, second));
        string Issuer(KeyServer keys) => $"https://per-tenant.test/{keys.Port}";

        var one = await server.Probe.CallUnaryAsync(Auth.Bearer(Tokens.Create(firstKey, issuer: Issuer(first))));
        var two = await server.Probe.CallUnaryAsync(Auth.Bearer(Tokens.Create(secondKey, issuer: Issuer(second))));
        var crossed = Tokens.Create(firstKey, issuer: Issuer(second));
        var unlisted = Tokens.Create(firstKey, issuer: "https://per-tenant.test/1");

        Assert.Equal((first.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), second.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), (one.Tenant, two.Tenant));
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(crossed)), StatusCode.Unauthenticated, Details.KeyNotFound, crossed);
        var hits = first.TotalHits + second.TotalHits;
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(unlisted)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, unlisted);
        Assert.Equal(hits, first.TotalHits + second.TotalHits);
    }

    private async Task<GrpcTestServer> StartAsync(
        Action<GrpcJwtAuthOptions>? configure = null,
        Action<Microsoft.AspNetCore.Builder.GrpcServiceEndpointConventionBuilder>? probeConventions = null,
        bool keepPartner = false,
        IEnumerable<string>? expectedErrors = null)
    {
        _users = await StartKeyServerAsync(UsersKey);
        _partner = keepPartner ? _partner : await StartKeyServerAsync(PartnerKey);
        _tenants = await StartKeyServerAsync(TenantsKey);
        return await StartServerAsync(
            options =>
            {
                options.Audiences.Add(TestTokenFactory.DefaultAudience);

                var users = new GrpcJwtAuthIssuerOptions { Authority = _users.Issuer };
                users.Audiences.Add(UsersAudience);
                users.RoleClaimTypes.Add("groups");
                options.TrustedIssuers["users"] = users;

                var workloads = new GrpcJwtAuthIssuerOptions();
                workloads.Issuers.Add(Workloads);
                workloads.Audiences.Add(WorkloadsAudience);
                workloads.StaticKeys.Add(WorkloadsKey.ToStaticKey());
                options.TrustedIssuers["workloads"] = workloads;

                var partner = new GrpcJwtAuthIssuerOptions { JwksUri = _partner.JwksUri };
                partner.Issuers.Add(Partner);
                options.TrustedIssuers["partner"] = partner;

                var tenants = new GrpcJwtAuthIssuerOptions { IssuerTemplate = TenantTemplate, JwksUri = _tenants.JwksUri };
                tenants.Tenants.Add("contoso");
                tenants.Tenants.Add("fabrikam");
                options.TrustedIssuers["tenants"] = tenants;
                configure?.Invoke(options);
            },
            expectedErrors: expectedErrors,
            probeConventions: probeConventions,
            configureBuilder: builder =>
            {
                TrustKeyServers(builder, _users, _partner, _tenants);
                builder.Services.AddHealthChecks().AddGrpcJwtAuthKeys();
            });
    }

    /// <summary>The backchannel trusts each of these key servers' certificates, and nothing else.</summary>
    private static void TrustKeyServers(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder, params KeyServer[] servers) =>
        builder.Services.AddHttpClient(GrpcJwtAuthDefaults.BackchannelHttpClientName).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => servers.Any(server => server.Certificate.Matches(presented)),
            },
        });

    private string UserToken(Dictionary<string, object>? claims = null) =>
        Tokens.Create(UsersKey, issuer: _users.Issuer, audience: UsersAudience, claims: claims);

    private static string WorkloadToken() => Tokens.Create(WorkloadsKey, issuer: Workloads, audience: WorkloadsAudience);

    private static string PartnerToken() => Tokens.Create(PartnerKey, issuer: Partner);

    private static string TenantToken(string tenant) => Tokens.Create(TenantsKey, issuer: TenantIssuer(tenant));

    private static string TenantIssuer(string tenant) => TenantTemplate.Replace("{tenantid}", tenant, StringComparison.Ordinal);
}
