using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Shared;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Keys;

internal enum RefreshTrigger
{
    Startup,
    Scheduled,
    UnknownKey,
}

/// <summary>How the last fetch of keys ended: when, why it ran, and the failures in a row up to it (0 after a success).</summary>
internal sealed record KeyRefreshStatus(
    RefreshTrigger Trigger, bool Succeeded, DateTimeOffset FinishedAt, int ConsecutiveFailures, string? ErrorType);

/// <summary>
/// Holds one issuer's current <see cref="SigningKeySet"/> and refreshes it: at startup, on a timer, and when a token
/// names a <c>kid</c> not in the set. At most one fetch runs at a time and every caller that needs it shares it;
/// refreshes caused by unknown <c>kid</c>s start at most once per <see cref="IssuerDefinition.MinimumRefreshInterval"/>.
/// A failed fetch keeps the last keys that worked. The request path reads <see cref="Current"/> without locking.
/// Each fetch is counted and timed (<see cref="Metrics"/>), and its outcome kept in <see cref="LastRefresh"/> for the
/// health check.
/// </summary>
internal sealed class SigningKeyManager : IDisposable
{
    private static readonly TimeSpan FirstRetryWithoutKeys = TimeSpan.FromSeconds(1);

    private readonly IssuerDefinition _issuer;
    private readonly IRemoteKeySource? _source;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Metrics? _metrics;
    private readonly RefreshGate<SigningKeySet> _gate;

    private volatile SigningKeySet _current;
    private volatile KeyRefreshStatus? _lastRefresh;
    private long _lastUnknownKeyRefresh;
    private bool _unknownKeyRefreshStarted;
    private ITimer? _timer;
    private bool _started;
    private bool _disposed;

    public SigningKeyManager(
        IssuerDefinition issuer,
        IRemoteKeySource? source,
        TimeProvider timeProvider,
        ILogger<SigningKeyManager> logger,
        Metrics? metrics = null)
    {
        _issuer = issuer;
        _source = source;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _gate = new RefreshGate<SigningKeySet>(timeProvider);
        _current = Build(version: 0, remote: null, refreshedAt: null);
    }

    /// <summary>The issuer whose keys these are.</summary>
    public IssuerDefinition Issuer => _issuer;

    /// <summary>The keys in use now.</summary>
    public SigningKeySet Current => _current;

    /// <summary>Whether keys come from the network (and so can be refreshed).</summary>
    public bool HasRemoteSource => _source is not null;

    /// <summary>
    /// Whether the key source cannot be relied on right now: its last fetch failed, or a fetch is still running (a
    /// caller gave up waiting for it). Always false without a remote source.
    /// </summary>
    public bool SourceUnavailable
    {
        get
        {
            if (_source is null)
            {
                return false;
            }

            lock (_gate.Lock)
            {
                return _gate.IsRunning || _lastRefresh is { Succeeded: false };
            }
        }
    }

    /// <summary>How the last fetch ended; <see langword="null"/> until one has (and always without a remote source).</summary>
    public KeyRefreshStatus? LastRefresh => _lastRefresh;

    /// <summary>Starts the first fetch and the refresh timer; returns at once. Idempotent.</summary>
    public void Start()
    {
        if (_source is null)
        {
            return;
        }

        lock (_gate.Lock)
        {
            if (_started || _disposed)
            {
                return;
            }

            _started = true;
            _timer = _timeProvider.CreateTimer(
                static state => ((SigningKeyManager)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        _ = RefreshAsync(RefreshTrigger.Startup);
    }

    /// <summary>
    /// Fetches keys now, or joins the fetch already running. Never throws: on failure the returned set is the one
    /// held before.
    /// </summary>
    public Task<SigningKeySet> RefreshAsync(RefreshTrigger trigger)
    {
        if (_source is null)
        {
            return Task.FromResult(_current);
        }

        return _gate.JoinOrStart(
            (Manager: this, Source: _source, Trigger: trigger),
            mayStart: null,
            static state => state.Manager.FetchAsync(state.Source, state.Trigger))!;
    }

    /// <summary>
    /// For a token whose <c>kid</c> is not in <paramref name="seen"/>: returns a newer set if one exists, else joins
    /// or starts a refresh (at most one start per minimum interval) and waits for it, bounded by
    /// <see cref="IssuerDefinition.KeyRefreshWaitTimeout"/>. Returns the current set when no refresh may run.
    /// </summary>
    public async ValueTask<SigningKeySet> RefreshForUnknownKeyAsync(SigningKeySet seen, CancellationToken cancellationToken)
    {
        var current = _current;
        if (current.Version != seen.Version || _source is null)
        {
            return current;
        }

        var refresh = _gate.JoinOrStart(
            (Manager: this, Source: _source),
            static state => state.Manager.MayStartUnknownKeyRefresh(),
            static state => state.Manager.FetchAsync(state.Source, RefreshTrigger.UnknownKey));
        if (refresh is null)
        {
            return current;
        }

        try
        {
            return await refresh.WaitAsync(_issuer.KeyRefreshWaitTimeout, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.KeyRefreshWaitTimedOut(_logger, _issuer.KeyRefreshWaitTimeout);
            return _current;
        }
    }

    /// <summary>
    /// Under the gate's lock, with no fetch running: whether a refresh for an unknown <c>kid</c> may start now (at most
    /// one per minimum interval); if so, counts it as started.
    /// </summary>
    private bool MayStartUnknownKeyRefresh()
    {
        var now = _timeProvider.GetTimestamp();
        if (_unknownKeyRefreshStarted
            && _timeProvider.GetElapsedTime(_lastUnknownKeyRefresh, now) < _issuer.MinimumRefreshInterval)
        {
            Log.UnknownKeyRefreshSuppressed(_logger);
            return false;
        }

        _unknownKeyRefreshStarted = true;
        _lastUnknownKeyRefresh = now;
        return true;
    }

    /// <summary>One fetch, started by the gate once it has left the caller's lock.</summary>
    private async Task<SigningKeySet> FetchAsync(IRemoteKeySource source, RefreshTrigger trigger)
    {
        var previous = _current;
        var started = _timeProvider.GetTimestamp();
        SigningKeySet result;
        bool succeeded;
        Exception? failure = null;
        try
        {
            var remote = await _gate.WithTimeoutAsync(
                _issuer.KeyFetchTimeout,
                source.FetchAsync,
                cancelled => new TimeoutException($"Fetching keys took longer than {_issuer.KeyFetchTimeout}.", cancelled))
                .ConfigureAwait(false);
            result = Build(previous.Version + 1, remote, _timeProvider.GetUtcNow());
            _current = result;
            succeeded = true;
        }
        catch (Exception ex)
        {
            result = previous;
            succeeded = false;
            failure = ex;
        }

        // Counted before it is logged, so that whoever sees the line also sees the count.
        var errorType = failure?.GetType().Name;
        _metrics?.KeyRefresh(_issuer.KeySourceName, trigger, succeeded, errorType, _timeProvider.GetElapsedTime(started));
        if (failure is null)
        {
            Log.KeysRefreshed(_logger, result.Keys.Count, _issuer.KeySourceName, source.Address, trigger);
        }
        else if (previous.IsEmpty)
        {
            Log.KeyRefreshFailedNoKeys(_logger, _issuer.KeySourceName, source.Address, trigger, failure);
        }
        else
        {
            Log.KeyRefreshFailedUsingLastKnownGood(
                _logger, _issuer.KeySourceName, source.Address, trigger, previous.Keys.Count, previous.RefreshedAt, failure);
        }

        _gate.Finish(succeeded, failures =>
        {
            _lastRefresh = new KeyRefreshStatus(trigger, succeeded, _timeProvider.GetUtcNow(), failures, errorType);
            _timer?.Change(NextRefreshDelay(succeeded, result.IsEmpty, failures), Timeout.InfiniteTimeSpan);
        });

        return result;
    }

    private TimeSpan NextRefreshDelay(bool succeeded, bool noKeys, int failures)
    {
        if (succeeded)
        {
            // Up to 5% earlier, so that a fleet started together does not refresh together.
            var jitter = _issuer.AutomaticRefreshInterval * (Random.Shared.NextDouble() * 0.05);
            return _issuer.AutomaticRefreshInterval - jitter;
        }

        if (!noKeys)
        {
            return _issuer.MinimumRefreshInterval;
        }

        // Without any key every call fails: retry soon, backing off to the minimum interval.
        return RefreshGate.Backoff(failures, FirstRetryWithoutKeys, _issuer.MinimumRefreshInterval);
    }

    private void OnTimer() => _ = RefreshAsync(RefreshTrigger.Scheduled);

    private SigningKeySet Build(long version, RemoteKeys? remote, DateTimeOffset? refreshedAt)
    {
        IReadOnlyList<SigningKey> keys = remote is null
            ? _issuer.StaticKeys
            : [.. _issuer.StaticKeys, .. remote.Keys];
        return new SigningKeySet(version, keys, _issuer, remote?.Issuer, refreshedAt);
    }

    public void Dispose()
    {
        lock (_gate.Lock)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }
}
