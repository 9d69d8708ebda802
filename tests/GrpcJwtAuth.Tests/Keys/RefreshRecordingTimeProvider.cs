using System.Threading.Channels;
using GrpcJwtAuth.Keys;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Keys;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also records each delay a <see cref="SigningKeyManager"/> sets on its refresh
/// timer, after the timer is set, so a test can wait for a fetch to finish and then advance the clock by that delay.
/// </summary>
internal sealed class RefreshRecordingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Channel<TimeSpan> _schedules = Channel.CreateUnbounded<TimeSpan>();
    private int _refreshTimers;
    private int _disposedRefreshTimers;

    /// <summary>How many refresh timers managers created.</summary>
    public int RefreshTimers => Volatile.Read(ref _refreshTimers);

    public int DisposedRefreshTimers => Volatile.Read(ref _disposedRefreshTimers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (state is not SigningKeyManager)
        {
            return timer;
        }

        Interlocked.Increment(ref _refreshTimers);
        return new RecordingTimer(timer, this);
    }

    /// <summary>The next delay a manager set on its refresh timer; fails the test after 10 s.</summary>
    public async Task<TimeSpan> NextRefreshScheduleAsync() =>
        await _schedules.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    private sealed class RecordingTimer(ITimer inner, RefreshRecordingTimeProvider owner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            owner._schedules.Writer.TryWrite(dueTime);
            return changed;
        }

        public void Dispose()
        {
            Interlocked.Increment(ref owner._disposedRefreshTimers);
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
