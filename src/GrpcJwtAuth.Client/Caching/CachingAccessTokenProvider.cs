using System.Diagnostics.Metrics;
using GrpcJwtAuth.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcJwtAuth.Client.Caching;

/// <summary>
/// Keeps one token from any source and refreshes it before it expires. Callers get the cached token without
/// locking; at most one refresh runs at a time and callers keep the current token while it runs; failures back off
/// exponentially; when no valid token can be had, callers get an <see cref="AccessTokenException"/> saying why.
/// Each fetch from the source is counted and timed on the <c>GrpcJwtAuth.Client</c> meter
/// (<c>grpcjwtauth.client.token.acquisitions</c>, <c>grpcjwtauth.client.token.acquisition.duration</c>).
/// </summary>
public sealed class CachingAccessTokenProvider : IAccessTokenProvider
{
    private readonly IAccessTokenProvider _source;
    private readonly TokenCacheOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Metrics _metrics;
    private readonly Lock _gate = new();

    private volatile Entry? _entry;
    private Task<AccessToken>? _refresh;
    private int _failures;
    private DateTimeOffset _retryAfter = DateTimeOffset.MinValue;
    private Exception? _lastFailure;

    /// <summary>Caches tokens from <paramref name="source"/>.</summary>
    /// <param name="source">Where tokens come from.</param>
    /// <param name="options">When to refresh and how to back off. Defaults to <see cref="TokenCacheOptions"/>' defaults.</param>
    /// <param name="timeProvider">The clock. Defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Logs acquisitions and failures (event ids 3xx). Defaults to none.</param>
    /// <param name="meterFactory">
    /// Makes the <c>GrpcJwtAuth.Client</c> meter (pass the host's, as the DI registrations do). Defaults to a shared
    /// static meter of that name.
    /// </param>
    public CachingAccessTokenProvider(
        IAccessTokenProvider source,
        TokenCacheOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger<CachingAccessTokenProvider>? logger = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _options = options ?? new TokenCacheOptions();
        _options.Validate();
        _source = source;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metrics = meterFactory is null ? Metrics.Shared : new Metrics(meterFactory);
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var entry = _entry;
        if (entry is not null)
        {
            var now = _timeProvider.GetUtcNow();
            if (now < entry.RefreshAt)
            {
                return ValueTask.FromResult(entry.Token);
            }

            if (now < entry.UsableUntil)
            {
                // Still good: refresh in the background and hand out the current token meanwhile.
                StartRefreshIfAllowed(now, force: false);
                return ValueTask.FromResult(entry.Token);
            }
        }

        return WaitForTokenAsync(force: false, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetFreshTokenAsync(AccessToken rejected, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        var entry = _entry;
        var now = _timeProvider.GetUtcNow();
        if (entry is not null && now < entry.UsableUntil)
        {
            // Someone already replaced the rejected token, or it is itself the replacement of a rejected token, got
            // so recently that replacing it again would only hammer the source.
            if (!string.Equals(entry.Token.Value, rejected.Value, StringComparison.Ordinal)
                || (entry.Forced && now - entry.AcquiredAt < _options.MinimumForcedRefreshInterval))
            {
                return ValueTask.FromResult(entry.Token);
            }
        }

        Log.ForcedRefresh(_logger);
        return WaitForTokenAsync(force: true, cancellationToken);
    }

    private async ValueTask<AccessToken> WaitForTokenAsync(bool force, CancellationToken cancellationToken)
    {
        Task<AccessToken>? refresh;
        lock (_gate)
        {
            refresh = _refresh;
            if (refresh is null)
            {
                var now = _timeProvider.GetUtcNow();

                // A refresh may have finished since the caller looked: use its token rather than fetch again.
                if (!force && _entry is { } entry && now < entry.UsableUntil)
                {
                    return entry.Token;
                }

                if (now < _retryAfter)
                {
                    throw new AccessTokenException(
                        $"No valid access token: the last attempt failed ({_failures} in a row) and the next is allowed after {_retryAfter:O}.",
                        _lastFailure);
                }

                refresh = _refresh = RefreshAsync(force);
            }
        }

        return await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void StartRefreshIfAllowed(DateTimeOffset now, bool force)
    {
        lock (_gate)
        {
            if (_refresh is not null || now < _retryAfter)
            {
                return;
            }

            var refresh = _refresh = RefreshAsync(force);

            // Background refresh: failures are logged and kept for the next caller; nobody awaits this task.
            refresh.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task<AccessToken> RefreshAsync(bool force)
    {
        // Leave the caller's lock before calling the source.
        await Task.Yield();

        var started = _timeProvider.GetTimestamp();
        string? errorType = null;
        try
        {
            using var timeout = new CancellationTokenSource(_options.FetchTimeout, _timeProvider);
            AccessToken token;
            try
            {
                // WaitAsync: a source that ignores its token must not hold the cache past FetchTimeout.
                token = await _source.GetTokenAsync(timeout.Token).AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
            {
                errorType = Metrics.TimeoutError;
                throw new AccessTokenException($"Getting an access token took longer than {_options.FetchTimeout}.", ex);
            }

            var now = _timeProvider.GetUtcNow();
            if (token is null || token.ExpiresAt <= now + _options.MinimumRemainingLifetime)
            {
                errorType = Metrics.UnusableTokenError;
                throw new AccessTokenException("The token source returned a token that is already expired or about to expire.");
            }

            var entry = new Entry(token, now, RefreshAt(token, now), token.ExpiresAt - _options.MinimumRemainingLifetime, force);
            lock (_gate)
            {
                _entry = entry;
                _failures = 0;
                _retryAfter = DateTimeOffset.MinValue;
                _lastFailure = null;
                _refresh = null;
            }

            _metrics.Acquired(force, _timeProvider.GetElapsedTime(started));
            Log.TokenAcquired(_logger, token.ExpiresAt, force);
            return token;
        }
        catch (Exception ex)
        {
            var failure = ex as AccessTokenException ?? new AccessTokenException($"Getting an access token failed: {ex.GetType().Name}.", ex);
            DateTimeOffset retryAfter;
            int failures;
            lock (_gate)
            {
                failures = ++_failures;
                var delay = _options.MinimumRetryDelay * Math.Pow(2, Math.Min(failures - 1, 20));
                if (delay > _options.MaximumRetryDelay)
                {
                    delay = _options.MaximumRetryDelay;
                }

                retryAfter = _retryAfter = _timeProvider.GetUtcNow() + delay;
                _lastFailure = failure;
                _refresh = null;
            }

            _metrics.Failed(force, errorType ?? ex.GetType().FullName ?? ex.GetType().Name, _timeProvider.GetElapsedTime(started));
            Log.RefreshFailed(_logger, failures, retryAfter, failure);
            throw failure;
        }
    }

    private DateTimeOffset RefreshAt(AccessToken token, DateTimeOffset now)
    {
        if (token.ExpiresAt == DateTimeOffset.MaxValue)
        {
            return DateTimeOffset.MaxValue;
        }

        var lifetime = token.ExpiresAt - now;
        var jitter = _options.RefreshJitter * Random.Shared.NextDouble();
        var early = token.ExpiresAt - _options.RefreshBeforeExpiry - jitter;
        var half = now + (lifetime / 2);
        return early > half ? early : half;
    }

    private sealed record Entry(
        AccessToken Token, DateTimeOffset AcquiredAt, DateTimeOffset RefreshAt, DateTimeOffset UsableUntil, bool Forced);
}
