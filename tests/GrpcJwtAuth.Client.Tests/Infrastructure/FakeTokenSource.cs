using System.Threading.Channels;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>
/// A token source the test drives. Each fetch is a <see cref="FetchCall"/> numbered from 1; by default it completes
/// at once with <c>token-N</c> living ten minutes from the fake clock's now. It can instead return chosen tokens,
/// throw, or stay pending until the test completes it (or its token is cancelled). Counts and queues calls.
/// </summary>
internal sealed class FakeTokenSource(TimeProvider timeProvider) : IAccessTokenProvider
{
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(10);

    private readonly Channel<FetchCall> _calls = Channel.CreateUnbounded<FetchCall>();
    private Action<FetchCall> _behavior = call => call.Complete(call.DefaultToken(DefaultLifetime));
    private int _count;

    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>How many times <see cref="GetTokenAsync"/> was called.</summary>
    public int Calls => Volatile.Read(ref _count);

    /// <summary>Every later fetch returns <c>token-N</c> expiring <paramref name="lifetime"/> from now.</summary>
    public void ReturnsTokensLiving(TimeSpan lifetime) => _behavior = call => call.Complete(call.DefaultToken(lifetime));

    /// <summary>Every later fetch returns what <paramref name="token"/> makes of it.</summary>
    public void Returns(Func<FetchCall, AccessToken> token) => _behavior = call => call.Complete(token(call));

    public void Throws(Exception exception) => _behavior = call => call.Fail(exception);

    /// <summary>Every later fetch stays pending until the test completes it or its token is cancelled.</summary>
    public void Blocks() => _behavior = call => call.CompleteWhenCancelled();

    /// <summary>Every later fetch stays pending until the test completes it, whatever its token says: a hung source.</summary>
    public void BlocksIgnoringCancellation() => _behavior = _ => { };

    /// <summary>Runs <paramref name="behavior"/> for each later fetch.</summary>
    public void Does(Action<FetchCall> behavior) => _behavior = behavior;

    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var call = new FetchCall(Interlocked.Increment(ref _count), TimeProvider.GetUtcNow(), cancellationToken);
        _behavior(call);
        _calls.Writer.TryWrite(call);
        return new ValueTask<AccessToken>(call.Task);
    }

    /// <summary>The next fetch, in call order; fails the test after 10 s.</summary>
    public async Task<FetchCall> NextCallAsync() => await _calls.Reader.ReadAsync().AsTask().DefaultTimeout();

    /// <summary>Fetch number <paramref name="number"/>, skipping earlier ones; fails the test after 10 s.</summary>
    public async Task<FetchCall> WaitForCallAsync(int number)
    {
        while (true)
        {
            var call = await NextCallAsync();
            if (call.Number >= number)
            {
                Assert.Equal(number, call.Number);
                return call;
            }
        }
    }
}

/// <summary>One fetch from <see cref="FakeTokenSource"/>.</summary>
internal sealed class FetchCall(int number, DateTimeOffset startedAt, CancellationToken cancellationToken)
{
    private readonly TaskCompletionSource<AccessToken> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Number { get; } = number;

    /// <summary>The fake clock's time when the fetch started.</summary>
    public DateTimeOffset StartedAt { get; } = startedAt;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public Task<AccessToken> Task => _result.Task;

    public AccessToken DefaultToken(TimeSpan lifetime) => new($"token-{Number}", StartedAt + lifetime);

    public void Complete(AccessToken token) => _result.TrySetResult(token);

    public void Complete(TimeSpan lifetime) => Complete(DefaultToken(lifetime));

    public void Fail(Exception exception) => _result.TrySetException(exception);

    public void CompleteWhenCancelled() =>
        CancellationToken.Register(() => _result.TrySetCanceled(CancellationToken));
}
