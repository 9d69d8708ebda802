using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Protos;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>What a handler sees of its caller, sent back so that tests can check it.</summary>
internal static class CallerReply
{
    public static ProbeReply Create(ServerCallContext context, string message)
    {
        var caller = context.GetJwtCaller();
        var user = context.GetHttpContext().User;
        var reply = new ProbeReply
        {
            Message = message,
            Subject = caller?.Subject ?? string.Empty,
            PrincipalAuthenticated = user.Identity?.IsAuthenticated == true,
            IsInRoleAdmin = user.IsInRole("admin"),
            IssuerName = caller?.IssuerName ?? string.Empty,
            Tenant = caller?.Tenant ?? string.Empty,
            TenantClaim = user.FindFirst(GrpcJwtAuthDefaults.TenantClaimType)?.Value ?? string.Empty,
        };

        if (caller is not null)
        {
            reply.Roles.AddRange(caller.Roles);
            reply.Scopes.AddRange(caller.Scopes);
        }

        return reply;
    }
}
