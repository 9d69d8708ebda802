using System.Collections.Concurrent;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>
/// Counts how often each handler was entered, before it reads any message. A singleton of the test server, so a test
/// can show that a rejected call never reached its handler.
/// </summary>
public sealed class HandlerEntries
{
    private readonly ConcurrentDictionary<string, int> _entries = new(StringComparer.Ordinal);

    public int Total => _entries.Values.Sum();

    public int this[string method] => _entries.GetValueOrDefault(method);

    public void Enter(string method) => _entries.AddOrUpdate(method, 1, static (_, count) => count + 1);
}
