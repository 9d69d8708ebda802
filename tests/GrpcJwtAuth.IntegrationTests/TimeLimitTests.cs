using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>Times at the edges of what a token can say: the last second a date can hold, and lifetimes longer than a timer can wait.</summary>
public class TimeLimitTests : IntegrationTest
{
    private const string TokenExpiredDuringCall = "token expired during the call; start a new call with a fresh token";

    /// <summary>9999-12-31T23:59:59Z, the largest exp accepted.</summary>
    private static readonly DateTime LastSecond = new(9999, 12, 31, 23, 59, 59, DateTimeKind.Utc);

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task Token_expiring_at_the_last_representable_second_is_accepted_on_every_call_kind(CallKind kind)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var now = DateTimeOffset.UtcNow;
        var clock = new FakeTimeProvider(now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond)));
        var token = new TestTokenFactory(clock).Create(TestKeys.Primary, subject: "max", lifetime: LastSecond - clock.GetUtcNow().UtcDateTime);

        // Twice: validated, then served from the validated-token cache.
        foreach (var _ in new[] { 1, 2 })
        {
            var replies = await server.Probe.CallAsync(kind, Auth.Bearer(token));
            Assert.All(replies, reply => Assert.Equal("max", reply.Subject));
        }
    }

    [Theory]
    [InlineData(31)]
    [InlineData(60)]
    [InlineData(400)]
    public async Task Stream_whose_token_lives_longer_than_a_timer_can_wait_still_ends_at_exp_plus_skew(int days)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
        var server = await StartServerAsync(
            options =>
            {
                TestKeys.StaticOptions(TestKeys.Primary)(options);
                options.ClockSkew = TimeSpan.FromSeconds(30);
            },
            timeProvider: clock);
        var lifetime = TimeSpan.FromDays(days);
        var token = new TestTokenFactory(clock).Create(TestKeys.Primary, lifetime: lifetime);
        using var call = server.Probe.Duplex(Auth.Bearer(token));
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "one" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        // A second short of the end, in steps of a few weeks, the stream is alive.
        var almost = lifetime + TimeSpan.FromSeconds(29);
        for (var passed = TimeSpan.Zero; passed < almost;)
        {
            var step = almost - passed < TimeSpan.FromDays(20) ? almost - passed : TimeSpan.FromDays(20);
            clock.Advance(step);
            passed += step;
        }

        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "two" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal("two", call.ResponseStream.Current.Message);

        clock.Advance(TimeSpan.FromSeconds(1));

        await Rejection.AssertAsync(
            () => call.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unauthenticated, TokenExpiredDuringCall, token);
    }
}
