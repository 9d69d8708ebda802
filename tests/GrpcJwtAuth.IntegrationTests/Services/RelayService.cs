using Grpc.Core;
using Grpc.Net.ClientFactory;
using GrpcJwtAuth.IntegrationTests.Protos;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>
/// Calls Probe.Unary of a downstream server with the named gRPC client the request names, as a service calling
/// another on behalf of its caller does; answers what the downstream handler saw. A downstream failure becomes this
/// call's failure, with the same status and detail.
/// </summary>
public sealed class RelayService(GrpcClientFactory clients) : Relay.RelayBase
{
    public override async Task<ProbeReply> Call(RelayRequest request, ServerCallContext context)
    {
        var client = clients.CreateClient<Probe.ProbeClient>(request.Client);
        ProbeReply? reply = null;
        for (var i = 0; i < Math.Max(1, request.Times); i++)
        {
            try
            {
                reply = await client.UnaryAsync(new ProbeRequest { Name = "relayed" }, cancellationToken: context.CancellationToken);
            }
            catch (RpcException ex)
            {
                throw new RpcException(new Status(ex.StatusCode, "downstream: " + ex.Status.Detail));
            }
        }

        return reply!;
    }
}
