using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>
/// An HTTP/1.1 endpoint on a raw loopback socket that answers every request with 200 and a chunked JSON body of
/// <c>totalBytes</c>, sent in 64 KiB chunks until the client stops reading. A socket, not Kestrel: Kestrel quietly
/// discards writes once the client has gone, so only a socket's failing send tells how much the client let through.
/// </summary>
internal sealed class EndlessResponseServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _totalBytes;
    private long _sent;
    private Task _serving = Task.CompletedTask;

    private EndlessResponseServer(long totalBytes)
    {
        _totalBytes = totalBytes;
    }

    public string Address => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/token";

    /// <summary>Body bytes the socket accepted before the client went away (or all of them).</summary>
    public long SentBytes => Interlocked.Read(ref _sent);

    /// <summary>Completes when the server stopped sending.</summary>
    public Task Ended => _ended.Task;

    public static EndlessResponseServer Start(long totalBytes)
    {
        var server = new EndlessResponseServer(totalBytes);
        server._listener.Start();
        server._serving = server.ServeOneAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _serving.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task ServeOneAsync()
    {
        try
        {
            using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var stream = client.GetStream();
            await ReadHeadersAsync(stream);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"), _stop.Token);
            await WriteChunkAsync(stream, Encoding.ASCII.GetBytes("{\"padding\":\""));

            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)' ');
            for (var sent = 0L; sent < _totalBytes; sent += chunk.Length)
            {
                await WriteChunkAsync(stream, chunk);
                Interlocked.Add(ref _sent, chunk.Length);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client closed the connection (or the test ended).
        }
        finally
        {
            _ended.TrySetResult();
        }
    }

    private async Task WriteChunkAsync(NetworkStream stream, byte[] data)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{data.Length:X}\r\n"), _stop.Token);
        await stream.WriteAsync(data, _stop.Token);
        await stream.WriteAsync("\r\n"u8.ToArray(), _stop.Token);
    }

    private async Task ReadHeadersAsync(NetworkStream stream)
    {
        var seen = new List<byte>();
        var buffer = new byte[1];
        while (seen.Count < 64 * 1024 && await stream.ReadAsync(buffer, _stop.Token) == 1)
        {
            seen.Add(buffer[0]);
            if (seen.Count >= 4 && seen[^4] == '\r' && seen[^3] == '\n' && seen[^2] == '\r' && seen[^1] == '\n')
            {
                break;
            }
        }

        // The request body (the form) is small and needs no reading: the answer does not depend on it.
    }
}
