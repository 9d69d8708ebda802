using System.Collections.Concurrent;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>
/// Counts how often each handler was entered, before it reads any message. A singleton of the test server, so a test
/// can show that a rejected call never reached its handler, or wait until one has.
/// </summary>
public sealed class HandlerEntries
{
    private readonly ConcurrentDictionary<string, int> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _entered = new(StringComparer.Ordinal);

    public int Total => _entries.Values.Sum();

    public int this[string method] => _entries.GetValueOrDefault(method);

    public void Enter(string method)
    {
        _entries.AddOrUpdate(method, 1, static (_, count) => count + 1);
        Entered(method).TrySetResult();
    }

    /// <summary>Completes once the handler of <paramref name="method"/> has been entered; bound it with a timeout.</summary>
    public Task WaitForAsync(string method) => Entered(method).Task;

    private TaskCompletionSource Entered(string method) =>
        _entered.GetOrAdd(method, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
