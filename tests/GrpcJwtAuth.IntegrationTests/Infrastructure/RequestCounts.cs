using System.Collections.Concurrent;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// Every request the test server received, per path, counted by a middleware before GrpcJwtAuth or any handler runs:
/// a call the interceptor rejects counts too, so a test can show how often a client really called.
/// </summary>
public sealed class RequestCounts
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public int Total => _counts.Values.Sum();

    /// <summary>Requests for <paramref name="path"/>, such as <c>/test.Probe/Unary</c>.</summary>
    public int this[string path] => _counts.GetValueOrDefault(path);

    public void Record(string path) => _counts.AddOrUpdate(path, 1, static (_, count) => count + 1);
}
