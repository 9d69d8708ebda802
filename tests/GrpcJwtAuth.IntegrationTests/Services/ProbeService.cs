using System.Globalization;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Protos;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>Every call kind; each reply describes the caller the handler saw.</summary>
public sealed class ProbeService(HandlerEntries entries) : Probe.ProbeBase
{
    public override Task<ProbeReply> Unary(ProbeRequest request, ServerCallContext context)
    {
        entries.Enter(nameof(Unary));
        return Task.FromResult(CallerReply.Create(context, request.Name));
    }

    public override async Task ServerStream(ProbeRequest request, IServerStreamWriter<ProbeReply> responseStream, ServerCallContext context)
    {
        entries.Enter(nameof(ServerStream));
        for (var i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(CallerReply.Create(context, $"{request.Name} {i}"));
        }
    }

    public override async Task<ProbeReply> ClientStream(IAsyncStreamReader<ProbeRequest> requestStream, ServerCallContext context)
    {
        entries.Enter(nameof(ClientStream));
        var count = 0;
        while (await requestStream.MoveNext())
        {
            count++;
        }

        return CallerReply.Create(context, count.ToString(CultureInfo.InvariantCulture));
    }

    public override async Task Duplex(IAsyncStreamReader<ProbeRequest> requestStream, IServerStreamWriter<ProbeReply> responseStream, ServerCallContext context)
    {
        entries.Enter(nameof(Duplex));
        while (await requestStream.MoveNext())
        {
            await responseStream.WriteAsync(CallerReply.Create(context, requestStream.Current.Name));
        }
    }

    public override Task<ProbeReply> Admin(ProbeRequest request, ServerCallContext context)
    {
        entries.Enter(nameof(Admin));
        return Task.FromResult(CallerReply.Create(context, request.Name));
    }

    public override Task<ProbeReply> Public(ProbeRequest request, ServerCallContext context)
    {
        entries.Enter(nameof(Public));
        return Task.FromResult(CallerReply.Create(context, request.Name));
    }
}
