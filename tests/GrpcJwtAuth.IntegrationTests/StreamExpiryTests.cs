using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>Streaming calls outliving their token, on a fake clock.</summary>
public class StreamExpiryTests : IntegrationTest
{
    private const string TokenExpiredDuringCall = "token expired during the call; start a new call with a fresh token";

    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private static Action<GrpcJwtAuthOptions> Options(bool endStreams) => options =>
    {
        TestKeys.StaticOptions(TestKeys.Primary)(options);
        options.ClockSkew = ClockSkew;
        options.EndStreamsWhenTokenExpires = endStreams;
    };

    [Fact]
    public async Task Idle_duplex_stream_is_ended_with_Unauthenticated_when_its_token_expires()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
        var server = await StartServerAsync(Options(endStreams: true), timeProvider: clock);
        var token = new TestTokenFactory(clock).Create(TestKeys.Primary, lifetime: Lifetime);
        using var call = server.Probe.Duplex(Auth.Bearer(token));
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "one" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal("one", call.ResponseStream.Current.Message);

        // The handler now waits for the next message; only the clock moves.
        clock.Advance(Lifetime + ClockSkew);

        await Rejection.AssertAsync(
            () => call.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unauthenticated, TokenExpiredDuringCall, token);
    }

    [Fact]
    public async Task Duplex_stream_is_not_ended_before_exp_plus_clock_skew()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
        var server = await StartServerAsync(Options(endStreams: true), timeProvider: clock);
        var token = new TestTokenFactory(clock).Create(TestKeys.Primary, lifetime: Lifetime);
        using var call = server.Probe.Duplex(Auth.Bearer(token));
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "one" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        clock.Advance(Lifetime + ClockSkew - TimeSpan.FromSeconds(1));
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "two" }).DefaultTimeout();

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal("two", call.ResponseStream.Current.Message);
    }

    [Fact]
    public async Task Duplex_stream_outlives_its_token_when_EndStreamsWhenTokenExpires_is_off()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
        var server = await StartServerAsync(Options(endStreams: false), timeProvider: clock);
        var token = new TestTokenFactory(clock).Create(TestKeys.Primary, subject: "liam", lifetime: Lifetime);
        using var call = server.Probe.Duplex(Auth.Bearer(token));
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "one" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        clock.Advance(Lifetime + ClockSkew + TimeSpan.FromMinutes(1));
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "two" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        await call.RequestStream.CompleteAsync().DefaultTimeout();

        Assert.Equal("liam", call.ResponseStream.Current.Subject);
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }
}
