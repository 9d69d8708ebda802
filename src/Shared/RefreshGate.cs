namespace GrpcJwtAuth.Shared;

/// <summary>
/// One fetch at a time of a value refreshed from a remote source. Callers join the fetch that runs, or start one when
/// none runs and the owner's condition allows. A started fetch leaves the caller's lock before any work, bounds its
/// remote call with <see cref="WithTimeoutAsync{TResult}"/> (even when the source ignores its cancellation token),
/// and ends with <see cref="Finish"/>, which counts failures in a row for <see cref="RefreshGate.Backoff"/>. Linked
/// into both packages.
/// </summary>
/// <remarks>
/// The owner's fetch must call <see cref="Finish"/> exactly once, on every path, or no later fetch can start. State
/// the owner changes together with the gate's (what was fetched, when to retry) is guarded by <see cref="Lock"/>.
/// </remarks>
/// <typeparam name="T">What a fetch produces.</typeparam>
internal sealed class RefreshGate<T>
{
    private readonly TimeProvider _timeProvider;
    private Task<T>? _running;
    private int _consecutiveFailures;

    /// <param name="timeProvider">The clock of <see cref="WithTimeoutAsync{TResult}"/>.</param>
    public RefreshGate(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
    }

    /// <summary>
    /// Guards the gate. Start conditions and the callback of <see cref="Finish"/> run under it, and the owner takes it
    /// for its own state that goes with the gate's. It is re-entrant.
    /// </summary>
    public Lock Lock { get; } = new();

    /// <summary>Whether a fetch runs now.</summary>
    public bool IsRunning
    {
        get
        {
            lock (Lock)
            {
                return _running is not null;
            }
        }
    }

    /// <summary>The failures in a row up to the last fetch that ended; 0 after a success.</summary>
    public int ConsecutiveFailures
    {
        get
        {
            lock (Lock)
            {
                return _consecutiveFailures;
            }
        }
    }

    /// <summary>
    /// Returns the fetch that runs. When none runs, starts <paramref name="fetch"/> if <paramref name="mayStart"/>
    /// (called under <see cref="Lock"/>; it may also throw) allows, and returns it; else returns
    /// <see langword="null"/>, which never happens without <paramref name="mayStart"/>.
    /// </summary>
    public Task<T>? JoinOrStart<TState>(TState state, Func<TState, bool>? mayStart, Func<TState, Task<T>> fetch)
    {
        lock (Lock)
        {
            return _running ?? Start(state, mayStart, fetch);
        }
    }

    /// <summary>
    /// Starts <paramref name="fetch"/> if none runs and <paramref name="mayStart"/> (called under <see cref="Lock"/>)
    /// allows, and returns it; else returns <see langword="null"/>, also when a fetch already runs.
    /// </summary>
    public Task<T>? StartIfIdle<TState>(TState state, Func<TState, bool>? mayStart, Func<TState, Task<T>> fetch)
    {
        lock (Lock)
        {
            return _running is null ? Start(state, mayStart, fetch) : null;
        }
    }

    /// <summary>
    /// Calls <paramref name="fetch"/> with a token cancelled after <paramref name="timeout"/>, and stops waiting for
    /// it then even if it ignores the token, so that a hung source cannot hold the gate. When the timeout passes
    /// first, throws what <paramref name="timedOut"/> makes of the cancellation.
    /// </summary>
    public async Task<TResult> WithTimeoutAsync<TResult>(
        TimeSpan timeout, Func<CancellationToken, Task<TResult>> fetch, Func<OperationCanceledException, Exception> timedOut)
    {
        using var cancellation = new CancellationTokenSource(timeout, _timeProvider);
        try
        {
            return await fetch(cancellation.Token).WaitAsync(cancellation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (cancellation.IsCancellationRequested)
        {
            throw timedOut(ex);
        }
    }

    /// <summary>
    /// Ends the running fetch. Under <see cref="Lock"/>: forgets it, so that the next caller starts a new one; resets
    /// the failures in a row after a success or counts one more; then runs <paramref name="whileLocked"/> with that
    /// count. Returns the count.
    /// </summary>
    public int Finish(bool succeeded, Action<int>? whileLocked = null)
    {
        lock (Lock)
        {
            _running = null;
            _consecutiveFailures = succeeded ? 0 : _consecutiveFailures + 1;
            whileLocked?.Invoke(_consecutiveFailures);
            return _consecutiveFailures;
        }
    }

    private Task<T>? Start<TState>(TState state, Func<TState, bool>? mayStart, Func<TState, Task<T>> fetch)
    {
        if (mayStart is not null && !mayStart(state))
        {
            return null;
        }

        return _running = RunAsync(state, fetch);
    }

    private static async Task<T> RunAsync<TState>(TState state, Func<TState, Task<T>> fetch)
    {
        // Leave the caller's lock before any work.
        await Task.Yield();
        return await fetch(state).ConfigureAwait(false);
    }
}

/// <summary>The delay shared by the owners of a <see cref="RefreshGate{T}"/>.</summary>
internal static class RefreshGate
{
    /// <summary>
    /// The wait after <paramref name="failures"/> failures in a row: <paramref name="first"/>, doubled with each
    /// further failure, never above <paramref name="max"/>.
    /// </summary>
    public static TimeSpan Backoff(int failures, TimeSpan first, TimeSpan max)
    {
        // Doubled as a double so that it cannot overflow. The exponent stops at 63: from there on even one tick is
        // past TimeSpan.MaxValue, so the answer is max anyway.
        var ticks = first.Ticks * Math.Pow(2, Math.Clamp(failures - 1, 0, 63));
        if (ticks >= TimeSpan.MaxValue.Ticks)
        {
            return max;
        }

        var delay = TimeSpan.FromTicks((long)ticks);
        return delay < max ? delay : max;
    }
}
