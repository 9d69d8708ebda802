using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Greeter.Server;

/// <summary>
/// The sample service. It contains no authorization code: GrpcJwtAuth's interceptor has already authenticated and
/// authorized every call. The "admin" requirement of SayHelloAdmin comes from a rule in appsettings.json, the "person"
/// policy from MapGrpcService(...).RequireAuthorization, and StreamHellos' limit from the attribute below.
/// </summary>
public sealed class GreeterService(TimeProvider timeProvider) : Greeter.GreeterBase
{
    private const int MaxCount = 10_000;

    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context) =>
        Task.FromResult(Reply($"Hello {request.Name}", context));

    public override Task<HelloReply> SayHelloAdmin(HelloRequest request, ServerCallContext context) =>
        Task.FromResult(Reply($"Hello admin {request.Name}", context));

    [Authorize(Policy = StreamLimitRequirement.PolicyName)]
    public override async Task StreamHellos(HelloRequest request, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
    {
        var count = Math.Clamp(request.Count, 0, MaxCount);
        var interval = TimeSpan.FromMilliseconds(Math.Clamp(request.IntervalMs, 0, 60_000));
        for (var i = 1; i <= count; i++)
        {
            if (i > 1 && interval > TimeSpan.Zero)
            {
                await Task.Delay(interval, timeProvider, context.CancellationToken);
            }

            await responseStream.WriteAsync(Reply($"Hello {request.Name} #{i}", context), context.CancellationToken);
        }
    }

    public override async Task Chat(IAsyncStreamReader<HelloRequest> requestStream, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(Reply($"Hello {request.Name}", context), context.CancellationToken);
        }
    }

    private static HelloReply Reply(string message, ServerCallContext context)
    {
        var caller = context.GetRequiredJwtCaller();
        var reply = new HelloReply { Message = message, Subject = caller.Subject ?? string.Empty };
        reply.Roles.AddRange(caller.Roles);
        return reply;
    }
}
