using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>Tokens naming random kids must not turn into a flood of key fetches.</summary>
public class UnknownKidStormTests : IntegrationTest
{
    private const int StormSize = 1000;

    private static readonly TimeSpan MinimumRefreshInterval = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Storm_of_unknown_kids_causes_at_most_one_key_fetch_and_a_second_storm_within_the_minimum_interval_none()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(options =>
        {
            options.JwksUri = keys.JwksUri;
            options.Issuers.Add(keys.Issuer);
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
            options.JwksMinimumRefreshInterval = MinimumRefreshInterval;
            options.KeyRefreshWaitTimeout = TimeSpan.FromSeconds(5);
        }, keys, clock);
        var tokens = new TestTokenFactory(clock);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));
        Assert.Equal(1, keys.JwksHits);

        // A throwaway key the server has never seen; each token names a different random kid.
        var throwaway = TestSigningKey.Ec(keyId: null);

        await StormAsync(server, keys, clock, throwaway);
        Assert.InRange(keys.JwksHits, 1, 2);
        var afterFirstStorm = keys.JwksHits;

        clock.Advance(MinimumRefreshInterval - TimeSpan.FromSeconds(1));
        await StormAsync(server, keys, clock, throwaway);
        Assert.Equal(afterFirstStorm, keys.JwksHits);

        // Known keys were never disturbed, and no storm call reached the handler.
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, subject: "kim", issuer: keys.Issuer)));
        Assert.Equal("kim", reply.Subject);
        Assert.Equal(afterFirstStorm, keys.JwksHits);
        Assert.Equal(2, server.Entries["Unary"]);
    }

    [Fact]
    public async Task Once_the_minimum_interval_has_passed_an_unknown_kid_may_trigger_exactly_one_more_fetch()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(options =>
        {
            options.JwksUri = keys.JwksUri;
            options.Issuers.Add(keys.Issuer);
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
            options.JwksMinimumRefreshInterval = MinimumRefreshInterval;
        }, keys, clock);
        var tokens = new TestTokenFactory(clock);
        await server.Probe.CallUnaryAsync(Auth.Bearer(tokens.Create(TestKeys.Primary, issuer: keys.Issuer)));
        var throwaway = TestSigningKey.Ec(keyId: null);

        await StormAsync(server, keys, clock, throwaway);
        var afterFirstStorm = keys.JwksHits;
        clock.Advance(MinimumRefreshInterval);
        await StormAsync(server, keys, clock, throwaway);

        Assert.Equal(afterFirstStorm + 1, keys.JwksHits);
    }

    private static async Task StormAsync(GrpcTestServer server, KeyServer keys, TimeProvider clock, TestSigningKey throwaway)
    {
        var expires = clock.GetUtcNow().AddMinutes(10).ToUnixTimeSeconds();
        var calls = Enumerable.Range(0, StormSize).Select(i =>
        {
            var token = TestTokenFactory.SignRaw(
                $$"""{"alg":"{{throwaway.Algorithm}}","typ":"JWT","kid":"{{Guid.NewGuid():N}}"}""",
                $$"""{"sub":"storm-{{i}}","iss":"{{keys.Issuer}}","aud":"{{TestTokenFactory.DefaultAudience}}","exp":{{expires}}}""",
                throwaway);
            return Rejection.AssertAsync(
                () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.KeyNotFound, token);
        });

        await Task.WhenAll(calls);
    }
}
