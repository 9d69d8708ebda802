using System.Runtime.ExceptionServices;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Protos;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>One complete call of each kind, bounded by <see cref="TestTimeout.Default"/>.</summary>
public static class ProbeCalls
{
    public static Task<ProbeReply> CallUnaryAsync(this Probe.ProbeClient client, CallOptions options, string name = "unary") =>
        client.UnaryAsync(new ProbeRequest { Name = name }, options).ResponseAsync.DefaultTimeout();

    public static Task<ProbeReply> CallAdminAsync(this Probe.ProbeClient client, CallOptions options) =>
        client.AdminAsync(new ProbeRequest { Name = "admin" }, options).ResponseAsync.DefaultTimeout();

    public static Task<ProbeReply> CallPublicAsync(this Probe.ProbeClient client, CallOptions options) =>
        client.PublicAsync(new ProbeRequest { Name = "public" }, options).ResponseAsync.DefaultTimeout();

    public static Task<List<ProbeReply>> CallServerStreamAsync(this Probe.ProbeClient client, CallOptions options, int count)
    {
        return Run().DefaultTimeout();

        async Task<List<ProbeReply>> Run()
        {
            using var call = client.ServerStream(new ProbeRequest { Name = "stream", Count = count }, options);
            var replies = new List<ProbeReply>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                replies.Add(call.ResponseStream.Current);
            }

            return replies;
        }
    }

    public static Task<ProbeReply> CallClientStreamAsync(this Probe.ProbeClient client, CallOptions options, int count)
    {
        return Run().DefaultTimeout();

        async Task<ProbeReply> Run()
        {
            using var call = client.ClientStream(options);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    await call.RequestStream.WriteAsync(new ProbeRequest { Name = $"message {i}" });
                }

                await call.RequestStream.CompleteAsync();
            }
            catch (RpcException writeFailure)
            {
                // A server that rejects the call ends it while the client may still be sending; the write then fails
                // (often as Cancelled) and the server's status is in the response, as for any gRPC client.
                await call.ResponseAsync;
                ExceptionDispatchInfo.Throw(writeFailure);
            }

            return await call.ResponseAsync;
        }
    }

    /// <summary>Sends each name and reads its echo before sending the next.</summary>
    public static Task<List<ProbeReply>> CallDuplexAsync(this Probe.ProbeClient client, CallOptions options, params string[] names)
    {
        return Run().DefaultTimeout();

        async Task<List<ProbeReply>> Run()
        {
            using var call = client.Duplex(options);
            var replies = new List<ProbeReply>();
            foreach (var name in names)
            {
                await WriteOrThrowStatusAsync(call.RequestStream, call.ResponseStream, new ProbeRequest { Name = name });
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "The echo of a message is missing.");
                replies.Add(call.ResponseStream.Current);
            }

            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None), "More replies than messages.");
            return replies;
        }
    }

    /// <summary>Writes; when the write fails because the server ended the call, throws the server's status instead.</summary>
    private static async Task WriteOrThrowStatusAsync(
        IClientStreamWriter<ProbeRequest> requests, IAsyncStreamReader<ProbeReply> responses, ProbeRequest request)
    {
        try
        {
            await requests.WriteAsync(request);
        }
        catch (RpcException writeFailure)
        {
            while (await responses.MoveNext(CancellationToken.None))
            {
            }

            ExceptionDispatchInfo.Throw(writeFailure);
        }
    }
}

public enum CallKind
{
    Unary,
    ServerStream,
    ClientStream,
    Duplex,
}

public static class CallKinds
{
    /// <summary>The Probe method exercising <paramref name="kind"/>; also the handler name in HandlerEntries.</summary>
    public static string Method(this CallKind kind) => kind.ToString();

    /// <summary>One call of <paramref name="kind"/> with three messages where the kind has a stream; all replies.</summary>
    public static async Task<IReadOnlyList<ProbeReply>> CallAsync(this Probe.ProbeClient client, CallKind kind, CallOptions options) =>
        kind switch
        {
            CallKind.Unary => [await client.CallUnaryAsync(options, "one")],
            CallKind.ServerStream => await client.CallServerStreamAsync(options, count: 3),
            CallKind.ClientStream => [await client.CallClientStreamAsync(options, count: 3)],
            CallKind.Duplex => await client.CallDuplexAsync(options, "one", "two", "three"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
}
