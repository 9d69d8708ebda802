using GrpcJwtAuth.Client;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>
/// A token source (no cache of its own) that counts how often it was asked and keeps every token it handed out.
/// <c>next</c> gets the 1-based number of the request, so a test can hand out a bad token first and good ones after.
/// </summary>
public sealed class CountingTokenSource(Func<int, ValueTask<AccessToken>> next) : IAccessTokenProvider
{
    private readonly Lock _gate = new();
    private readonly List<string> _issued = [];
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private int _calls;

    /// <summary>A source whose tokens are JWTs from <paramref name="mint"/>; their expiry is read from <c>exp</c>.</summary>
    public static CountingTokenSource FromJwts(Func<int, string> mint) =>
        new(call => ValueTask.FromResult(AccessToken.FromJwt(mint(call))));

    /// <summary>How often a token was asked for.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The tokens handed out so far, in order.</summary>
    public IReadOnlyList<string> Issued
    {
        get
        {
            lock (_gate)
            {
                return [.. _issued];
            }
        }
    }

    public async ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var token = await next(Interlocked.Increment(ref _calls));
        List<TaskCompletionSource> reached = [];
        lock (_gate)
        {
            _issued.Add(token.Value);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_issued.Count >= _waiters[i].Count)
                {
                    reached.Add(_waiters[i].Reached);
                    _waiters.RemoveAt(i);
                }
            }
        }

        reached.ForEach(waiter => waiter.TrySetResult());
        return token;
    }

    /// <summary>Completes once the source has handed out <paramref name="count"/> tokens in all.</summary>
    public Task WaitForTokensAsync(int count)
    {
        lock (_gate)
        {
            if (_issued.Count >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, reached));
            return reached.Task;
        }
    }
}
