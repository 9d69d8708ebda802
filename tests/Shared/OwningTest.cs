using System.Runtime.ExceptionServices;

namespace GrpcJwtAuth.Testing;

/// <summary>
/// Owns what a test starts (servers, key endpoints) and disposes it after the test, newest first, as xunit's cleanup:
/// a disposal that fails (for example on an unexpected Error log) is then reported next to a failing assertion instead
/// of replacing it. Every failure is kept; one is rethrown as is, several as an <see cref="AggregateException"/>.
/// </summary>
public abstract class OwningTest : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    /// <summary>Disposes <paramref name="resource"/> when the test ends.</summary>
    protected T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        var failures = new List<Exception>();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            try
            {
                await _owned[i].DisposeAsync();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }

        if (failures.Count == 1)
        {
            ExceptionDispatchInfo.Throw(failures[0]);
        }

        if (failures.Count > 1)
        {
            throw new AggregateException(failures);
        }
    }
}
