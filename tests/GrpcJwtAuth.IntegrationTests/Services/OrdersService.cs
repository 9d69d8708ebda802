using System.Collections.Concurrent;
using System.Security.Claims;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Protos;
using Microsoft.AspNetCore.Authorization;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>
/// "A caller reads only orders of its own tenant", as an application writes it: the unary and server-streaming
/// methods require the <see cref="OwnTenant.PolicyName"/> policy (its handler gets the request message), and the
/// client- and duplex-streaming handlers check every message they read with <c>context.AuthorizeAsync</c>. The
/// streaming methods have no metadata, so GrpcJwtAuth requires an authenticated caller for them. Every reply
/// describes the principal the handler saw. Needs <see cref="OwnTenant.Register"/>.
/// </summary>
public sealed class OrdersService(HandlerEntries entries) : Orders.OrdersBase
{
    public const string GetOrderEntry = "Orders.GetOrder";
    public const string ListOrdersEntry = "Orders.ListOrders";
    public const string UploadOrdersEntry = "Orders.UploadOrders";
    public const string SyncOrdersEntry = "Orders.SyncOrders";

    /// <summary>The <see cref="HandlerEntries"/> key counting how often a streaming handler processed the message <paramref name="id"/>.</summary>
    public static string Processed(string entry, string id) => $"{entry} processed {id}";

    [Authorize(Policy = OwnTenant.PolicyName)]
    public override Task<OrderReply> GetOrder(OrderRequest request, ServerCallContext context)
    {
        entries.Enter(GetOrderEntry);
        if (request.AddClaim.Length > 0)
        {
            // What a handler may do to its own call's principal; no other call may ever see it.
            var user = context.GetHttpContext().User;
            ((ClaimsIdentity)user.Identity!).AddClaim(new Claim("added", request.AddClaim));
            user.AddIdentity(new ClaimsIdentity([new Claim("added-identity", request.AddClaim)]));
        }

        return Task.FromResult(OrderReplies.Create(context, request.Tenant, request.Id));
    }

    [Authorize(Policy = OwnTenant.PolicyName)]
    public override async Task ListOrders(OrderRequest request, IServerStreamWriter<OrderReply> responseStream, ServerCallContext context)
    {
        entries.Enter(ListOrdersEntry);
        for (var i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(OrderReplies.Create(context, request.Tenant, $"{request.Id}-{i}"));
        }
    }

    public override async Task<UploadReply> UploadOrders(IAsyncStreamReader<OrderRequest> requestStream, ServerCallContext context)
    {
        entries.Enter(UploadOrdersEntry);
        var reply = new UploadReply { Subject = context.GetJwtCaller()?.Subject ?? string.Empty };
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var order = requestStream.Current;
            await context.AuthorizeAsync(order, OwnTenant.PolicyName);
            entries.Enter(Processed(UploadOrdersEntry, order.Id));
            reply.Ids.Add(order.Id);
        }

        return reply;
    }

    public override async Task SyncOrders(
        IAsyncStreamReader<OrderRequest> requestStream, IServerStreamWriter<OrderReply> responseStream, ServerCallContext context)
    {
        entries.Enter(SyncOrdersEntry);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var order = requestStream.Current;
            await context.AuthorizeAsync(order, OwnTenant.PolicyName);
            entries.Enter(Processed(SyncOrdersEntry, order.Id));
            await responseStream.WriteAsync(OrderReplies.Create(context, order.Tenant, order.Id));
        }
    }
}

/// <summary>What a handler of the Orders service sees of its call, sent back so that tests can check it.</summary>
public static class OrderReplies
{
    public static OrderReply Create(ServerCallContext context, string tenant, string id)
    {
        var user = context.GetHttpContext().User;
        var reply = new OrderReply
        {
            Tenant = tenant,
            Id = id,
            Subject = context.GetJwtCaller()?.Subject ?? string.Empty,
            CallerTenant = user.FindFirst(OwnTenant.ClaimType)?.Value ?? string.Empty,
            Identities = user.Identities.Count(),
            Authenticated = user.Identity?.IsAuthenticated == true,
        };

        foreach (var claim in user.Claims)
        {
            reply.Claims.Add($"{claim.Type}={claim.Value}");
        }

        return reply;
    }
}

/// <summary>The <see cref="OwnTenant.PolicyName"/> policy's own requirement.</summary>
public sealed class OwnTenantRequirement : IAuthorizationRequirement;

/// <summary>
/// Resource-based: met when the caller's <c>tenant</c> claim names the tenant of the order in the request message.
/// Fails with a reason of its own otherwise. Remembers every order it was asked about.
/// </summary>
public sealed class OwnTenantHandler : AuthorizationHandler<OwnTenantRequirement, OrderRequest>
{
    private readonly ConcurrentQueue<string> _checked = new();

    /// <summary>Every order checked, as <c>tenant/id</c>, in order.</summary>
    public IReadOnlyList<string> Checked => [.. _checked];

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OwnTenantRequirement requirement, OrderRequest resource)
    {
        _checked.Enqueue($"{resource.Tenant}/{resource.Id}");
        if (context.User.FindFirst(OwnTenant.ClaimType)?.Value is { Length: > 0 } tenant && tenant == resource.Tenant)
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, OwnTenant.FailureReason));
        }

        return Task.CompletedTask;
    }
}

public static class OwnTenant
{
    public const string PolicyName = "own-tenant";

    public const string ClaimType = "tenant";

    /// <summary>The reason <see cref="OwnTenantHandler"/> gives when it fails a caller.</summary>
    public const string FailureReason = "the order belongs to another tenant";

    /// <summary>The policy, its handler (also resolvable as <see cref="OwnTenantHandler"/>, to read what it checked).</summary>
    public static void Register(IServiceCollection services)
    {
        services.AddAuthorization(options => options.AddPolicy(
            PolicyName, policy => policy.RequireAuthenticatedUser().AddRequirements(new OwnTenantRequirement())));
        services.AddSingleton<OwnTenantHandler>();
        services.AddSingleton<IAuthorizationHandler>(sp => sp.GetRequiredService<OwnTenantHandler>());
    }
}
