using Grpc.Core;
using Grpc.Core.Interceptors;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>What one attempt sent: its call options, every <c>authorization</c> value and all metadata on the wire.</summary>
internal sealed record SentAttempt(int Number, CallOptions Options, IReadOnlyList<string> Authorization, Metadata Sent);

/// <summary>
/// Stands in for grpc-dotnet below the interceptor, as the continuations an <see cref="Interceptor"/> is given.
/// Each attempt merges the call's headers with what its call credentials add (run by
/// <see cref="CallCredentialsRunner"/>, as a secure channel does; an insecure channel skips them, which
/// <see cref="RunsCredentials"/> = false imitates), records the <c>authorization</c> values, and answers with the
/// status <see cref="Respond"/> picks for that attempt. Credentials that throw an <see cref="RpcException"/> fail the
/// attempt with its status; any other exception fails it with <c>Internal</c> and "Error starting gRPC call. {type}:
/// {message}", as grpc-dotnet does.
/// </summary>
internal sealed class FakeTransport
{
    private readonly Lock _gate = new();
    private readonly List<SentAttempt> _attempts = [];

    public string ServiceUrl { get; set; } = "https://host/test.Probe";

    public bool RunsCredentials { get; set; } = true;

    /// <summary>Added to every attempt's response headers (such as a stream's call id). Defaults to none.</summary>
    public Metadata ResponseHeaders { get; } = [];

    /// <summary>The status of attempt N (from 1), given what it sent. Defaults to OK.</summary>
    public Func<SentAttempt, StatusCode> Respond { get; set; } = _ => StatusCode.OK;

    public IReadOnlyList<SentAttempt> Attempts
    {
        get
        {
            lock (_gate)
            {
                return [.. _attempts];
            }
        }
    }

    public int Disposed { get; private set; }

    public static ClientInterceptorContext<string, string> Context(MethodType type = MethodType.Unary, CallOptions options = default) =>
        new(TestMethods.Get(type), host: null, options);

    public AsyncUnaryCall<string> UnaryCall(string request, ClientInterceptorContext<string, string> context)
    {
        var outcome = SendAsync(context.Options);
        return new AsyncUnaryCall<string>(
            ResponseAsync(outcome),
            HeadersAsync(outcome),
            () => Completed(outcome).Status,
            () => Completed(outcome).Trailers,
            () => Disposed++);
    }

    public string BlockingUnaryCall(string request, ClientInterceptorContext<string, string> context) =>
        ResponseAsync(SendAsync(context.Options)).GetAwaiter().GetResult();

    public AsyncServerStreamingCall<string> ServerStreamingCall(string request, ClientInterceptorContext<string, string> context)
    {
        var outcome = SendAsync(context.Options);
        return new AsyncServerStreamingCall<string>(
            new Reader(outcome), HeadersAsync(outcome), () => Completed(outcome).Status, () => Completed(outcome).Trailers, () => Disposed++);
    }

    public AsyncClientStreamingCall<string, string> ClientStreamingCall(ClientInterceptorContext<string, string> context)
    {
        var outcome = SendAsync(context.Options);
        return new AsyncClientStreamingCall<string, string>(
            new Writer(), ResponseAsync(outcome), HeadersAsync(outcome), () => Completed(outcome).Status, () => Completed(outcome).Trailers, () => Disposed++);
    }

    public AsyncDuplexStreamingCall<string, string> DuplexStreamingCall(ClientInterceptorContext<string, string> context)
    {
        var outcome = SendAsync(context.Options);
        return new AsyncDuplexStreamingCall<string, string>(
            new Writer(), new Reader(outcome), HeadersAsync(outcome), () => Completed(outcome).Status, () => Completed(outcome).Trailers, () => Disposed++);
    }

    private async Task<Outcome> SendAsync(CallOptions options)
    {
        await Task.Yield();
        var sent = new Metadata();
        foreach (var entry in options.Headers ?? [])
        {
            sent.Add(entry);
        }

        if (RunsCredentials && options.Credentials is { } credentials)
        {
            try
            {
                foreach (var entry in await CallCredentialsRunner.RunAsync(credentials, ServiceUrl))
                {
                    sent.Add(entry);
                }
            }
            catch (RpcException ex)
            {
                // grpc-dotnet keeps the status of an RpcException thrown by call credentials.
                return Record(options, sent, ex.Status);
            }
            catch (Exception ex)
            {
                return Record(options, sent, new Status(StatusCode.Internal, $"Error starting gRPC call. {ex.GetType().Name}: {ex.Message}", ex));
            }
        }

        return Record(options, sent, status: null);
    }

    private Outcome Record(CallOptions options, Metadata sent, Status? status)
    {
        SentAttempt attempt;
        lock (_gate)
        {
            attempt = new SentAttempt(
                _attempts.Count + 1,
                options,
                [.. sent.Where(entry => entry.Key == "authorization").Select(entry => entry.Value)],
                sent);
            _attempts.Add(attempt);
        }

        var code = status?.StatusCode ?? Respond(attempt);
        var marker = new Metadata { { "attempt", attempt.Number.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
        var headers = new Metadata { marker[0] };
        foreach (var entry in ResponseHeaders)
        {
            headers.Add(entry);
        }

        return new Outcome(status ?? new Status(code, $"attempt {attempt.Number}"), headers, marker);
    }

    private static async Task<string> ResponseAsync(Task<Outcome> outcome)
    {
        var result = await outcome;
        if (result.Status.StatusCode != StatusCode.OK)
        {
            throw new RpcException(result.Status, result.Trailers);
        }

        return $"reply to attempt {result.Trailers.GetValue("attempt")}";
    }

    private static async Task<Metadata> HeadersAsync(Task<Outcome> outcome) => (await outcome).Headers;

    private static Outcome Completed(Task<Outcome> outcome) =>
        outcome.IsCompletedSuccessfully ? outcome.Result : throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    private sealed record Outcome(Status Status, Metadata Headers, Metadata Trailers);

    private sealed class Reader(Task<Outcome> outcome) : IAsyncStreamReader<string>
    {
        private bool _read;

        public string Current { get; private set; } = string.Empty;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var result = await outcome;
            if (result.Status.StatusCode != StatusCode.OK)
            {
                throw new RpcException(result.Status, result.Trailers);
            }

            if (_read)
            {
                return false;
            }

            _read = true;
            Current = "message";
            return true;
        }
    }

    private sealed class Writer : IClientStreamWriter<string>
    {
        public WriteOptions? WriteOptions { get; set; }

        public Task CompleteAsync() => Task.CompletedTask;

        public Task WriteAsync(string message) => Task.CompletedTask;
    }
}
