using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>How the key server answers.</summary>
public enum KeyServerBehavior
{
    /// <summary>The discovery document and the current key set.</summary>
    Serve,

    /// <summary>500 on every request.</summary>
    Fail,

    /// <summary>200 with a body that is not JSON, on every request.</summary>
    Malformed,

    /// <summary>Holds every request until the behavior changes; then answers with the new behavior.</summary>
    Hang,
}

/// <summary>
/// An identity provider's key endpoints on a second in-process Kestrel (HTTPS, own certificate, 127.0.0.1, port 0):
/// <c>/.well-known/openid-configuration</c> naming itself as issuer and <c>/jwks</c> as its key set. The key set can
/// be swapped while running, every request is counted per path, and tests can wait for a count to be reached.
/// Two ways down: <see cref="SetBehavior"/> keeps accepting connections but fails each request, and
/// <see cref="StopAsync"/> closes the port (connections refused) until <see cref="RestartAsync"/> binds it again.
/// </summary>
public sealed class KeyServer : IAsyncDisposable
{
    public const string DiscoveryPath = "/.well-known/openid-configuration";
    public const string JwksPath = "/jwks";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _hits = new(StringComparer.Ordinal);
    private readonly List<(string Path, int Count, TaskCompletionSource Reached)> _waiters = [];
    private string _jwks;
    private KeyServerBehavior _behavior = KeyServerBehavior.Serve;
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;

    private KeyServer(string jwks)
    {
        _jwks = jwks;
    }

    public TestCertificate Certificate { get; } = TestCertificate.CreateForLocalhost();

    public LogCapture Logs { get; } = new();

    public int Port { get; private set; }

    /// <summary>The base address, which is also the issuer its discovery document names unless <see cref="DiscoveryIssuer"/> is set.</summary>
    public string Issuer => $"https://127.0.0.1:{Port}";

    /// <summary>The <c>issuer</c> the discovery document names instead of <see cref="Issuer"/> (empty: none), for a document that lies.</summary>
    public string? DiscoveryIssuer { get; set; }

    /// <summary>The <c>jwks_uri</c> the discovery document names instead of <see cref="JwksUri"/> (empty: none).</summary>
    public string? DiscoveryJwksUri { get; set; }

    /// <summary>Whether answers declare their length (<c>Content-Length</c>) instead of being chunked.</summary>
    public bool DeclareContentLength { get; set; }

    public string JwksUri => Issuer + JwksPath;

    /// <summary>The path whose fetches count as "key set fetched": the JWKS, in both discovery and JWKS setups.</summary>
    public int JwksHits => Hits(JwksPath);

    public static async Task<KeyServer> StartAsync(params TestSigningKey[] keys)
    {
        var server = new KeyServer(TestSigningKey.JwksJson(keys));
        await server.ListenAsync(port: 0);
        return server;
    }

    /// <summary>Replaces the key set served from now on (rotation).</summary>
    public void Publish(params TestSigningKey[] keys) => PublishJwks(TestSigningKey.JwksJson(keys));

    public void PublishJwks(string json)
    {
        lock (_gate)
        {
            _jwks = json;
        }
    }

    /// <summary>Changes how requests are answered. Leaving <see cref="KeyServerBehavior.Hang"/> releases held requests.</summary>
    public void SetBehavior(KeyServerBehavior behavior)
    {
        TaskCompletionSource? release = null;
        lock (_gate)
        {
            if (behavior == KeyServerBehavior.Hang && _behavior != KeyServerBehavior.Hang)
            {
                _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            else if (behavior != KeyServerBehavior.Hang && _behavior == KeyServerBehavior.Hang)
            {
                release = _release;
            }

            _behavior = behavior;
        }

        release?.TrySetResult();
    }

    /// <summary>Requests seen for <paramref name="path"/>, whatever they were answered.</summary>
    public int Hits(string path)
    {
        lock (_gate)
        {
            return _hits.GetValueOrDefault(path);
        }
    }

    /// <summary>Requests seen for any path, whatever they were answered.</summary>
    public int TotalHits
    {
        get
        {
            lock (_gate)
            {
                return _hits.Values.Sum();
            }
        }
    }

    /// <summary>Completes when <paramref name="path"/> has been requested <paramref name="count"/> times in all.</summary>
    public Task WaitForHitsAsync(string path, int count)
    {
        lock (_gate)
        {
            if (_hits.GetValueOrDefault(path) >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((path, count, reached));
            return reached.Task;
        }
    }

    /// <summary>Closes the port: fetches fail with "connection refused" until <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
        {
            await TestHost.StopAsync(app);
        }
    }

    /// <summary>Listens again on the same port, with the key set and counters it had.</summary>
    public Task RestartAsync() => ListenAsync(Port);

    public async ValueTask DisposeAsync()
    {
        SetBehavior(KeyServerBehavior.Serve);
        await StopAsync();
        Certificate.Dispose();
        Logs.AssertNoUnexpectedErrors("The key server");
    }

    private async Task ListenAsync(int port)
    {
        var builder = TestHost.CreateBuilder(
            "KeyServer", Logs, LogLevel.Information, Certificate, port, HttpProtocols.Http1AndHttp2);
        var app = builder.Build();
        app.Run(HandleAsync);
        Port = await TestHost.StartAsync(app);
        _app = app;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var (behavior, release, jwks) = RecordHit(path);
        while (behavior == KeyServerBehavior.Hang)
        {
            try
            {
                await release.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The client gave up (its fetch timed out): nothing to answer.
                return;
            }

            (behavior, release, jwks) = Snapshot();
        }

        switch (behavior)
        {
            case KeyServerBehavior.Fail:
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync("key server failing on purpose");
                return;
            case KeyServerBehavior.Malformed:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"keys\": [ this is not json");
                return;
        }

        if (path == DiscoveryPath)
        {
            var document = new Dictionary<string, string>
            {
                ["issuer"] = DiscoveryIssuer ?? Issuer,
                ["jwks_uri"] = DiscoveryJwksUri ?? JwksUri,
            };
            foreach (var empty in document.Where(member => member.Value.Length == 0).ToList())
            {
                document.Remove(empty.Key);
            }

            await WriteJsonAsync(context, System.Text.Json.JsonSerializer.Serialize(document));
        }
        else if (path == JwksPath)
        {
            await WriteJsonAsync(context, jwks);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
        }
    }

    private async Task WriteJsonAsync(HttpContext context, string json)
    {
        context.Response.ContentType = "application/json";
        if (DeclareContentLength)
        {
            context.Response.ContentLength = System.Text.Encoding.UTF8.GetByteCount(json);
        }

        try
        {
            await context.Response.WriteAsync(json, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client stopped reading (a document over its size limit): nothing more to send.
        }
    }

    private (KeyServerBehavior Behavior, Task Release, string Jwks) RecordHit(string path)
    {
        List<TaskCompletionSource>? reached = null;
        (KeyServerBehavior, Task, string) snapshot;
        lock (_gate)
        {
            var hits = _hits.GetValueOrDefault(path) + 1;
            _hits[path] = hits;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Path == path && hits >= _waiters[i].Count)
                {
                    (reached ??= []).Add(_waiters[i].Reached);
                    _waiters.RemoveAt(i);
                }
            }

            snapshot = (_behavior, _release.Task, _jwks);
        }

        reached?.ForEach(waiter => waiter.TrySetResult());
        return snapshot;
    }

    private (KeyServerBehavior Behavior, Task Release, string Jwks) Snapshot()
    {
        lock (_gate)
        {
            return (_behavior, _release.Task, _jwks);
        }
    }
}
