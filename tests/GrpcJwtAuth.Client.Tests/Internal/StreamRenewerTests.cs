using Grpc.Core;
using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests.Internal;

/// <summary>
/// The renewer driven directly: response headers and the sent token are given, the token source and the renewal
/// channel are fakes, and every wait is on the fake clock. The renewer logs a wait after setting it, so a test waits
/// for that log line, then moves the clock.
/// </summary>
public sealed class StreamRenewerTests
{
    private const string Method = "/test.Probe/DuplexStreaming";
    private const string RenewMethod = "/grpcjwtauth.v1.StreamRenewal/Renew";
    private static readonly string CallId = new('c', 43);

    private readonly FakeTimeProvider _time = new();
    private readonly FakeTokenSource _source;
    private readonly FakeRenewalInvoker _invoker;
    private readonly RecordingLogger<StreamRenewer> _logger = new();
    private readonly DateTimeOffset _start;

    public StreamRenewerTests()
    {
        _source = new FakeTokenSource(_time);
        _invoker = new FakeRenewalInvoker(_time);
        _start = _time.GetUtcNow();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(129)]
    public async Task Start_NoUsableCallId_NeverRenews(object? callId)
    {
        var headers = callId switch
        {
            string id => new Metadata { { StreamRenewer.CallIdHeader, id } },
            int length => new Metadata { { StreamRenewer.CallIdHeader, new string('c', length) } },
            _ => new Metadata { { "other", "header" } },
        };
        var renewer = CreateRenewer();

        renewer.Start(Task.FromResult(headers), await SentTokenAsync());
        await renewer.Completion.DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Empty(_invoker.Attempts);
        Assert.Equal(1, _source.Calls);
        Assert.Empty(_logger.Entries);
    }

    [Fact]
    public async Task Start_CallIdOf128Chars_IsRenewed()
    {
        var callId = new string('c', StreamRenewer.MaxCallIdLength);
        var renewer = CreateRenewer();

        renewer.Start(Headers(callId), await SentTokenAsync());
        await _logger.WaitForAsync("StreamRenewalScheduled");
        _time.Advance(TimeSpan.FromMinutes(9));

        Assert.Equal(callId, (await _invoker.WaitForAttemptAsync(1)).CallId);
        await StopAsync(renewer);
    }

    [Fact]
    public async Task Start_HeadersFail_CompletesWithoutRenewing()
    {
        var renewer = CreateRenewer();

        renewer.Start(Task.FromException<Metadata>(new RpcException(new Status(StatusCode.Unavailable, "no connection"))), await SentTokenAsync());

        await renewer.Completion.DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(_invoker.Attempts);
        Assert.Empty(_logger.Entries);
    }

    [Fact]
    public async Task Stop_WhileWaitingForHeaders_Completes()
    {
        var headers = new TaskCompletionSource<Metadata>(TaskCreationOptions.RunContinuationsAsynchronously);
        var renewer = CreateRenewer();
        renewer.Start(headers.Task, await SentTokenAsync());

        await StopAsync(renewer);
        headers.SetResult(new Metadata { { StreamRenewer.CallIdHeader, CallId } });
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(_invoker.Attempts);
    }

    [Fact]
    public async Task Start_TokenNeverExpires_NeverRenews()
    {
        var provider = new StaticAccessTokenProvider(new AccessToken("forever", DateTimeOffset.MaxValue));
        var attacher = new TokenAttacher(provider, allowInsecureChannel: false);
        await attacher.AttachAsync(new AuthInterceptorContext("https://host/test.Probe", "DuplexStreaming"), []).DefaultTimeout();
        var renewer = new StreamRenewer(provider, () => _invoker, Method, TimeSpan.FromMinutes(1), _time, _logger);

        renewer.Start(Headers(CallId), attacher);

        await renewer.Completion.DefaultTimeout();
        Assert.Empty(_invoker.Attempts);
    }

    [Theory]
    [InlineData(600, 60, 540)]
    [InlineData(60, 60, 30)]
    [InlineData(600, 300, 300)]
    [InlineData(600, 120, 480)]
    [InlineData(10, 60, 5)]
    public async Task Start_TokenLifetimeAndLeadTime_RenewsAtExpiryMinusTheSmallerOfLeadAndHalfTheRest(
        int lifetimeSeconds, int leadSeconds, int renewAtSeconds)
    {
        _source.ReturnsTokensLiving(TimeSpan.FromSeconds(lifetimeSeconds));
        var renewer = CreateRenewer(TimeSpan.FromSeconds(leadSeconds));

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromSeconds(renewAtSeconds) - TimeSpan.FromTicks(1));
        Assert.Equal(1, _source.Calls);
        _time.Advance(TimeSpan.FromTicks(1));

        var attempt = await _invoker.WaitForAttemptAsync(1);
        Assert.Equal(_start + TimeSpan.FromSeconds(renewAtSeconds), attempt.At);
        await StopAsync(renewer);
    }

    [Fact]
    public async Task Renew_Succeeds_SendsTheFreshTokenAndCallIdButNeverTheOldToken()
    {
        var renewer = CreateRenewer();

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));

        var attempt = await _invoker.WaitForAttemptAsync(1);
        Assert.Equal(RenewMethod, attempt.Method);
        Assert.Equal(CallId, attempt.CallId);
        var header = Assert.Single(attempt.Headers);
        Assert.Equal("authorization", header.Key);
        Assert.Equal("Bearer token-2", header.Value);
        Assert.DoesNotContain(attempt.Headers, entry => !entry.IsBinary && entry.Value.Contains("token-1", StringComparison.Ordinal));
        await _logger.WaitForAsync("StreamRenewalSucceeded");
        Assert.Equal(1, renewer.Renewals);
        await StopAsync(renewer);
    }

    [Fact]
    public async Task Renew_Succeeds_RenewsAgainBeforeTheFreshTokenExpires()
    {
        var renewer = CreateRenewer();
        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));
        await _invoker.WaitForAttemptAsync(1);

        // token-2 was fetched at 9 min and lives 10: the next renewal is at 18 min, with token-3.
        await _logger.WaitForAsync("StreamRenewalScheduled", 2);
        _time.Advance(TimeSpan.FromMinutes(9) - TimeSpan.FromTicks(1));
        Assert.Single(_invoker.Attempts);
        _time.Advance(TimeSpan.FromTicks(1));

        var second = await _invoker.WaitForAttemptAsync(2);
        Assert.Equal(_start + TimeSpan.FromMinutes(18), second.At);
        Assert.Equal("Bearer token-3", second.Headers.GetValue("authorization"));
        Assert.Equal(CallId, second.CallId);
        await _logger.WaitForAsync("StreamRenewalSucceeded", 2);
        Assert.Equal(2, renewer.Renewals);
        await StopAsync(renewer);
    }

    [Theory]
    [InlineData(StatusCode.Unimplemented)]
    [InlineData(StatusCode.NotFound)]
    public async Task Renew_ServerSaysRenewalCannotWork_StopsAfterOneAttempt(StatusCode status)
    {
        _invoker.Respond = _ => new Status(status, "no such thing");
        var renewer = CreateRenewer();

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));
        await renewer.Completion.DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Single(_invoker.Attempts);
        var stopped = Assert.Single(_logger.Entries, entry => entry.EventName == "StreamRenewalStopped");
        Assert.Contains(status.ToString(), stopped.Message, StringComparison.Ordinal);
        Assert.Equal(0, _logger.Count("StreamRenewalFailed"));
        Assert.Equal(0, renewer.Renewals);
    }

    [Fact]
    public async Task Renew_Unavailable_RetriesWithDoublingBackoffWhileTheTokenLasts()
    {
        _invoker.Respond = _ => new Status(StatusCode.Unavailable, "server restarting");
        var renewer = CreateRenewer();

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));
        int[] backoffs = [1, 2, 4, 8, 16];
        for (var i = 0; i < backoffs.Length; i++)
        {
            await _logger.WaitForAsync("StreamRenewalFailed", i + 1);
            Assert.Equal(i + 1, _invoker.Attempts.Count);
            _time.Advance(TimeSpan.FromSeconds(backoffs[i]));
        }

        // The sixth attempt, at 9:31, would wait 30 s, past the token's expiry at 10:00: it gives up.
        await renewer.Completion.DefaultTimeout();
        Assert.Equal(
            [540, 541, 543, 547, 555, 571],
            _invoker.Attempts.Select(attempt => (int)(attempt.At - _start).TotalSeconds));
        Assert.Equal(5, _logger.Count("StreamRenewalFailed"));
        var stopped = Assert.Single(_logger.Entries, entry => entry.EventName == "StreamRenewalStopped");
        Assert.Contains("Unavailable", stopped.Message, StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(6, _invoker.Attempts.Count);
        Assert.Equal(0, renewer.Renewals);
    }

    [Fact]
    public async Task Renew_UnavailableOnce_RenewsOnTheRetry()
    {
        _invoker.Respond = attempt => attempt.Number == 1 ? new Status(StatusCode.Unavailable, "busy") : Status.DefaultSuccess;
        var renewer = CreateRenewer();

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));
        await _logger.WaitForAsync("StreamRenewalFailed");
        _time.Advance(TimeSpan.FromSeconds(1));

        await _logger.WaitForAsync("StreamRenewalSucceeded");
        Assert.Equal(["Bearer token-2", "Bearer token-3"], _invoker.Attempts.Select(attempt => attempt.Headers.GetValue("authorization")));
        Assert.Equal(1, renewer.Renewals);
        await StopAsync(renewer);
    }

    [Fact]
    public async Task Stop_BeforeTheScheduledTime_NoAttempt()
    {
        var renewer = CreateRenewer();
        await StartScheduledAsync(renewer);

        await StopAsync(renewer);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(_invoker.Attempts);
        Assert.Equal(1, _source.Calls);
        Assert.Equal(0, _logger.Count("StreamRenewalStopped"));
    }

    [Fact]
    public async Task Stop_DuringBackoff_NoFurtherAttempt()
    {
        _invoker.Respond = _ => new Status(StatusCode.Unavailable, "busy");
        var renewer = CreateRenewer();
        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));
        await _logger.WaitForAsync("StreamRenewalFailed");

        renewer.Stop();
        await StopAsync(renewer);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Single(_invoker.Attempts);
    }

    [Fact]
    public async Task Renew_TokenSourceGivesNoLaterToken_CountsAsAFailedAttemptWithoutCallingTheServer()
    {
        var firstExpiry = _start + FakeTokenSource.DefaultLifetime;
        _source.Returns(call => call.Number == 1 ? call.DefaultToken(FakeTokenSource.DefaultLifetime) : new AccessToken($"token-{call.Number}", firstExpiry));
        var renewer = CreateRenewer();

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));

        await _logger.WaitForAsync("StreamRenewalFailed");
        Assert.Empty(_invoker.Attempts);
        Assert.Equal(2, _source.Calls);
        var failed = Assert.Single(_logger.Entries, entry => entry.EventName == "StreamRenewalFailed");
        Assert.Contains("no token expiring later", failed.Message, StringComparison.Ordinal);
        await StopAsync(renewer);
        Assert.Equal(0, renewer.Renewals);
    }

    [Fact]
    public async Task Renew_TokenSourceFails_RetriesWithBackoff()
    {
        _source.Does(call =>
        {
            if (call.Number == 2)
            {
                call.Fail(new AccessTokenException("token endpoint down"));
            }
            else
            {
                call.Complete(FakeTokenSource.DefaultLifetime);
            }
        });
        var renewer = CreateRenewer();

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));
        await _logger.WaitForAsync("StreamRenewalFailed");
        Assert.Empty(_invoker.Attempts);
        _time.Advance(TimeSpan.FromSeconds(1));

        var attempt = await _invoker.WaitForAttemptAsync(1);
        Assert.Equal("Bearer token-3", attempt.Headers.GetValue("authorization"));
        await StopAsync(renewer);
    }

    [Fact]
    public async Task Log_EveryEvent_NeverCarriesATokenValue()
    {
        _source.Returns(call => new AccessToken($"secret-{call.Number}-jwt", call.StartedAt + FakeTokenSource.DefaultLifetime));
        _invoker.Respond = attempt => attempt.Number switch
        {
            1 => Status.DefaultSuccess,
            2 => new Status(StatusCode.Unavailable, "busy"),
            _ => new Status(StatusCode.Unimplemented, "not mapped"),
        };
        _invoker.AcceptedUntil = attempt => attempt.At + TimeSpan.FromMinutes(10);
        var renewer = CreateRenewer();

        await StartScheduledAsync(renewer);
        _time.Advance(TimeSpan.FromMinutes(9));
        await _logger.WaitForAsync("StreamRenewalScheduled", 2);
        _time.Advance(TimeSpan.FromMinutes(9));
        await _logger.WaitForAsync("StreamRenewalFailed");
        _time.Advance(TimeSpan.FromSeconds(1));
        await renewer.Completion.DefaultTimeout();

        Assert.Equal(
            ["StreamRenewalScheduled", "StreamRenewalSucceeded", "StreamRenewalScheduled", "StreamRenewalFailed", "StreamRenewalStopped"],
            _logger.Entries.Select(entry => entry.EventName));
        Assert.Equal(["Bearer secret-2-jwt", "Bearer secret-3-jwt", "Bearer secret-4-jwt"], _invoker.Attempts.Select(attempt => attempt.Headers.GetValue("authorization")));
        foreach (var entry in _logger.Entries)
        {
            Assert.DoesNotContain("secret-", entry.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(entry.State, pair => pair.Value?.Contains("secret-", StringComparison.Ordinal) == true);
        }
    }

    private StreamRenewer CreateRenewer(TimeSpan? leadTime = null) =>
        new(_source, () => _invoker, Method, leadTime ?? TimeSpan.FromMinutes(1), _time, _logger);

    /// <summary>The call's credentials ran: token-1 went out with it.</summary>
    /// <summary>Starts <paramref name="renewer"/> on a call that got <see cref="CallId"/>, once its renewal is scheduled.</summary>
    private async Task StartScheduledAsync(StreamRenewer renewer)
    {
        renewer.Start(Headers(CallId), await SentTokenAsync());
        await _logger.WaitForAsync("StreamRenewalScheduled");
    }

    private static async Task StopAsync(StreamRenewer renewer)
    {
        renewer.Stop();
        await renewer.Completion.DefaultTimeout();
    }

    private async Task<TokenAttacher> SentTokenAsync()
    {
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false);
        await attacher.AttachAsync(new AuthInterceptorContext("https://host/test.Probe", "DuplexStreaming"), []).DefaultTimeout();
        return attacher;
    }

    private static Task<Metadata> Headers(string callId) => Task.FromResult(new Metadata { { StreamRenewer.CallIdHeader, callId } });
}
