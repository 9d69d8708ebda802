using System.Runtime.ExceptionServices;

namespace Greeter.Sample.Tests.Infrastructure;

/// <summary>
/// Owns the sample servers a test starts and disposes them after the test, newest first, as xunit's cleanup: an
/// unexpected Error log is then reported next to a failing assertion instead of replacing it.
/// </summary>
public abstract class SampleTest : IAsyncLifetime
{
    private readonly List<SampleServer> _owned = [];

    protected async Task<SampleServer> StartServerAsync(IEnumerable<string>? arguments = null, IEnumerable<string>? expectedErrors = null)
    {
        var server = await SampleServer.StartAsync(arguments, expectedErrors);
        _owned.Add(server);
        return server;
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
