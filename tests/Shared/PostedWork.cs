namespace GrpcJwtAuth.Testing;

/// <summary>
/// Runs code under a <see cref="SynchronizationContext"/> that keeps what is posted to it instead of running it.
/// Background work the code starts by yielding (<c>await Task.Yield()</c>) stays queued here, so a test can see
/// synchronously whether any was started (<see cref="Count"/>), and run it when it chooses
/// (<see cref="RunAll"/>). Only the code inside <see cref="Capture{T}"/> runs under this context.
/// </summary>
internal sealed class PostedWork : SynchronizationContext
{
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();

    /// <summary>How many callbacks were posted and not yet run.</summary>
    public int Count
    {
        get
        {
            lock (_queue)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> with this context current, then puts the previous one back.</summary>
    public T Capture<T>(Func<T> action)
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            return action();
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }

    /// <summary>Runs every posted callback on this thread (without this context), including ones they post.</summary>
    public void RunAll()
    {
        while (true)
        {
            (SendOrPostCallback Callback, object? State) item;
            lock (_queue)
            {
                if (!_queue.TryDequeue(out item))
                {
                    return;
                }
            }

            item.Callback(item.State);
        }
    }

    public override void Post(SendOrPostCallback d, object? state)
    {
        lock (_queue)
        {
            _queue.Enqueue((d, state));
        }
    }

    public override void Send(SendOrPostCallback d, object? state) => d(state);

    public override SynchronizationContext CreateCopy() => this;
}
