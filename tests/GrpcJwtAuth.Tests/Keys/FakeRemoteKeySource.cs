using System.Threading.Channels;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;


namespace GrpcJwtAuth.Tests.Keys;

/// <summary>
/// A key source the test drives: each fetch is a <see cref="FetchCall"/> that completes at once (with keys or an
/// error) or stays pending until the test completes it or the fetch's token is cancelled. Counts and queues calls.
/// </summary>
internal sealed class FakeRemoteKeySource : IRemoteKeySource
{
    private readonly Channel<FetchCall> _calls = Channel.CreateUnbounded<FetchCall>();
    private Action<FetchCall> _behavior = call => call.Fail();
    private int _count;

    public string Address => "https://keys.test/jwks";

    /// <summary>How many times <see cref="FetchAsync"/> was called.</summary>
    public int Calls => Volatile.Read(ref _count);

    public void Returns(params TestSigningKey[] keys) => Returns(new RemoteKeys(PublicKeys(keys), Issuer: null));

    public void Returns(RemoteKeys keys) => _behavior = call => call.Complete(keys);

    public void Throws() => _behavior = call => call.Fail();

    /// <summary>Every later fetch stays pending until completed by the test or cancelled by its token.</summary>
    public void Blocks() => _behavior = _ => { };

    public Task<RemoteKeys> FetchAsync(CancellationToken cancellationToken)
    {
        var call = new FetchCall(Interlocked.Increment(ref _count), cancellationToken);
        _behavior(call);
        _calls.Writer.TryWrite(call);
        return call.Task;
    }

    /// <summary>The next fetch, in call order; fails the test after 10 s.</summary>
    public async Task<FetchCall> NextCallAsync() =>
        await _calls.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public static SigningKey[] PublicKeys(params TestSigningKey[] keys) => keys.Select(key => SigningKey.Of(key.PublicKey, key.Algorithm)).ToArray();
}

internal sealed class FetchCall
{
    private readonly TaskCompletionSource<RemoteKeys> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FetchCall(int number, CancellationToken cancellationToken)
    {
        Number = number;
        CancellationToken = cancellationToken;
        cancellationToken.Register(() => _result.TrySetCanceled(cancellationToken));
    }

    public int Number { get; }

    public CancellationToken CancellationToken { get; }

    public Task<RemoteKeys> Task => _result.Task;

    public void Complete(params TestSigningKey[] keys) => Complete(new RemoteKeys(FakeRemoteKeySource.PublicKeys(keys), Issuer: null));

    public void Complete(RemoteKeys keys) => _result.TrySetResult(keys);

    public void Fail() => _result.TrySetException(new HttpRequestException("key source unreachable"));
}
