using Grpc.Core;
using GrpcJwtAuth.Streams;

namespace GrpcJwtAuth.Server;

/// <summary>
/// Ends a streaming call when its token expires (<c>exp</c> + clock skew): a timer on the injected
/// <see cref="TimeProvider"/> cancels the token the handler sees, so idle streams end too, and every later read or
/// write fails. The interceptor then reports <c>Unauthenticated</c>. A timer cannot wait longer than about 49 days,
/// so a far deadline is reached in steps of at most <see cref="LongestTimer"/>, each checking the clock again.
/// </summary>
internal sealed class StreamExpiry : IDisposable
{
    /// <summary>The longest single wait; well under the ~49.7-day limit of system timers.</summary>
    internal static readonly TimeSpan LongestTimer = TimeSpan.FromDays(30);

    private readonly CancellationTokenSource _cancellation;
    private readonly TimeProvider _timeProvider;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private DateTimeOffset _deadline;
    private volatile bool _expired;

    private StreamExpiry(CancellationToken callCancelled, DateTimeOffset deadline, TimeProvider timeProvider)
    {
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);
        _deadline = deadline;
        _timeProvider = timeProvider;
        _timer = timeProvider.CreateTimer(
            static state => ((StreamExpiry)state!).OnTimer(), this, NextWait(), Timeout.InfiniteTimeSpan);
    }

    /// <summary>Cancelled when the call is cancelled or the token expires.</summary>
    public CancellationToken Token => _cancellation.Token;

    public bool Expired => _expired;

    /// <summary>When the call ends unless it is renewed.</summary>
    public DateTimeOffset Deadline
    {
        get
        {
            lock (_gate)
            {
                return _deadline;
            }
        }
    }

    /// <summary>Starts watching until <paramref name="deadline"/>, however far away it is.</summary>
    public static StreamExpiry Start(ServerCallContext context, DateTimeOffset deadline, TimeProvider timeProvider) =>
        new(context.CancellationToken, deadline, timeProvider);

    public void ThrowIfExpired()
    {
        if (_expired)
        {
            throw CreateException();
        }
    }

    public static RpcException CreateException() => AuthFailures.Get(AuthFailure.TokenExpiredDuringCall).CreateException();

    /// <summary>
    /// Moves the end to <paramref name="deadline"/> (a renewal's token), unless the call has already been ended for
    /// expiry; never moves it earlier.
    /// </summary>
    /// <returns>Whether the call still runs, now until the later of the two deadlines.</returns>
    public bool Extend(DateTimeOffset deadline)
    {
        lock (_gate)
        {
            if (_expired)
            {
                return false;
            }

            if (deadline > _deadline)
            {
                _deadline = deadline;
                try
                {
                    // A disposed timer refuses the change: the system clock's returns false, others may throw.
                    if (!_timer.Change(NextWait(), Timeout.InfiniteTimeSpan))
                    {
                        return false;
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The call ended first.
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The next wait: until the deadline, at most <see cref="LongestTimer"/>, never negative. Called under <see cref="_gate"/>.</summary>
    private TimeSpan NextWait()
    {
        var dueIn = _deadline - _timeProvider.GetUtcNow();
        return dueIn <= TimeSpan.Zero ? TimeSpan.Zero : dueIn > LongestTimer ? LongestTimer : dueIn;
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            if (_timeProvider.GetUtcNow() >= _deadline)
            {
                _expired = true;
            }
            else
            {
                try
                {
                    // A step of a longer wait, or a renewal moved the end; _timer is set unless a zero wait fired
                    // inside CreateTimer, which expires above.
                    _timer?.Change(NextWait(), Timeout.InfiniteTimeSpan);
                }
                catch (ObjectDisposedException)
                {
                    // The call ended first.
                }

                return;
            }
        }

        Expire();
    }

    private void Expire()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call ended first.
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _cancellation.Dispose();
    }
}

/// <summary>The handler's view of a call whose token can expire: the same call, with the expiry's cancellation token.</summary>
internal sealed class ExpiringServerCallContext(ServerCallContext inner, StreamExpiry expiry, RenewableStream? renewable = null) : ServerCallContext
{
    // grpc-dotnet's GetHttpContext() falls back to this user-state key for wrapped contexts.
    private const string HttpContextKey = "__HttpContext";

    private readonly IDictionary<object, object> _userState = WithHttpContext(inner);

    protected override string MethodCore => inner.Method;

    protected override string HostCore => inner.Host;

    protected override string PeerCore => inner.Peer;

    protected override DateTime DeadlineCore => inner.Deadline;

    protected override Metadata RequestHeadersCore => inner.RequestHeaders;

    protected override CancellationToken CancellationTokenCore => expiry.Token;

    protected override Metadata ResponseTrailersCore => inner.ResponseTrailers;

    protected override Status StatusCore
    {
        get => inner.Status;
        set => inner.Status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    protected override AuthContext AuthContextCore => inner.AuthContext;

    protected override IDictionary<object, object> UserStateCore => _userState;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        inner.CreatePropagationToken(options);

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        expiry.ThrowIfExpired();
        return renewable is null ? inner.WriteResponseHeadersAsync(responseHeaders) : renewable.WriteResponseHeadersAsync(responseHeaders);
    }

    private static IDictionary<object, object> WithHttpContext(ServerCallContext inner)
    {
        var state = inner.UserState;
        state[HttpContextKey] = inner.GetHttpContext();
        return state;
    }
}

/// <summary>Reads requests until the token expires; then fails with <c>Unauthenticated</c>.</summary>
internal sealed class ExpiringStreamReader<T>(IAsyncStreamReader<T> inner, StreamExpiry expiry) : IAsyncStreamReader<T>
{
    public T Current => inner.Current;

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        expiry.ThrowIfExpired();
        CancellationTokenSource? linked = null;
        var token = expiry.Token;
        if (cancellationToken.CanBeCanceled && cancellationToken != expiry.Token)
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
            token = linked.Token;
        }

        try
        {
            return await inner.MoveNext(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (expiry.Expired)
        {
            throw StreamExpiry.CreateException();
        }
        finally
        {
            linked?.Dispose();
        }
    }
}

/// <summary>
/// Writes responses until the token expires; then fails with <c>Unauthenticated</c>. The first write of a renewable
/// stream carries its call id in the response headers it sends.
/// </summary>
internal sealed class ExpiringStreamWriter<T>(IServerStreamWriter<T> inner, StreamExpiry expiry, RenewableStream? renewable = null) : IServerStreamWriter<T>
{
    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    public Task WriteAsync(T message)
    {
        expiry.ThrowIfExpired();
        return renewable is { HeadersSent: false } ? WriteFirstAsync(message, CancellationToken.None) : inner.WriteAsync(message);
    }

    public Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        expiry.ThrowIfExpired();
        return renewable is { HeadersSent: false } ? WriteFirstAsync(message, cancellationToken) : inner.WriteAsync(message, cancellationToken);
    }

    private async Task WriteFirstAsync(T message, CancellationToken cancellationToken)
    {
        await renewable!.BeforeFirstWriteAsync().ConfigureAwait(false);
        await inner.WriteAsync(message, cancellationToken).ConfigureAwait(false);
    }
}
