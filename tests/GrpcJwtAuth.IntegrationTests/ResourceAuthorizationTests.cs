using System.Runtime.ExceptionServices;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.IntegrationTests.Services;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authorization;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// "A caller reads only orders of its own tenant": a resource-based policy whose handler gets the request message of
/// unary and server-streaming calls before the handler runs, and the per-message check of client- and
/// duplex-streaming handlers (<c>context.AuthorizeAsync(message, "own-tenant")</c>).
/// </summary>
public class ResourceAuthorizationTests : IntegrationTest
{
    private const string OwnTenantFailed = "authorization policy 'own-tenant' failed";

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static readonly string Acme = Tokens.Create(
        TestKeys.Primary, subject: "alice", claims: new Dictionary<string, object> { [OwnTenant.ClaimType] = "acme" });

    private Task<GrpcTestServer> StartOrdersServerAsync(
        Action<GrpcJwtAuthOptions>? configure = null, Action<WebApplicationBuilder>? configureBuilder = null) =>
        StartServerAsync(
            options =>
            {
                TestKeys.StaticOptions(TestKeys.Primary)(options);
                configure?.Invoke(options);
            },
            configureBuilder: builder =>
            {
                OwnTenant.Register(builder.Services);
                configureBuilder?.Invoke(builder);
            },
            configureApp: app => app.MapGrpcService<OrdersService>());

    [Fact]
    public async Task Unary_call_for_an_order_of_another_tenant_is_denied_before_the_handler_with_the_message_as_resource()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        await Rejection.AssertAsync(
            () => orders.CallGetOrderAsync(Auth.Bearer(Acme), "globex", "o-1"), StatusCode.PermissionDenied, OwnTenantFailed, Acme);

        Assert.Equal(0, server.Entries[OrdersService.GetOrderEntry]);
        Assert.Equal(["globex/o-1"], server.Services.GetRequiredService<OwnTenantHandler>().Checked);
    }

    [Fact]
    public async Task Unary_call_for_an_order_of_the_callers_own_tenant_is_answered()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        var reply = await orders.CallGetOrderAsync(Auth.Bearer(Acme), "acme", "o-1");

        Assert.Equal(("acme", "o-1", "alice", "acme"), (reply.Tenant, reply.Id, reply.Subject, reply.CallerTenant));
        Assert.Equal(1, server.Entries[OrdersService.GetOrderEntry]);
        Assert.Equal(["acme/o-1"], server.Services.GetRequiredService<OwnTenantHandler>().Checked);
    }

    [Fact]
    public async Task Server_stream_of_another_tenants_orders_is_denied_before_the_handler_sends_anything()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        await Rejection.AssertAsync(
            () => orders.CallListOrdersAsync(Auth.Bearer(Acme), "globex", "o", count: 3), StatusCode.PermissionDenied, OwnTenantFailed, Acme);

        Assert.Equal(0, server.Entries[OrdersService.ListOrdersEntry]);
        Assert.Equal(["globex/o"], server.Services.GetRequiredService<OwnTenantHandler>().Checked);
    }

    [Fact]
    public async Task Server_stream_of_the_callers_own_tenant_sends_every_order()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        var replies = await orders.CallListOrdersAsync(Auth.Bearer(Acme), "acme", "o", count: 3);

        Assert.Equal(["o-0", "o-1", "o-2"], replies.Select(reply => reply.Id));
        Assert.All(replies, reply => Assert.Equal("alice", reply.Subject));
    }

    [Fact]
    public async Task Client_stream_of_own_tenant_orders_is_processed_message_by_message()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        var reply = await orders.CallUploadOrdersAsync(Auth.Bearer(Acme), ("acme", "o-1"), ("acme", "o-2"), ("acme", "o-3"));

        Assert.Equal(["o-1", "o-2", "o-3"], reply.Ids);
        Assert.Equal("alice", reply.Subject);
        Assert.Equal(["acme/o-1", "acme/o-2", "acme/o-3"], server.Services.GetRequiredService<OwnTenantHandler>().Checked);
    }

    [Fact]
    public async Task Client_stream_is_ended_with_PermissionDenied_at_the_first_order_of_another_tenant()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        await Rejection.AssertAsync(
            () => orders.CallUploadOrdersAsync(Auth.Bearer(Acme), ("acme", "o-1"), ("acme", "o-2"), ("globex", "o-3"), ("acme", "o-4")),
            StatusCode.PermissionDenied,
            OwnTenantFailed,
            Acme);

        Assert.Equal(1, server.Entries[OrdersService.UploadOrdersEntry]);
        Assert.Equal(1, server.Entries[OrdersService.Processed(OrdersService.UploadOrdersEntry, "o-1")]);
        Assert.Equal(1, server.Entries[OrdersService.Processed(OrdersService.UploadOrdersEntry, "o-2")]);
        Assert.Equal(0, server.Entries[OrdersService.Processed(OrdersService.UploadOrdersEntry, "o-3")]);
        Assert.Equal(0, server.Entries[OrdersService.Processed(OrdersService.UploadOrdersEntry, "o-4")]);
        Assert.Equal(["acme/o-1", "acme/o-2", "globex/o-3"], server.Services.GetRequiredService<OwnTenantHandler>().Checked);
    }

    [Fact]
    public async Task Duplex_stream_answers_own_tenant_orders_then_ends_with_PermissionDenied_at_another_tenants()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        using var call = orders.SyncOrders(Auth.Bearer(Acme));
        var echoes = new List<string>();
        foreach (var id in new[] { "o-1", "o-2" })
        {
            await call.RequestStream.WriteAsync(new OrderRequest { Tenant = "acme", Id = id }).DefaultTimeout();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            echoes.Add(call.ResponseStream.Current.Id);
        }

        await call.RequestStream.WriteAsync(new OrderRequest { Tenant = "globex", Id = "o-3" }).DefaultTimeout();
        await OrderCalls.TryWriteAsync(call.RequestStream, new OrderRequest { Tenant = "acme", Id = "o-4" });
        var denied = await Rejection.AssertAsync(
            () => call.ResponseStream.MoveNext(CancellationToken.None), StatusCode.PermissionDenied, OwnTenantFailed, Acme);

        Assert.Equal(["o-1", "o-2"], echoes);
        Assert.Equal(StatusCode.PermissionDenied, call.GetStatus().StatusCode);
        Assert.Equal(denied.Status.Detail, call.GetStatus().Detail);
        Assert.Equal(0, server.Entries[OrdersService.Processed(OrdersService.SyncOrdersEntry, "o-3")]);
        Assert.Equal(0, server.Entries[OrdersService.Processed(OrdersService.SyncOrdersEntry, "o-4")]);
        Assert.Equal(["acme/o-1", "acme/o-2", "globex/o-3"], server.Services.GetRequiredService<OwnTenantHandler>().Checked);
    }

    [Theory]
    [InlineData(false, OwnTenantFailed)]
    [InlineData(true, OwnTenantFailed + ": " + OwnTenant.FailureReason)]
    public async Task Handler_reason_reaches_the_caller_only_with_ExposeAuthorizationFailureReasons(bool expose, string detail)
    {
        var server = await StartOrdersServerAsync(options => options.ExposeAuthorizationFailureReasons = expose);
        var orders = new Orders.OrdersClient(server.Channel);

        await Rejection.AssertAsync(
            () => orders.CallGetOrderAsync(Auth.Bearer(Acme), "globex", "o-1"), StatusCode.PermissionDenied, detail, Acme);
        await Rejection.AssertAsync(
            () => orders.CallUploadOrdersAsync(Auth.Bearer(Acme), ("globex", "o-2")), StatusCode.PermissionDenied, detail, Acme);

        Assert.Equal(0, server.Entries[OrdersService.GetOrderEntry]);
        Assert.Equal(0, server.Entries[OrdersService.Processed(OrdersService.UploadOrdersEntry, "o-2")]);
    }

    [Fact]
    public async Task Per_message_denial_tells_the_caller_what_OnForbidden_says_as_a_denial_before_the_call_does()
    {
        const string Reason = "ask your tenant administrator for access";
        var forbidden = new List<string>();
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnForbidden = context =>
            {
                lock (forbidden)
                {
                    forbidden.Add(context.Reason);
                }

                context.Reason = Reason;
                return Task.CompletedTask;
            },
        });
        var orders = new Orders.OrdersClient(server.Channel);

        await Rejection.AssertAsync(
            () => orders.CallGetOrderAsync(Auth.Bearer(Acme), "globex", "o-1"), StatusCode.PermissionDenied, Reason, Acme);
        await Rejection.AssertAsync(
            () => orders.CallUploadOrdersAsync(Auth.Bearer(Acme), ("globex", "o-2")), StatusCode.PermissionDenied, Reason, Acme);

        Assert.Equal([OwnTenantFailed, OwnTenantFailed], forbidden);
    }

    [Fact]
    public async Task Per_message_check_of_a_caller_without_a_tenant_claim_denies_its_first_message()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);
        var noTenant = Tokens.Create(TestKeys.Primary, subject: "bob");

        await Rejection.AssertAsync(
            () => orders.CallUploadOrdersAsync(Auth.Bearer(noTenant), ("acme", "o-1")), StatusCode.PermissionDenied, OwnTenantFailed, noTenant);

        Assert.Equal(1, server.Entries[OrdersService.UploadOrdersEntry]);
        Assert.Equal(0, server.Entries[OrdersService.Processed(OrdersService.UploadOrdersEntry, "o-1")]);
    }

    [Fact]
    public async Task Streaming_calls_still_require_a_token_before_the_handler_reads_any_message()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);

        await Rejection.AssertAsync(
            () => orders.CallUploadOrdersAsync(Auth.None, ("acme", "o-1")), StatusCode.Unauthenticated, Details.MissingToken);

        Assert.Equal(0, server.Entries[OrdersService.UploadOrdersEntry]);
        Assert.Empty(server.Services.GetRequiredService<OwnTenantHandler>().Checked);
    }

    [Fact]
    public async Task Policy_on_a_client_streaming_method_gets_the_HttpContext_as_resource()
    {
        var resources = new List<object?>();
        var server = await StartOrdersServerAsync(
            options =>
            {
                var rule = new GrpcJwtAuthRule { Prefix = "/orders.Orders/UploadOrders" };
                rule.Policies.Add("upload-window");
                options.Rules.Add(rule);
            },
            builder => builder.Services.AddAuthorization(options => options.AddPolicy("upload-window", policy => policy.RequireAssertion(context =>
            {
                lock (resources)
                {
                    resources.Add(context.Resource);
                }

                return context.Resource is HttpContext { Request.Path.Value: "/orders.Orders/UploadOrders" };
            }))));
        var orders = new Orders.OrdersClient(server.Channel);

        var reply = await orders.CallUploadOrdersAsync(Auth.Bearer(Acme), ("acme", "o-1"));

        Assert.Equal(["o-1"], reply.Ids);
        var resource = Assert.Single(resources);
        Assert.IsAssignableFrom<HttpContext>(resource);
    }
}

/// <summary>One complete call of each kind of the Orders service, bounded by <see cref="TestTimeout.Default"/>.</summary>
internal static class OrderCalls
{
    public static Task<OrderReply> CallGetOrderAsync(
        this Orders.OrdersClient client, CallOptions options, string tenant, string id, string addClaim = "") =>
        client.GetOrderAsync(new OrderRequest { Tenant = tenant, Id = id, AddClaim = addClaim }, options).ResponseAsync.DefaultTimeout();

    public static Task<List<OrderReply>> CallListOrdersAsync(this Orders.OrdersClient client, CallOptions options, string tenant, string id, int count)
    {
        return Run().DefaultTimeout();

        async Task<List<OrderReply>> Run()
        {
            using var call = client.ListOrders(new OrderRequest { Tenant = tenant, Id = id, Count = count }, options);
            var replies = new List<OrderReply>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                replies.Add(call.ResponseStream.Current);
            }

            return replies;
        }
    }

    /// <summary>
    /// Sends every order, then completes the request stream and returns the reply. When the server ends the call
    /// early the remaining orders may not be sent; the server's status is what this throws, as a client sees it.
    /// </summary>
    public static Task<UploadReply> CallUploadOrdersAsync(this Orders.OrdersClient client, CallOptions options, params (string Tenant, string Id)[] orders)
    {
        return Run().DefaultTimeout();

        async Task<UploadReply> Run()
        {
            using var call = client.UploadOrders(options);
            var open = true;
            foreach (var (tenant, id) in orders)
            {
                open = await TryWriteAsync(call.RequestStream, new OrderRequest { Tenant = tenant, Id = id });
                if (!open)
                {
                    break;
                }
            }

            if (open)
            {
                try
                {
                    await call.RequestStream.CompleteAsync();
                }
                catch (RpcException completeFailure)
                {
                    await call.ResponseAsync;
                    ExceptionDispatchInfo.Throw(completeFailure);
                }
            }

            return await call.ResponseAsync;
        }
    }

    /// <summary>
    /// Writes <paramref name="request"/>; <see langword="false"/> when the server has already ended the call (then the
    /// call's status is in its response, where the caller reads it).
    /// </summary>
    public static async Task<bool> TryWriteAsync(IClientStreamWriter<OrderRequest> requests, OrderRequest request)
    {
        try
        {
            await requests.WriteAsync(request).DefaultTimeout();
            return true;
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
        {
            return false;
        }
    }
}
