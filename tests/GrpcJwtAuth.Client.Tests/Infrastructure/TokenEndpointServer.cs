using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>One request the token server received, as it arrived.</summary>
internal sealed record ReceivedRequest(
    string Method,
    string Path,
    string? ContentType,
    IReadOnlyDictionary<string, string> Form,
    string? Authorization,
    string? Accept);

/// <summary>
/// An OAuth 2.0 token endpoint on an in-process Kestrel (plain http, 127.0.0.1, port 0): <c>/token</c> answers what
/// the test set with <see cref="AnswerToken"/>; any path ending in <c>/.well-known/openid-configuration</c> answers
/// a discovery document naming <c>{BaseAddress}/token</c>, or what <see cref="AnswerDiscovery"/> set. Every request
/// is recorded with its method, content type, form fields and Authorization header.
/// </summary>
internal sealed class TokenEndpointServer : IAsyncDisposable
{
    public const string DiscoverySuffix = "/.well-known/openid-configuration";

    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private readonly WebApplication _app;
    private volatile Answer _token = new(200, """{"access_token":"opaque-token","token_type":"Bearer","expires_in":3600}""", "application/json");
    private volatile Answer? _discovery;
    private volatile TaskCompletionSource? _hold;
    private readonly TaskCompletionSource _streamEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _stream;
    private long _streamed;

    private TokenEndpointServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary><c>http://127.0.0.1:{port}</c>.</summary>
    public string BaseAddress { get; private set; } = string.Empty;

    public string TokenEndpoint => BaseAddress + "/token";

    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    public IReadOnlyList<ReceivedRequest> TokenRequests => [.. _requests.Where(request => !request.Path.EndsWith(DiscoverySuffix, StringComparison.Ordinal))];

    public int DiscoveryHits => _requests.Count(request => request.Path.EndsWith(DiscoverySuffix, StringComparison.Ordinal));

    public static async Task<TokenEndpointServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new TokenEndpointServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync().DefaultTimeout();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server.BaseAddress = address.TrimEnd('/');
        return server;
    }

    /// <summary>A loopback port nothing listens on: bound, read, and closed again.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void AnswerToken(int status, string body, string contentType = "application/json") => _token = new(status, body, contentType);

    /// <summary>
    /// Token requests get a 200 promising a longer body than is sent; the connection is dropped once the returned
    /// source completes.
    /// </summary>
    public TaskCompletionSource DropTokenResponsesMidBody()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _token = new(200, """{"access_token":"opaque""", "application/json", drop);
        return drop;
    }

    public void AnswerDiscovery(int status, string body, string contentType = "application/json") => _discovery = new(status, body, contentType);

    /// <summary>
    /// Token requests get a 200 whose body starts a JSON object and then streams <paramref name="totalBytes"/> of
    /// padding in chunks, without a Content-Length; <see cref="StreamedBytes"/> counts what was written before the
    /// client stopped reading, and <see cref="StreamEnded"/> completes when writing stopped.
    /// </summary>
    public void StreamTokenResponses(long totalBytes) => _stream = totalBytes;

    public long StreamedBytes => Interlocked.Read(ref _streamed);

    public Task StreamEnded => _streamEnded.Task;

    /// <summary>Token requests wait for the returned source before they are answered.</summary>
    public TaskCompletionSource HoldTokenRequests() =>
        _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        _hold?.TrySetResult();
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.HasFormContentType)
        {
            foreach (var field in await request.ReadFormAsync(context.RequestAborted))
            {
                form[field.Key] = field.Value.ToString();
            }
        }

        _requests.Enqueue(new ReceivedRequest(
            request.Method,
            request.Path.Value ?? string.Empty,
            request.ContentType,
            form,
            request.Headers.Authorization.Count == 0 ? null : request.Headers.Authorization.ToString(),
            request.Headers.Accept.Count == 0 ? null : request.Headers.Accept.ToString()));

        Answer answer;
        if (request.Path.Value?.EndsWith(DiscoverySuffix, StringComparison.Ordinal) == true)
        {
            answer = _discovery ?? new Answer(200, $$"""{"issuer":"{{BaseAddress}}","token_endpoint":"{{TokenEndpoint}}"}""", "application/json");
        }
        else
        {
            if (_hold is { } hold)
            {
                await hold.Task.WaitAsync(context.RequestAborted);
            }

            answer = _token;
        }

        if (Interlocked.Read(ref _stream) is > 0 and var total && !request.Path.Value!.EndsWith(DiscoverySuffix, StringComparison.Ordinal))
        {
            await StreamAsync(context, total);
            return;
        }

        context.Response.StatusCode = answer.Status;
        context.Response.ContentType = answer.ContentType;
        if (answer.DropMidBody is { } drop)
        {
            context.Response.ContentLength = 1000;
            await context.Response.WriteAsync(answer.Body, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await drop.Task.WaitAsync(context.RequestAborted);
            context.Abort();
            return;
        }

        await context.Response.WriteAsync(answer.Body, context.RequestAborted);
    }

    private async Task StreamAsync(HttpContext context, long total)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)' ');
        try
        {
            await context.Response.Body.WriteAsync("{\"padding\":\""u8.ToArray(), context.RequestAborted);
            for (var written = 0L; written < total; written += chunk.Length)
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                Interlocked.Add(ref _streamed, chunk.Length);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client stopped reading.
        }
        finally
        {
            _streamEnded.TrySetResult();
        }
    }

    private sealed record Answer(int Status, string Body, string ContentType, TaskCompletionSource? DropMidBody = null);
}
