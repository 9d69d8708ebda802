using System.Runtime.ExceptionServices;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// Owns the servers a test starts and disposes them after the test, newest first. Disposal checks the captured logs,
/// and because it runs as xunit's cleanup, an unexpected Error log is reported next to a failing assertion instead
/// of hiding it.
/// </summary>
public abstract class IntegrationTest : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    protected async Task<GrpcTestServer> StartServerAsync(
        Action<GrpcJwtAuthOptions> configure,
        KeyServer? keyServer = null,
        TimeProvider? timeProvider = null,
        IEnumerable<string>? expectedErrors = null,
        bool plaintext = false)
    {
        var server = await GrpcTestServer.StartAsync(configure, keyServer, timeProvider, expectedErrors, plaintext);
        _owned.Add(server);
        return server;
    }

    protected async Task<KeyServer> StartKeyServerAsync(params TestSigningKey[] keys)
    {
        var server = await KeyServer.StartAsync(keys);
        _owned.Add(server);
        return server;
    }

    protected async Task<TokenServer> StartTokenServerAsync(Func<TokenRequest, string> mint)
    {
        var server = await TokenServer.StartAsync(mint);
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
