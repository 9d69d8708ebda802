using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>Keys fetched from a key server: OIDC discovery and direct JWKS, rotation, outages and recovery.</summary>
public class RemoteKeyTests : IntegrationTest
{
    public enum Source
    {
        /// <summary><c>Authority</c> set, <c>Issuers</c> empty: the discovery document names JWKS and issuer.</summary>
        Discovery,

        /// <summary><c>JwksUri</c> set, with the issuer configured.</summary>
        Jwks,
    }

    public enum Outage
    {
        /// <summary>The port is closed: connection refused.</summary>
        Stopped,

        /// <summary>Every request gets a 500.</summary>
        ServerError,

        /// <summary>Every request gets a 200 whose body is not JSON.</summary>
        MalformedJson,
    }

    private const string KeyRefreshFailedNoKeys = "KeyRefreshFailedNoKeys";

    private static readonly DateTimeOffset Start = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    public static TheoryData<Source, Outage> Outages()
    {
        var data = new TheoryData<Source, Outage>();
        foreach (var source in Enum.GetValues<Source>())
        {
            foreach (var outage in Enum.GetValues<Outage>())
            {
                data.Add(source, outage);
            }
        }

        return data;
    }

    private static Action<GrpcJwtAuthOptions> RemoteOptions(KeyServer keys, Source source) => options =>
    {
        if (source == Source.Discovery)
        {
            options.Authority = keys.Issuer;
        }
        else
        {
            options.JwksUri = keys.JwksUri;
            options.Issuers.Add(keys.Issuer);
        }

        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        options.KeyRefreshWaitTimeout = TimeSpan.FromSeconds(5);
        options.JwksMinimumRefreshInterval = TimeSpan.FromMinutes(1);
    };

    /// <summary>The path whose request fails first when the key source is down.</summary>
    private static string FirstPath(Source source) => source == Source.Discovery ? KeyServer.DiscoveryPath : KeyServer.JwksPath;

    private static Task StartOutageAsync(KeyServer keys, Outage outage)
    {
        switch (outage)
        {
            case Outage.Stopped:
                return keys.StopAsync();
            case Outage.ServerError:
                keys.SetBehavior(KeyServerBehavior.Fail);
                return Task.CompletedTask;
            default:
                keys.SetBehavior(KeyServerBehavior.Malformed);
                return Task.CompletedTask;
        }
    }

    private static Task EndOutageAsync(KeyServer keys, Outage outage)
    {
        if (outage == Outage.Stopped)
        {
            return keys.RestartAsync();
        }

        keys.SetBehavior(KeyServerBehavior.Serve);
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(Source.Discovery)]
    [InlineData(Source.Jwks)]
    public async Task Token_is_accepted_once_keys_are_fetched_and_keys_are_fetched_once(Source source)
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RemoteOptions(keys, source), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);

        var first = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "dave", issuer: keys.Issuer)));
        var second = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "erin", issuer: keys.Issuer)));

        Assert.Equal("dave", first.Subject);
        Assert.Equal("erin", second.Subject);
        Assert.Equal(1, keys.JwksHits);
        Assert.Equal(source == Source.Discovery ? 1 : 0, keys.Hits(KeyServer.DiscoveryPath));
    }

    [Fact]
    public async Task Discovery_issuer_is_the_only_issuer_accepted_when_Issuers_is_empty()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RemoteOptions(keys, Source.Discovery), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        var foreign = tokens.Create(TestKeys.Primary, issuer: TestTokenFactory.DefaultIssuer);

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(foreign)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, foreign);
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));

        Assert.True(reply.PrincipalAuthenticated);
    }

    [Theory]
    [InlineData(Source.Discovery)]
    [InlineData(Source.Jwks)]
    public async Task Token_signed_with_a_newly_published_key_is_accepted_on_its_first_call_after_one_refresh(Source source)
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RemoteOptions(keys, source), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));
        Assert.Equal(1, keys.JwksHits);

        keys.Publish(TestKeys.Primary, TestKeys.Next);
        var rotated = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Next, subject: "frank", issuer: keys.Issuer)));
        var previous = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "grace", issuer: keys.Issuer)));

        Assert.Equal("frank", rotated.Subject);
        Assert.Equal("grace", previous.Subject);
        Assert.Equal(2, keys.JwksHits);
        Assert.Equal(source == Source.Discovery ? 2 : 0, keys.Hits(KeyServer.DiscoveryPath));
    }

    [Theory]
    [InlineData(Source.Discovery)]
    [InlineData(Source.Jwks)]
    public async Task Token_signed_with_a_removed_key_is_rejected_after_the_next_refresh_even_though_it_was_cached(Source source)
    {
        var clock = new FakeTimeProvider(Start);
        var tokens = new TestTokenFactory(clock);
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(
            options =>
            {
                RemoteOptions(keys, source)(options);

                // Long enough that, without the key-set check, the cached validation would still be served below.
                options.TokenCacheMaxEntryLifetime = TimeSpan.FromDays(2);
            },
            keys,
            clock);
        var lifetime = TimeSpan.FromDays(3);
        var old = tokens.Create(TestKeys.Primary, subject: "oscar", issuer: keys.Issuer, lifetime: lifetime);

        // Validated once, then served from the validated-token cache.
        Assert.Equal("oscar", (await server.Probe.CallUnaryAsync(Auth.Bearer(old))).Subject);
        Assert.Equal("oscar", (await server.Probe.CallUnaryAsync(Auth.Bearer(old))).Subject);

        // Overlap: both keys published, both accepted.
        keys.Publish(TestKeys.Primary, TestKeys.Next);
        var next = tokens.Create(TestKeys.Next, subject: "peggy", issuer: keys.Issuer, lifetime: lifetime);
        Assert.Equal("peggy", (await server.Probe.CallUnaryAsync(Auth.Bearer(next))).Subject);
        Assert.Equal("oscar", (await server.Probe.CallUnaryAsync(Auth.Bearer(old))).Subject);

        // The old key leaves the set; the next scheduled refresh picks that up.
        keys.Publish(TestKeys.Next);
        var jwksBefore = keys.JwksHits;
        clock.Advance(TimeSpan.FromHours(12));
        await server.Logs.WaitForEventCountAsync("KeysRefreshed", 3).DefaultTimeout();
        Assert.Equal(jwksBefore + 1, keys.JwksHits);

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(old)), StatusCode.Unauthenticated, Details.KeyNotFound, old);
        Assert.Equal("peggy", (await server.Probe.CallUnaryAsync(Auth.Bearer(next))).Subject);
    }

    [Theory]
    [MemberData(nameof(Outages))]
    public async Task Key_source_going_down_after_warm_up_leaves_known_keys_working(Source source, Outage outage)
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RemoteOptions(keys, source), keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));

        await StartOutageAsync(keys, outage);
        var hitsBefore = keys.Hits(FirstPath(source));

        // An unknown kid makes the server refresh; the refresh fails and the keys it held stay in use. The caller is
        // told to retry (Unavailable): it may well hold a key the source published just before going down.
        var unknown = tokens.Create(TestKeys.Next, issuer: keys.Issuer);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(unknown)), StatusCode.Unavailable, Details.KeyNotFoundSourceUnavailable, unknown);
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "heidi", issuer: keys.Issuer)));

        Assert.Equal("heidi", reply.Subject);
        Assert.Single(server.Logs.WithEvent("KeyRefreshFailedUsingLastKnownGood"));
        Assert.Empty(server.Logs.WithEvent(KeyRefreshFailedNoKeys));
        Assert.Equal(outage == Outage.Stopped ? hitsBefore : hitsBefore + 1, keys.Hits(FirstPath(source)));
    }

    [Theory]
    [MemberData(nameof(Outages))]
    public async Task Key_source_down_at_startup_gives_Unavailable_then_the_server_recovers_by_itself(Source source, Outage outage)
    {
        var clock = new FakeTimeProvider(Start);
        var tokens = new TestTokenFactory(clock);
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        await StartOutageAsync(keys, outage);
        var server = await StartServerAsync(RemoteOptions(keys, source), keys, clock, expectedErrors: [KeyRefreshFailedNoKeys]);
        var token = tokens.Create(TestKeys.Primary, subject: "ivan", issuer: keys.Issuer);

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unavailable, Details.KeysUnavailable, token);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unavailable, Details.KeysUnavailable, token);
        Assert.Equal(0, server.Entries.Total);

        // Two fetches failed: the one at startup and one refresh for the first call's kid (whichever call made it);
        // the other call's refresh was suppressed by the minimum interval. Each rejected call waited for the fetch it
        // joined or started, so both have finished and the retry timer is armed: 1 s after the first failure,
        // doubled after the second, all on the fake clock.
        Assert.Equal(2, server.Logs.WithEvent(KeyRefreshFailedNoKeys).Count);
        var jwksBefore = keys.JwksHits;
        await EndOutageAsync(keys, outage);

        clock.Advance(TimeSpan.FromSeconds(2));
        await keys.WaitForHitsAsync(KeyServer.JwksPath, jwksBefore + 1).DefaultTimeout();
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(token));

        Assert.Equal("ivan", reply.Subject);
        Assert.Equal(jwksBefore + 1, keys.JwksHits);

        // The new keys are in use before the refresh logs them: a call can pass first.
        await server.Logs.WaitForEventCountAsync("KeysRefreshed", 1).DefaultTimeout();
        var refreshed = Assert.Single(server.Logs.WithEvent("KeysRefreshed"));
        Assert.Equal("Scheduled", refreshed.GetStructuredStateValue("Trigger"));
    }

    [Theory]
    [InlineData("empty set", "{\"keys\":[]}")]
    [InlineData("only an unsupported key type", "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}")]
    [InlineData("an RSA key without modulus", "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"broken\",\"e\":\"AQAB\"}]}")]
    [InlineData("not an object", "[1,2,3]")]
    [InlineData("keys not an array", "{\"keys\":\"none\"}")]
    public async Task Unusable_key_set_leaves_the_last_good_keys_in_use(string name, string jwks)
    {
        Assert.NotEmpty(name);
        var clock = new FakeTimeProvider(Start);
        var tokens = new TestTokenFactory(clock);
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RemoteOptions(keys, Source.Jwks), keys, clock);
        Assert.Equal("rita", (await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "rita", issuer: keys.Issuer)))).Subject);

        keys.PublishJwks(jwks);
        var unknown = tokens.Create(TestKeys.Next, issuer: keys.Issuer);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(unknown)), StatusCode.Unavailable, Details.KeyNotFoundSourceUnavailable, unknown);

        Assert.Equal(2, keys.JwksHits);
        Assert.Single(server.Logs.WithEvent("KeyRefreshFailedUsingLastKnownGood"));
        Assert.Equal("sam", (await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "sam", issuer: keys.Issuer)))).Subject);
    }

    [Fact]
    public async Task Flapping_key_source_never_loses_known_keys_and_picks_up_new_ones_when_it_answers()
    {
        var clock = new FakeTimeProvider(Start);
        var tokens = new TestTokenFactory(clock);
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RemoteOptions(keys, Source.Jwks), keys, clock);
        var minimumInterval = TimeSpan.FromMinutes(1);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));
        keys.Publish(TestKeys.Primary, TestKeys.Next);

        // Down, up with a bad document, down again: each unknown-kid refresh fails, known keys keep working.
        KeyServerBehavior[] failures = [KeyServerBehavior.Fail, KeyServerBehavior.Malformed, KeyServerBehavior.Fail];
        foreach (var failure in failures)
        {
            keys.SetBehavior(failure);
            clock.Advance(minimumInterval);
            var next = tokens.Create(TestKeys.Next, issuer: keys.Issuer);
            await Rejection.AssertAsync(
                () => server.Probe.CallUnaryAsync(Auth.Bearer(next)), StatusCode.Unavailable, Details.KeyNotFoundSourceUnavailable, next);
            var known = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "tom", issuer: keys.Issuer)));
            Assert.Equal("tom", known.Subject);
        }

        // Up again: the next unknown-kid call after the minimum interval fetches and is accepted.
        keys.SetBehavior(KeyServerBehavior.Serve);
        clock.Advance(minimumInterval);
        var accepted = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Next, subject: "uma", issuer: keys.Issuer)));

        // Advancing the clock also fires the retry timer the failed refreshes armed, so the exact number of fetches
        // depends on timing; what must hold is above: no known key lost, the new key taken once the source answers.
        Assert.Equal("uma", accepted.Subject);
        Assert.True(server.Logs.WithEvent("KeyRefreshFailedUsingLastKnownGood").Count >= failures.Length);
        Assert.Empty(server.Logs.WithEvent(KeyRefreshFailedNoKeys));
    }

    [Fact]
    public async Task Unknown_kid_while_the_source_is_down_stays_Unavailable_when_the_refresh_is_suppressed_and_becomes_KeyNotFound_once_it_answers()
    {
        var clock = new FakeTimeProvider(Start);
        var tokens = new TestTokenFactory(clock);
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RemoteOptions(keys, Source.Jwks), keys, clock);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));
        var forged = tokens.Create(TestSigningKey.Rsa("never-published"), issuer: keys.Issuer);

        keys.SetBehavior(KeyServerBehavior.Fail);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(forged)), StatusCode.Unavailable, Details.KeyNotFoundSourceUnavailable, forged);

        // Within the minimum interval no refresh runs; the last one failed, so the answer stays "retry".
        var hits = keys.JwksHits;
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(forged)), StatusCode.Unavailable, Details.KeyNotFoundSourceUnavailable, forged);
        Assert.Equal(hits, keys.JwksHits);

        // The source answers again, without that kid: now the key is known not to exist.
        keys.SetBehavior(KeyServerBehavior.Serve);
        clock.Advance(TimeSpan.FromMinutes(1));
        await server.Logs.WaitForEventCountAsync("KeysRefreshed", 2).DefaultTimeout();
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(forged)), StatusCode.Unauthenticated, Details.KeyNotFound, forged);
    }

    [Fact]
    public async Task Call_waits_at_most_KeyRefreshWaitTimeout_for_a_hanging_key_source_then_the_late_keys_are_used()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        keys.SetBehavior(KeyServerBehavior.Hang);
        var server = await StartServerAsync(options =>
        {
            RemoteOptions(keys, Source.Jwks)(options);

            // Real time on purpose: this is the one wait a caller does on the clock.
            options.KeyRefreshWaitTimeout = TimeSpan.FromMilliseconds(200);
        }, keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        var token = tokens.Create(TestKeys.Primary, subject: "judy", issuer: keys.Issuer);
        await keys.WaitForHitsAsync(KeyServer.JwksPath, 1).DefaultTimeout();

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unavailable, Details.KeysUnavailable, token);
        Assert.Single(server.Logs.WithEvent("KeyRefreshWaitTimedOut"));

        keys.SetBehavior(KeyServerBehavior.Serve);
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(token));

        Assert.Equal("judy", reply.Subject);
        Assert.Equal(1, keys.JwksHits);
    }
}
