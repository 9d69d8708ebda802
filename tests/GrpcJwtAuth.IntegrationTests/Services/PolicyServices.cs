using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Protos;
using Microsoft.AspNetCore.Authorization;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>
/// The Orders service gated method by method with ASP.NET Core attributes, as an application writes them: a named
/// policy, roles, a named policy with a requirement of the application's own, and <c>[AllowAnonymous]</c>. Needs the
/// policies of <see cref="TestPolicies.Register"/>.
/// </summary>
public sealed class PolicyOrdersService(HandlerEntries entries) : Orders.OrdersBase
{
    public const string GetOrderEntry = "PolicyOrders.GetOrder";
    public const string ListOrdersEntry = "PolicyOrders.ListOrders";
    public const string UploadOrdersEntry = "PolicyOrders.UploadOrders";
    public const string SyncOrdersEntry = "PolicyOrders.SyncOrders";

    [Authorize(Policy = TestPolicies.Gold)]
    public override Task<OrderReply> GetOrder(OrderRequest request, ServerCallContext context)
    {
        entries.Enter(GetOrderEntry);
        return Task.FromResult(OrderReplies.Create(context, request.Tenant, request.Id));
    }

    [Authorize(Roles = "admin,auditor")]
    public override async Task ListOrders(OrderRequest request, IServerStreamWriter<OrderReply> responseStream, ServerCallContext context)
    {
        entries.Enter(ListOrdersEntry);
        for (var i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(OrderReplies.Create(context, request.Tenant, $"{request.Id}-{i}"));
        }
    }

    [Authorize(Policy = TestPolicies.Employees)]
    public override async Task<UploadReply> UploadOrders(IAsyncStreamReader<OrderRequest> requestStream, ServerCallContext context)
    {
        entries.Enter(UploadOrdersEntry);
        var reply = new UploadReply { Subject = context.GetJwtCaller()?.Subject ?? string.Empty };
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            reply.Ids.Add(requestStream.Current.Id);
        }

        return reply;
    }

    [AllowAnonymous]
    public override async Task SyncOrders(
        IAsyncStreamReader<OrderRequest> requestStream, IServerStreamWriter<OrderReply> responseStream, ServerCallContext context)
    {
        entries.Enter(SyncOrdersEntry);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            await responseStream.WriteAsync(OrderReplies.Create(context, requestStream.Current.Tenant, requestStream.Current.Id));
        }
    }
}

/// <summary>An application's own requirement: the caller is an employee (claim <c>employee</c> = <c>true</c>).</summary>
public sealed class EmployeeRequirement : IAuthorizationRequirement;

/// <summary>
/// Decides <see cref="EmployeeRequirement"/>. A suspended caller (claim <c>suspended</c> = <c>true</c>) is failed with
/// <see cref="TestPolicies.SuspendedReason"/>, whatever else it has; any other caller without the claim is left pending.
/// </summary>
public sealed class EmployeeHandler : AuthorizationHandler<EmployeeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, EmployeeRequirement requirement)
    {
        if (context.User.HasClaim("suspended", "true"))
        {
            context.Fail(new AuthorizationFailureReason(this, TestPolicies.SuspendedReason));
        }
        else if (context.User.HasClaim("employee", "true"))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>The named policies the policy tests use.</summary>
public static class TestPolicies
{
    /// <summary>Claim <c>tier</c> = <c>gold</c>: only built-in requirements.</summary>
    public const string Gold = "gold";

    /// <summary>An <see cref="EmployeeRequirement"/>: a requirement only the application's handler decides.</summary>
    public const string Employees = "employees";

    public const string SuspendedReason = "account is suspended";

    public static void Register(IServiceCollection services)
    {
        services.AddAuthorization(options =>
        {
            options.AddPolicy(Gold, policy => policy.RequireClaim("tier", "gold"));
            options.AddPolicy(Employees, policy => policy.AddRequirements(new EmployeeRequirement()));
        });
        services.AddSingleton<IAuthorizationHandler, EmployeeHandler>();
    }
}
