using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// The invoker a client-factory client renews its streams over. The factory keeps its channel to itself, so this is a
/// channel to the same address over the same pooled handler (<see cref="IHttpMessageHandlerFactory"/>), hence the
/// same connections as the client's calls; made on the first renewal, then kept.
/// </summary>
internal static class RenewalChannel
{
    public static Func<CallInvoker> For(IServiceProvider services, string name)
    {
        var invoker = new Lazy<CallInvoker>(
            () =>
            {
                var address = services.GetRequiredService<IOptionsMonitor<GrpcClientFactoryOptions>>().Get(name).Address
                    ?? throw new InvalidOperationException($"The gRPC client '{name}' has no address to renew its streams at.");
                // Given as an HttpClient, not as the handler: a channel given a handler over SocketsHttpHandler starts
                // its own subchannel, which connects a socket of its own that the pooled handler never uses, an idle
                // connection without TLS that holds the server's graceful stop until its handshake timeout.
                var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
                {
                    HttpClient = new HttpClient(services.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(name), disposeHandler: false)
                    {
                        // Deadlines are the calls' own, as on a channel's own client.
                        Timeout = Timeout.InfiniteTimeSpan,
                    },
                    LoggerFactory = services.GetService<ILoggerFactory>(),
                });
                return channel.CreateCallInvoker();
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
        return () => invoker.Value;
    }
}
