using System.Threading.Channels;
using GrpcJwtAuth.Shared;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Shared;

public sealed class RefreshGateTests
{
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RefreshGate<string> _gate;

    public RefreshGateTests()
    {
        _gate = new RefreshGate<string>(_time);
    }

    [Fact]
    public async Task JoinOrStart_WhileRunning_ReturnsTheRunningFetch()
    {
        var fetch = new ControlledFetch(_gate);

        var first = _gate.JoinOrStart(fetch, mayStart: null, static fetch => fetch.RunAsync());
        var second = _gate.JoinOrStart(
            fetch, static _ => throw new InvalidOperationException("not asked while a fetch runs"), static fetch => fetch.RunAsync());
        await fetch.NextStartAsync();

        Assert.NotNull(first);
        Assert.Same(first, second);
        Assert.True(_gate.IsRunning);
        fetch.Succeed("keys");
        Assert.Equal("keys", await first.WaitAsync(TestTimeout));
        Assert.Equal(1, fetch.Calls);
        Assert.False(_gate.IsRunning);
    }

    [Fact]
    public async Task JoinOrStart_AfterTheFetchFinished_StartsANewOne()
    {
        var fetch = new ControlledFetch(_gate);
        var first = _gate.JoinOrStart(fetch, mayStart: null, static fetch => fetch.RunAsync())!;
        await fetch.NextStartAsync();
        fetch.Succeed("first");
        await first.WaitAsync(TestTimeout);

        var second = _gate.JoinOrStart(fetch, mayStart: null, static fetch => fetch.RunAsync());

        Assert.NotSame(first, second);
        Assert.True(_gate.IsRunning);
        fetch.Succeed("second");
        Assert.Equal("second", await second!.WaitAsync(TestTimeout));
        Assert.Equal(2, fetch.Calls);
    }

    [Fact]
    public void JoinOrStart_ConditionRefuses_ReturnsNullAndStartsNothing()
    {
        var fetch = new ControlledFetch(_gate);

        var refresh = _gate.JoinOrStart(fetch, static _ => false, static fetch => fetch.RunAsync());

        Assert.Null(refresh);
        Assert.False(_gate.IsRunning);
        Assert.Equal(0, fetch.Calls);
    }

    [Fact]
    public void JoinOrStart_Condition_RunsUnderTheLock()
    {
        var fetch = new ControlledFetch(_gate);
        bool? heldWhileAsked = null;

        _ = _gate.JoinOrStart(fetch, _ =>
        {
            heldWhileAsked = _gate.Lock.IsHeldByCurrentThread;
            return false;
        }, static fetch => fetch.RunAsync());

        Assert.True(heldWhileAsked);
    }

    [Fact]
    public void JoinOrStart_ConditionThrows_ThrowsAndStartsNothing()
    {
        var fetch = new ControlledFetch(_gate);

        Assert.Throws<InvalidOperationException>(
            () => { _ = _gate.JoinOrStart(fetch, static _ => throw new InvalidOperationException("backing off"), static fetch => fetch.RunAsync()); });

        Assert.False(_gate.IsRunning);
        Assert.False(_gate.Lock.IsHeldByCurrentThread);
        Assert.Equal(0, fetch.Calls);
    }

    [Fact]
    public void JoinOrStart_StartedFetch_RunsOnlyAfterTheCallerReturns()
    {
        var fetch = new ControlledFetch(_gate);
        var posted = new PostedWork();

        var refresh = posted.Capture(() => _gate.JoinOrStart(fetch, mayStart: null, static fetch => fetch.RunAsync()));

        Assert.NotNull(refresh);
        Assert.Equal(0, fetch.Calls);
        Assert.Equal(1, posted.Count);
        posted.RunAll();
        Assert.Equal(1, fetch.Calls);
        fetch.Succeed("keys");
    }

    [Fact]
    public async Task StartIfIdle_WhileRunning_ReturnsNull()
    {
        var fetch = new ControlledFetch(_gate);
        var running = _gate.StartIfIdle(fetch, mayStart: null, static fetch => fetch.RunAsync());
        await fetch.NextStartAsync();

        var again = _gate.StartIfIdle(fetch, mayStart: null, static fetch => fetch.RunAsync());

        Assert.NotNull(running);
        Assert.Null(again);
        fetch.Succeed("keys");
        await running.WaitAsync(TestTimeout);
        Assert.Equal(1, fetch.Calls);
    }

    [Fact]
    public async Task WithTimeoutAsync_SourceIgnoresCancellation_ThrowsAtTheTimeout()
    {
        var never = new TaskCompletionSource<string>();
        var token = CancellationToken.None;

        var call = _gate.WithTimeoutAsync(
            FetchTimeout,
            cancellationToken =>
            {
                token = cancellationToken;
                return never.Task;
            },
            static cancelled => new TimeoutException("took too long", cancelled));
        _time.Advance(FetchTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(call.IsCompleted);
        Assert.False(token.IsCancellationRequested);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        var failure = await Assert.ThrowsAsync<TimeoutException>(() => call.WaitAsync(TestTimeout));
        Assert.Equal("took too long", failure.Message);
        Assert.IsAssignableFrom<OperationCanceledException>(failure.InnerException);
        Assert.True(token.IsCancellationRequested);
        Assert.False(never.Task.IsCompleted);
    }

    [Fact]
    public async Task WithTimeoutAsync_SourceAnswersInTime_ReturnsItsResult()
    {
        var answer = new TaskCompletionSource<string>();
        var call = _gate.WithTimeoutAsync(
            FetchTimeout, _ => answer.Task, static cancelled => new TimeoutException("took too long", cancelled));
        _time.Advance(FetchTimeout - TimeSpan.FromMilliseconds(1));

        answer.SetResult("keys");

        Assert.Equal("keys", await call.WaitAsync(TestTimeout));
    }

    [Fact]
    public async Task WithTimeoutAsync_SourceThrowsItsOwnCancellation_PassesItThrough()
    {
        var own = new TaskCanceledException("the source's own timeout");

        var call = _gate.WithTimeoutAsync(
            FetchTimeout, _ => Task.FromException<string>(own), static cancelled => new TimeoutException("took too long", cancelled));

        Assert.Same(own, await Assert.ThrowsAsync<TaskCanceledException>(() => call.WaitAsync(TestTimeout)));
    }

    [Fact]
    public void Finish_Failures_AreCountedAndResetBySuccess()
    {
        Assert.Equal(1, _gate.Finish(succeeded: false));
        Assert.Equal(2, _gate.Finish(succeeded: false));
        Assert.Equal(3, _gate.Finish(succeeded: false));
        Assert.Equal(3, _gate.ConsecutiveFailures);

        Assert.Equal(0, _gate.Finish(succeeded: true));
        Assert.Equal(0, _gate.ConsecutiveFailures);
        Assert.Equal(1, _gate.Finish(succeeded: false));
    }

    [Fact]
    public void Finish_Callback_RunsUnderTheLockWithTheNewCount()
    {
        _gate.Finish(succeeded: false);
        var seen = new List<(int Count, bool Held)>();

        _gate.Finish(succeeded: false, count => seen.Add((count, _gate.Lock.IsHeldByCurrentThread)));
        _gate.Finish(succeeded: true, count => seen.Add((count, _gate.Lock.IsHeldByCurrentThread)));

        Assert.Equal(new[] { (2, true), (0, true) }, seen);
        Assert.False(_gate.Lock.IsHeldByCurrentThread);
    }

    [Fact]
    public async Task Finish_FailedFetch_IsCountedAndTheNextCallerStartsANewOne()
    {
        var fetch = new ControlledFetch(_gate);
        var first = _gate.JoinOrStart(fetch, mayStart: null, static fetch => fetch.RunAsync())!;
        await fetch.NextStartAsync();

        fetch.Fail();
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.WaitAsync(TestTimeout));

        Assert.Equal(1, _gate.ConsecutiveFailures);
        Assert.False(_gate.IsRunning);
        var second = _gate.JoinOrStart(fetch, mayStart: null, static fetch => fetch.RunAsync());
        Assert.NotSame(first, second);
        fetch.Succeed("keys");
        await second!.WaitAsync(TestTimeout);
        Assert.Equal(0, _gate.ConsecutiveFailures);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 10)]
    [InlineData(6, 10)]
    [InlineData(64, 10)]
    [InlineData(int.MaxValue, 10)]
    public void Backoff_DoublesFromTheFirstDelayUpToTheMaximum(int failures, int expectedSeconds)
    {
        var delay = RefreshGate.Backoff(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), delay);
    }

    [Theory]
    [InlineData(30)]
    [InlineData(63)]
    [InlineData(1000)]
    public void Backoff_PastTimeSpanMaxValue_ReturnsTheMaximumWithoutOverflow(int failures)
    {
        var delay = RefreshGate.Backoff(failures, TimeSpan.FromDays(10_000), TimeSpan.MaxValue);

        Assert.Equal(TimeSpan.MaxValue, delay);
    }

    [Fact]
    public void Backoff_LongAfterTwentyFailures_StillDoublesBelowTheMaximum()
    {
        var delay = RefreshGate.Backoff(31, TimeSpan.FromTicks(1), TimeSpan.MaxValue);

        Assert.Equal(TimeSpan.FromTicks(1L << 30), delay);
    }

    /// <summary>
    /// A fetch the test answers, one answer per call in call order; it calls <see cref="RefreshGate{T}.Finish"/> as
    /// an owner must.
    /// </summary>
    private sealed class ControlledFetch(RefreshGate<string> gate)
    {
        private readonly Channel<string?> _answers = Channel.CreateUnbounded<string?>();
        private readonly Channel<int> _starts = Channel.CreateUnbounded<int>();
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        /// <summary>Waits for the next call to begin; fails the test after 10 s.</summary>
        public Task<int> NextStartAsync() => _starts.Reader.ReadAsync().AsTask().WaitAsync(TestTimeout);

        public async Task<string> RunAsync()
        {
            _starts.Writer.TryWrite(Interlocked.Increment(ref _calls));
            var answer = await _answers.Reader.ReadAsync().ConfigureAwait(false);
            gate.Finish(succeeded: answer is not null);
            return answer ?? throw new InvalidOperationException("source down");
        }

        public void Succeed(string value) => _answers.Writer.TryWrite(value);

        public void Fail() => _answers.Writer.TryWrite(null);
    }
}
