using Grpc.Net.Client;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>The two ways a channel made by hand gets tokens attached.</summary>
public enum Attachment
{
    /// <summary><c>channel.AddJwtCallCredentials(provider)</c>: an intercepted call invoker, with one retry on Unauthenticated.</summary>
    ChannelCallInvoker,

    /// <summary><c>GrpcChannelOptions.AddJwtCallCredentials(provider)</c>: call credentials of the whole channel.</summary>
    ChannelOptions,
}

public static class Attachments
{
    /// <summary>A Probe client over TLS to <paramref name="server"/> whose calls carry tokens from <paramref name="provider"/>.</summary>
    public static Probe.ProbeClient CreateClient(this GrpcTestServer server, Attachment attachment, IAccessTokenProvider provider) =>
        attachment switch
        {
            Attachment.ChannelCallInvoker => new Probe.ProbeClient(
                server.Channel.AddJwtCallCredentials(provider, configure: null, server.ClientLoggerFactory)),
            Attachment.ChannelOptions => new Probe.ProbeClient(
                server.CreateChannel(options => options.AddJwtCallCredentials(provider))),
            _ => throw new ArgumentOutOfRangeException(nameof(attachment)),
        };
}
