using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Protos;
using Microsoft.AspNetCore.Authorization;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>Gated by ASP.NET Core attributes instead of (or as well as) GrpcJwtAuth rules.</summary>
[Authorize]
public sealed class AttributedService(HandlerEntries entries) : Attributed.AttributedBase
{
    public override Task<ProbeReply> Default(ProbeRequest request, ServerCallContext context)
    {
        entries.Enter("Attributed." + nameof(Default));
        return Task.FromResult(CallerReply.Create(context, request.Name));
    }

    [AllowAnonymous]
    public override Task<ProbeReply> Anonymous(ProbeRequest request, ServerCallContext context)
    {
        entries.Enter("Attributed." + nameof(Anonymous));
        return Task.FromResult(CallerReply.Create(context, request.Name));
    }

    [Authorize(Roles = "admin")]
    public override Task<ProbeReply> AdminOnly(ProbeRequest request, ServerCallContext context)
    {
        entries.Enter("Attributed." + nameof(AdminOnly));
        return Task.FromResult(CallerReply.Create(context, request.Name));
    }
}
