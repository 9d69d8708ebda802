using System.Diagnostics.Metrics;
using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Shared;
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
    /// <summary>An <c>nbf</c> or <c>iat</c> this far ahead is rounding, not a clock problem.</summary>
    private static readonly TimeSpan NotBeforeTolerance = TimeSpan.FromSeconds(5);

    private readonly IAccessTokenProvider _source;
    private readonly TokenCacheOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Metrics _metrics;
    private readonly RefreshGate<AccessToken> _gate;

    private volatile Entry? _entry;
    private int _clockSkewWarned;
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
        _gate = new RefreshGate<AccessToken>(_timeProvider);
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
        var refresh = _gate.JoinOrStart(
            (Cache: this, Force: force),
            static state => state.Cache.MayStartRefresh(state.Force),
            static state => state.Cache.RefreshAsync(state.Force));

        // Not started: a refresh finished since the caller looked; its token is still usable.
        return refresh is null ? _entry!.Token : await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Under the gate's lock, with no refresh running: false when a refresh finished since the caller looked (use its
    /// token rather than fetch again); throws while failures hold retries back.
    /// </summary>
    private bool MayStartRefresh(bool force)
    {
        var now = _timeProvider.GetUtcNow();
        if (!force && _entry is { } entry && now < entry.UsableUntil)
        {
            return false;
        }

        if (now < _retryAfter)
        {
            // The same kind as the failure that caused the wait, so a call gets the same status either way.
            var last = _lastFailure as AccessTokenException;
            throw new AccessTokenException(
                last?.Failure ?? AccessTokenFailure.Unknown,
                $"No valid access token: the last attempt failed ({_gate.ConsecutiveFailures} in a row) and the next is allowed after {_retryAfter:O}." +
                (last is null ? string.Empty : $" It failed with: {last.Message}"),
                _lastFailure)
            {
                Error = last?.Error,
                ErrorDescription = last?.ErrorDescription,
            };
        }

        return true;
    }

    private void StartRefreshIfAllowed(DateTimeOffset now, bool force)
    {
        var refresh = _gate.StartIfIdle(
            (Cache: this, Now: now, Force: force),
            static state => state.Now >= state.Cache._retryAfter,
            static state => state.Cache.RefreshAsync(state.Force));

        // Background refresh: failures are logged and kept for the next caller; nobody awaits this task.
        refresh?.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>One fetch, started by the gate once it has left the caller's lock.</summary>
    private async Task<AccessToken> RefreshAsync(bool force)
    {
        var started = _timeProvider.GetTimestamp();
        string? errorType = null;
        try
        {
            var token = await _gate.WithTimeoutAsync(
                _options.FetchTimeout,
                cancellationToken => _source.GetTokenAsync(cancellationToken).AsTask(),
                cancelled =>
                {
                    errorType = Metrics.TimeoutError;
                    return new AccessTokenException(AccessTokenFailure.Unavailable, $"Getting an access token took longer than {_options.FetchTimeout}.", cancelled);
                }).ConfigureAwait(false);

            var now = _timeProvider.GetUtcNow();
            if (token is not null)
            {
                WarnOfClockSkew(token, now);
            }

            if (token is null || token.ExpiresAt <= now + _options.MinimumRemainingLifetime)
            {
                errorType = Metrics.UnusableTokenError;
                throw new AccessTokenException(
                    AccessTokenFailure.InvalidResponse, "The token source returned a token that is already expired or about to expire.");
            }

            // The refresh is never planned after the token stops being usable, whatever the settings and lifetime.
            var usableUntil = token.ExpiresAt - _options.MinimumRemainingLifetime;
            var refreshAt = RefreshAt(token, now);
            var entry = new Entry(token, now, refreshAt < usableUntil ? refreshAt : usableUntil, usableUntil, force);
            _gate.Finish(succeeded: true, _ =>
            {
                _entry = entry;
                _retryAfter = DateTimeOffset.MinValue;
                _lastFailure = null;
            });

            _metrics.Acquired(force, _timeProvider.GetElapsedTime(started));
            Log.TokenAcquired(_logger, token.ExpiresAt, force);
            return token;
        }
        catch (Exception ex)
        {
            var failure = ex as AccessTokenException ?? new AccessTokenException($"Getting an access token failed: {ex.GetType().Name}.", ex);
            var retryAfter = DateTimeOffset.MinValue;
            var failures = _gate.Finish(succeeded: false, count =>
            {
                var delay = RefreshGate.Backoff(count, _options.MinimumRetryDelay, _options.MaximumRetryDelay);
                retryAfter = _retryAfter = _timeProvider.GetUtcNow() + delay;
                _lastFailure = failure;
            });

            _metrics.Failed(force, errorType ?? ex.GetType().FullName ?? ex.GetType().Name, _timeProvider.GetElapsedTime(started));
            Log.RefreshFailed(_logger, failures, retryAfter, failure);
            throw failure;
        }
    }

    /// <summary>
    /// A token just issued that is already expired, or not valid yet, by this machine's clock: the clocks differ. Said
    /// once per cache, since every token will show it until the clocks are fixed.
    /// </summary>
    private void WarnOfClockSkew(AccessToken token, DateTimeOffset now)
    {
        if (Volatile.Read(ref _clockSkewWarned) != 0)
        {
            return;
        }

        string problem;
        TimeSpan amount;
        if (token.ExpiresAt <= now)
        {
            problem = "already expired";
            amount = now - token.ExpiresAt;
        }
        else if (AccessToken.TryReadNotBefore(token.Value) is { } notBefore && notBefore > now + NotBeforeTolerance)
        {
            problem = "not valid yet";
            amount = notBefore - now;
        }
        else if (AccessToken.TryReadIssuedAt(token.Value) is { } issuedAt && issuedAt > now + NotBeforeTolerance)
        {
            problem = "issued in the future";
            amount = issuedAt - now;
        }
        else
        {
            return;
        }

        if (Interlocked.Exchange(ref _clockSkewWarned, 1) == 0)
        {
            Log.ClockSkewSuspected(_logger, problem, problem switch
            {
                "already expired" => $"expired {HumanDuration.Format(amount)} ago",
                "not valid yet" => $"valid in {HumanDuration.Format(amount)}",
                _ => $"issued in {HumanDuration.Format(amount)}",
            });
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
