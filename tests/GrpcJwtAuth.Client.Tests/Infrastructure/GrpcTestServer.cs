using System.Collections.Concurrent;
using System.Net;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>One call the test service received: method, every <c>authorization</c> value, and whether over TLS.</summary>
internal sealed record ReceivedCall(string Method, IReadOnlyList<string> Authorization, bool OverTls);

/// <summary>
/// The test service (<see cref="TestMethods"/>) on an in-process Kestrel with two HTTP/2 endpoints on 127.0.0.1,
/// port 0: TLS with an in-memory certificate that clients pin, and plaintext (h2c). A call is let through when it
/// carries exactly one <c>authorization</c> value and that value was not rejected with <see cref="Reject"/>;
/// otherwise it fails with <c>Unauthenticated</c> before sending anything else (a trailers-only response, with the
/// trailer <c>x-stage: rejected</c>). Every call is recorded. Shared by the tests of one class (xunit runs them one
/// at a time); each test starts with <see cref="Reset"/>.
/// </summary>
public sealed class GrpcTestServer : IAsyncLifetime
{
    private readonly TestCertificate _certificate = TestCertificate.CreateForLocalhost();
    private readonly ProbeState _state = new();
    private WebApplication? _app;

    /// <summary><c>https://127.0.0.1:{port}</c>.</summary>
    public Uri HttpsAddress { get; private set; } = null!;

    /// <summary><c>http://127.0.0.1:{port}</c> (HTTP/2 without TLS).</summary>
    public Uri HttpAddress { get; private set; } = null!;

    internal IReadOnlyList<ReceivedCall> Calls => [.. _state.Calls];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(_certificate.Certificate);
            });
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_state);
        builder.Services.AddSingleton<IServiceMethodProvider<ProbeService>, ProbeServiceMethodProvider>();

        _app = builder.Build();
        _app.MapGrpcService<ProbeService>();
        await _app.StartAsync().DefaultTimeout();

        var addresses = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        HttpsAddress = new Uri(addresses.Single(address => address.StartsWith("https://", StringComparison.Ordinal)));
        HttpAddress = new Uri(addresses.Single(address => address.StartsWith("http://", StringComparison.Ordinal)));
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().DefaultTimeout();
            await _app.DisposeAsync();
        }

        _certificate.Dispose();
    }

    /// <summary>Forgets recorded calls and rejected tokens, and lets a held <see cref="TestMethods.HeadersFirst"/> call answer.</summary>
    public void Reset()
    {
        _state.Calls.Clear();
        _state.Rejected.Clear();
        _state.Hold?.Release();
        _state.Hold = null;
    }

    /// <summary>
    /// An admitted <see cref="TestMethods.HeadersFirst"/> call sends the response headers <c>x-stage: headers</c> and
    /// <c>x-call: N</c> (its number among the calls received, from 1), then waits for <see cref="HeldCall.Release"/>
    /// (or for the call to end) before it answers.
    /// </summary>
    internal HeldCall HoldAfterHeaders() => _state.Hold = new HeldCall();

    /// <summary>Calls carrying <c>Bearer {token}</c> fail with <c>Unauthenticated</c>.</summary>
    public void Reject(params string[] tokens)
    {
        foreach (var token in tokens)
        {
            _state.Rejected[$"Bearer {token}"] = 0;
        }
    }

    /// <summary>A handler for <see cref="HttpsAddress"/> that trusts the server's certificate and no other.</summary>
    public HttpMessageHandler CreatePinnedHandler() => _certificate.CreatePinnedHandler();

    /// <summary>A channel to the TLS endpoint (pinned) or the plaintext one.</summary>
    public GrpcChannel CreateChannel(bool overTls = true, Action<GrpcChannelOptions>? configure = null)
    {
        var options = new GrpcChannelOptions
        {
            HttpHandler = overTls ? CreatePinnedHandler() : new SocketsHttpHandler(),
            DisposeHttpClient = true,
        };
        configure?.Invoke(options);
        return GrpcChannel.ForAddress(overTls ? HttpsAddress : HttpAddress, options);
    }

    internal sealed class ProbeState
    {
        public ConcurrentQueue<ReceivedCall> Calls { get; } = new();

        public ConcurrentDictionary<string, byte> Rejected { get; } = new(StringComparer.Ordinal);

        public HeldCall? Hold { get; set; }

        /// <summary>Records the call and returns its number (from 1), or throws <c>Unauthenticated</c>.</summary>
        public int Admit(ServerCallContext context)
        {
            var authorization = context.RequestHeaders.Where(entry => entry.Key == "authorization").Select(entry => entry.Value).ToArray();
            Calls.Enqueue(new ReceivedCall(context.Method, authorization, context.GetHttpContext().Request.IsHttps));
            var number = Calls.Count;
            if (authorization.Length != 1 || Rejected.ContainsKey(authorization[0]))
            {
                throw new RpcException(
                    new Status(StatusCode.Unauthenticated, "token rejected by the test server"),
                    new Metadata { { "x-stage", "rejected" } });
            }

            return number;
        }
    }

    /// <summary>The <see cref="TestMethods.HeadersFirst"/> calls held after their headers, until released.</summary>
    internal sealed class HeldCall
    {
        private readonly TaskCompletionSource _headersSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when an admitted call has sent its headers; fails the test after 10 s.</summary>
        public Task HeadersSent => _headersSent.Task.DefaultTimeout();

        /// <summary>Completes when a held call ended (the client cancelled it) before it was released; fails the test after 10 s.</summary>
        public Task Abandoned => _abandoned.Task.DefaultTimeout();

        public void Release() => _released.TrySetResult();

        internal async Task<string> AnswerAsync(int number, string request, ServerCallContext context)
        {
            await context.WriteResponseHeadersAsync(new Metadata
            {
                { "x-stage", "headers" },
                { "x-call", number.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            });
            _headersSent.TrySetResult();
            try
            {
                await _released.Task.WaitAsync(context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                _abandoned.TrySetResult();
                throw;
            }

            return $"hello {request}";
        }
    }

    internal sealed class ProbeService(ProbeState state)
    {
        public Task<string> Unary(string request, ServerCallContext context)
        {
            state.Admit(context);
            return Task.FromResult($"hello {request}");
        }

        public Task<string> HeadersFirst(string request, ServerCallContext context)
        {
            var number = state.Admit(context);
            var hold = state.Hold ?? throw new InvalidOperationException("Call HoldAfterHeaders() first.");
            return hold.AnswerAsync(number, request, context);
        }

        public async Task ServerStreaming(string request, IServerStreamWriter<string> responses, ServerCallContext context)
        {
            state.Admit(context);
            await responses.WriteAsync($"hello {request}");
            await responses.WriteAsync("bye");
        }
    }

    private sealed class ProbeServiceMethodProvider : IServiceMethodProvider<ProbeService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<ProbeService> context)
        {
            context.AddUnaryMethod(TestMethods.Unary, [], (service, request, callContext) => service.Unary(request, callContext));
            context.AddUnaryMethod(TestMethods.HeadersFirst, [], (service, request, callContext) => service.HeadersFirst(request, callContext));
            context.AddServerStreamingMethod(
                TestMethods.ServerStreaming, [], (service, request, responses, callContext) => service.ServerStreaming(request, responses, callContext));
        }
    }
}

/// <summary>A client for the test service, as the gRPC client factory creates clients.</summary>
internal sealed class ProbeClient : ClientBase<ProbeClient>
{
    public ProbeClient(CallInvoker callInvoker)
        : base(callInvoker)
    {
    }

    public ProbeClient(ChannelBase channel)
        : base(channel)
    {
    }

    private ProbeClient(ClientBaseConfiguration configuration)
        : base(configuration)
    {
    }

    public AsyncUnaryCall<string> UnaryAsync(string request, CallOptions options = default) =>
        CallInvoker.AsyncUnaryCall(TestMethods.Unary, null, options, request);

    public AsyncUnaryCall<string> HeadersFirstAsync(string request, CallOptions options = default) =>
        CallInvoker.AsyncUnaryCall(TestMethods.HeadersFirst, null, options, request);

    public string Unary(string request, CallOptions options = default) =>
        CallInvoker.BlockingUnaryCall(TestMethods.Unary, null, options, request);

    public AsyncServerStreamingCall<string> ServerStreaming(string request, CallOptions options = default) =>
        CallInvoker.AsyncServerStreamingCall(TestMethods.ServerStreaming, null, options, request);

    protected override ProbeClient NewInstance(ClientBaseConfiguration configuration) => new(configuration);
}
