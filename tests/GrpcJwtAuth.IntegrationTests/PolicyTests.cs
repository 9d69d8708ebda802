using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.IntegrationTests.Services;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// ASP.NET Core authorization on gRPC methods: <c>[Authorize]</c> with a policy, roles or nothing (the
/// <c>DefaultPolicy</c>), <c>RequireAuthorization</c> with a name or a policy, <c>AllowAnonymous</c>, the
/// <c>FallbackPolicy</c>, requirements of the application's own, and a rule's <c>Policies</c>; and what the caller is
/// told when one fails.
/// </summary>
public class PolicyTests : IntegrationTest
{
    private const string GoldFailed = "authorization policy 'gold' failed";
    private const string EmployeesFailed = "authorization policy 'employees' failed";
    private const string ClaimsRequirementFailed = "authorization requirement ClaimsAuthorizationRequirement failed";
    private const string EmployeeRequirementFailed = "authorization requirement EmployeeRequirement failed";
    private const string PolicyNotDefined = "method requires an authorization policy the server does not define";

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static string Token(params (string Type, object Value)[] claims) =>
        Tokens.Create(TestKeys.Primary, subject: "dana", claims: claims.ToDictionary(claim => claim.Type, claim => claim.Value));

    private static GrpcJwtAuthRule Rule(string prefix, string[]? roles = null, string[]? policies = null, bool anonymous = false)
    {
        var rule = new GrpcJwtAuthRule { Prefix = prefix, AllowAnonymous = anonymous };
        foreach (var role in roles ?? [])
        {
            rule.Roles.Add(role);
        }

        foreach (var policy in policies ?? [])
        {
            rule.Policies.Add(policy);
        }

        return rule;
    }

    /// <summary>A server with the policies of <see cref="TestPolicies"/> and the <see cref="PolicyOrdersService"/>.</summary>
    private Task<GrpcTestServer> StartAsync(
        GrpcJwtAuthRule[]? rules = null,
        Action<GrpcJwtAuthOptions>? configure = null,
        Action<GrpcServiceEndpointConventionBuilder>? probeConventions = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null,
        IEnumerable<string>? expectedErrors = null) =>
        StartServerAsync(
            options =>
            {
                TestKeys.StaticOptions(TestKeys.Primary)(options);
                foreach (var rule in rules ?? [])
                {
                    options.Rules.Add(rule);
                }

                configure?.Invoke(options);
            },
            expectedErrors: expectedErrors,
            probeConventions: probeConventions,
            configureBuilder: builder =>
            {
                TestPolicies.Register(builder.Services);
                configureBuilder?.Invoke(builder);
            },
            configureApp: app =>
            {
                app.MapGrpcService<PolicyOrdersService>();
                configureApp?.Invoke(app);
            });

    private static Task<OrderReply> GetOrderAsync(GrpcTestServer server, CallOptions options) =>
        new Orders.OrdersClient(server.Channel).CallGetOrderAsync(options, "acme", "o-1");

    [Fact]
    public async Task Authorize_with_a_Policy_denies_a_caller_failing_it_with_a_detail_naming_the_policy()
    {
        var server = await StartAsync();
        var silver = Token(("tier", "silver"));

        await Rejection.AssertAsync(() => GetOrderAsync(server, Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(() => GetOrderAsync(server, Auth.Bearer(silver)), StatusCode.PermissionDenied, GoldFailed, silver);
        Assert.Equal(0, server.Entries.Total);

        var reply = await GetOrderAsync(server, Auth.Bearer(Token(("tier", "gold"))));

        Assert.Equal("dana", reply.Subject);
        Assert.Equal(1, server.Entries[PolicyOrdersService.GetOrderEntry]);
    }

    [Fact]
    public async Task Authorize_with_Roles_lets_a_caller_with_any_one_of_them_through()
    {
        var server = await StartAsync();
        var orders = new Orders.OrdersClient(server.Channel);
        var ops = Token(("roles", new[] { "ops" }));

        await Rejection.AssertAsync(
            () => orders.CallListOrdersAsync(Auth.Bearer(ops), "acme", "o", count: 2), StatusCode.PermissionDenied, Details.MissingRole, ops);
        Assert.Equal(0, server.Entries.Total);

        var replies = await orders.CallListOrdersAsync(Auth.Bearer(Token(("roles", new[] { "ops", "auditor" }))), "acme", "o", count: 2);

        Assert.Equal(["o-0", "o-1"], replies.Select(reply => reply.Id));
    }

    [Fact]
    public async Task Bare_Authorize_requires_the_DefaultPolicy_and_methods_without_metadata_do_not()
    {
        var server = await StartAsync(configureBuilder: builder => builder.Services.AddAuthorization(options =>
            options.DefaultPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim("tenant").Build()));
        var noTenant = Token();
        var request = new ProbeRequest { Name = "default" };

        await Rejection.AssertAsync(
            () => server.Attributed.DefaultAsync(request, Auth.Bearer(noTenant)).ResponseAsync,
            StatusCode.PermissionDenied,
            ClaimsRequirementFailed,
            noTenant);
        var withTenant = await server.Attributed.DefaultAsync(request, Auth.Bearer(Token(("tenant", "acme")))).ResponseAsync.DefaultTimeout();
        var noMetadata = await server.Probe.CallUnaryAsync(Auth.Bearer(noTenant));

        Assert.Equal("dana", withTenant.Subject);
        Assert.Equal("dana", noMetadata.Subject);
        Assert.Equal(1, server.Entries["Attributed.Default"]);
    }

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task RequireAuthorization_with_a_policy_name_gates_every_method_of_the_service(CallKind kind)
    {
        var server = await StartAsync(probeConventions: probe => probe.RequireAuthorization(TestPolicies.Gold));
        var silver = Token(("tier", "silver"));

        await Rejection.AssertAsync(() => server.Probe.CallAsync(kind, Auth.Bearer(silver)), StatusCode.PermissionDenied, GoldFailed, silver);
        Assert.Equal(0, server.Entries.Total);

        var replies = await server.Probe.CallAsync(kind, Auth.Bearer(Token(("tier", "gold"))));

        Assert.All(replies, reply => Assert.Equal("dana", reply.Subject));
        Assert.Equal(1, server.Entries[kind.Method()]);
    }

    [Fact]
    public async Task RequireAuthorization_with_a_policy_object_names_the_requirement_that_failed()
    {
        var server = await StartAsync(probeConventions: probe => probe.RequireAuthorization(
            new AuthorizationPolicyBuilder().RequireClaim("tier", "gold").Build()));
        var silver = Token(("tier", "silver"));

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(silver)), StatusCode.PermissionDenied, ClaimsRequirementFailed, silver);
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Token(("tier", "gold"))));

        Assert.Equal("dana", reply.Subject);
    }

    [Fact]
    public async Task Custom_requirement_in_a_named_policy_is_decided_by_the_applications_handler()
    {
        var server = await StartAsync();
        var orders = new Orders.OrdersClient(server.Channel);
        var outsider = Token(("employee", "false"));

        await Rejection.AssertAsync(
            () => orders.CallUploadOrdersAsync(Auth.Bearer(outsider), ("acme", "o-1")), StatusCode.PermissionDenied, EmployeesFailed, outsider);
        Assert.Equal(0, server.Entries.Total);

        var reply = await orders.CallUploadOrdersAsync(Auth.Bearer(Token(("employee", "true"))), ("acme", "o-1"), ("acme", "o-2"));

        Assert.Equal(["o-1", "o-2"], reply.Ids);
    }

    [Fact]
    public async Task Custom_requirement_outside_a_named_policy_fails_with_a_detail_naming_its_type()
    {
        var server = await StartAsync(probeConventions: probe => probe.RequireAuthorization(
            new AuthorizationPolicyBuilder().AddRequirements(new EmployeeRequirement()).Build()));
        var outsider = Token();

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(outsider)), StatusCode.PermissionDenied, EmployeeRequirementFailed, outsider);
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Token(("employee", "true"))));

        Assert.Equal("dana", reply.Subject);
        Assert.Equal(1, server.Entries["Unary"]);
    }

    [Theory]
    [InlineData(false, EmployeesFailed)]
    [InlineData(true, EmployeesFailed + ": " + TestPolicies.SuspendedReason)]
    public async Task Handler_failure_reason_is_added_to_the_detail_only_with_ExposeAuthorizationFailureReasons(bool expose, string detail)
    {
        var server = await StartAsync(
            configure: options => options.ExposeAuthorizationFailureReasons = expose,
            probeConventions: probe => probe.RequireAuthorization(TestPolicies.Employees));
        var suspended = Token(("employee", "true"), ("suspended", "true"));

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(suspended)), StatusCode.PermissionDenied, detail, suspended);

        Assert.Equal(0, server.Entries.Total);
    }

    [Theory]
    [InlineData(false, EmployeeRequirementFailed)]
    [InlineData(true, EmployeeRequirementFailed + ": " + TestPolicies.SuspendedReason)]
    public async Task Handler_that_fails_a_requirement_outside_a_named_policy_is_named_by_the_requirements_type(bool expose, string detail)
    {
        var server = await StartAsync(
            configure: options => options.ExposeAuthorizationFailureReasons = expose,
            probeConventions: probe => probe.RequireAuthorization(
                new AuthorizationPolicyBuilder().AddRequirements(new EmployeeRequirement()).Build()));
        var suspended = Token(("employee", "true"), ("suspended", "true"));

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(suspended)), StatusCode.PermissionDenied, detail, suspended);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task AllowAnonymous_on_MapGrpcService_lets_a_caller_without_token_through()
    {
        var server = await StartAsync(probeConventions: probe => probe.AllowAnonymous());

        var reply = await server.Probe.CallUnaryAsync(Auth.None);
        var replies = await server.Probe.CallDuplexAsync(Auth.None, "a", "b");

        Assert.False(reply.PrincipalAuthenticated);
        Assert.Equal(string.Empty, reply.Subject);
        Assert.Equal(["a", "b"], replies.Select(echo => echo.Message));
    }

    [Fact]
    public async Task AllowAnonymous_on_MapGrpcService_does_not_waive_a_rule()
    {
        var server = await StartAsync(
            rules: [Rule("/test.Probe/Admin", roles: ["admin"])],
            probeConventions: probe => probe.AllowAnonymous());
        var ops = Token(("roles", "ops"));

        await Rejection.AssertAsync(() => server.Probe.CallAdminAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(() => server.Probe.CallAdminAsync(Auth.Bearer(ops)), StatusCode.PermissionDenied, Details.MissingRole, ops);
        var reply = await server.Probe.CallAdminAsync(Auth.Bearer(Token(("roles", "admin"))));

        Assert.True(reply.IsInRoleAdmin);
        Assert.Equal(1, server.Entries["Admin"]);
    }

    [Fact]
    public async Task AllowAnonymous_on_MapGrpcHealthChecksService_answers_a_caller_without_token()
    {
        var server = await StartAsync(
            configureBuilder: builder => builder.Services.AddGrpcHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy()),
            configureApp: app => app.MapGrpcHealthChecksService().AllowAnonymous());
        var health = new Health.HealthClient(server.Channel);

        var reply = await health.CheckAsync(new HealthCheckRequest(), Auth.None).ResponseAsync.DefaultTimeout();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Health_service_without_AllowAnonymous_requires_a_token_like_any_other()
    {
        var server = await StartAsync(
            configureBuilder: builder => builder.Services.AddGrpcHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy()),
            configureApp: app => app.MapGrpcHealthChecksService());
        var health = new Health.HealthClient(server.Channel);

        await Rejection.AssertAsync(
            () => health.CheckAsync(new HealthCheckRequest(), Auth.None).ResponseAsync, StatusCode.Unauthenticated, Details.MissingToken);
        var reply = await health.CheckAsync(new HealthCheckRequest(), Auth.Bearer(Token())).ResponseAsync.DefaultTimeout();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MapGrpcReflectionService_lists_services_to_a_caller_without_token_only_with_AllowAnonymous(bool allowAnonymous)
    {
        var server = await StartAsync(
            configureBuilder: builder => builder.Services.AddGrpcReflection(),
            configureApp: app =>
            {
                var reflection = app.MapGrpcReflectionService();
                if (allowAnonymous)
                {
                    reflection.AllowAnonymous();
                }
            });
        var reflectionClient = new ServerReflection.ServerReflectionClient(server.Channel);

        var listing = ListServicesAsync(reflectionClient, Auth.None).DefaultTimeout();
        if (allowAnonymous)
        {
            Assert.Contains("test.Probe", await listing);
        }
        else
        {
            await Rejection.AssertAsync(() => listing, StatusCode.Unauthenticated, Details.MissingToken);
            Assert.Contains("test.Probe", await ListServicesAsync(reflectionClient, Auth.Bearer(Token())).DefaultTimeout());
        }
    }

    private static async Task<List<string>> ListServicesAsync(ServerReflection.ServerReflectionClient client, CallOptions options)
    {
        using var call = client.ServerReflectionInfo(options);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
        await call.RequestStream.CompleteAsync();
        var services = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            services.AddRange(response.ListServicesResponse.Service.Select(service => service.Name));
        }

        return services;
    }

    [Fact]
    public async Task FallbackPolicy_applies_to_methods_with_neither_metadata_nor_a_rule()
    {
        var server = await StartAsync(configureBuilder: builder => builder.Services.AddAuthorization(options =>
            options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim("tenant").Build()));
        var noTenant = Token();

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(noTenant)), StatusCode.PermissionDenied, ClaimsRequirementFailed, noTenant);
        await Rejection.AssertAsync(
            () => server.Probe.CallDuplexAsync(Auth.Bearer(noTenant), "a"), StatusCode.PermissionDenied, ClaimsRequirementFailed, noTenant);
        Assert.Equal(0, server.Entries.Total);

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Token(("tenant", "acme"))));

        Assert.Equal("dana", reply.Subject);
    }

    [Fact]
    public async Task FallbackPolicy_does_not_apply_to_methods_with_a_rule_or_metadata()
    {
        var server = await StartAsync(
            rules: [Rule("/test.Probe/Admin", roles: ["admin"]), Rule("/test.Probe/Public", anonymous: true)],
            configureBuilder: builder => builder.Services.AddAuthorization(options =>
                options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim("tenant").Build()));
        var adminWithoutTenant = Token(("roles", "admin"));

        var admin = await server.Probe.CallAdminAsync(Auth.Bearer(adminWithoutTenant));
        var anonymousByRule = await server.Probe.CallPublicAsync(Auth.None);
        var authorized = await server.Attributed.DefaultAsync(new ProbeRequest(), Auth.Bearer(adminWithoutTenant)).ResponseAsync.DefaultTimeout();
        var anonymousByAttribute = await server.Attributed.AnonymousAsync(new ProbeRequest(), Auth.None).ResponseAsync.DefaultTimeout();

        Assert.True(admin.IsInRoleAdmin);
        Assert.False(anonymousByRule.PrincipalAuthenticated);
        Assert.Equal("dana", authorized.Subject);
        Assert.False(anonymousByAttribute.PrincipalAuthenticated);
        Assert.Equal(4, server.Entries.Total);
    }

    [Fact]
    public async Task Rule_Policies_must_every_one_pass_and_a_failure_names_the_one_that_failed()
    {
        var server = await StartAsync(rules: [Rule("/test.Probe/Unary", policies: [TestPolicies.Gold, TestPolicies.Employees])]);
        var goldOnly = Token(("tier", "gold"));
        var employeeOnly = Token(("employee", "true"));

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(goldOnly)), StatusCode.PermissionDenied, EmployeesFailed, goldOnly);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(employeeOnly)), StatusCode.PermissionDenied, GoldFailed, employeeOnly);
        Assert.Equal(0, server.Entries.Total);

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Token(("tier", "gold"), ("employee", "true"))));

        Assert.Equal("dana", reply.Subject);
    }

    [Fact]
    public async Task Rule_Policies_add_to_the_methods_Authorize_metadata()
    {
        var server = await StartAsync(rules: [Rule("/orders.Orders/GetOrder", policies: [TestPolicies.Employees])]);
        var goldOutsider = Token(("tier", "gold"));
        var silverEmployee = Token(("tier", "silver"), ("employee", "true"));

        await Rejection.AssertAsync(() => GetOrderAsync(server, Auth.Bearer(goldOutsider)), StatusCode.PermissionDenied, EmployeesFailed, goldOutsider);
        await Rejection.AssertAsync(() => GetOrderAsync(server, Auth.Bearer(silverEmployee)), StatusCode.PermissionDenied, GoldFailed, silverEmployee);
        var reply = await GetOrderAsync(server, Auth.Bearer(Token(("tier", "gold"), ("employee", "true"))));

        Assert.Equal("dana", reply.Subject);
        Assert.Equal(1, server.Entries.Total);
    }

    [Fact]
    public async Task Undefined_policy_in_a_rule_denies_every_call_and_logs_an_error_once()
    {
        var server = await StartAsync(
            rules: [Rule("/test.Probe/Unary", policies: ["no-such-policy"])],
            expectedErrors: ["UndefinedAuthorizationPolicy"]);
        var token = Token(("tier", "gold"));

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.PermissionDenied, PolicyNotDefined, token);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.PermissionDenied, PolicyNotDefined);

        Assert.Equal(0, server.Entries.Total);
        var error = Assert.Single(server.Logs.WithEvent("UndefinedAuthorizationPolicy"));
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains("no-such-policy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undefined_policy_in_endpoint_metadata_is_logged_at_startup_and_no_call_passes()
    {
        var server = await StartAsync(
            probeConventions: probe => probe.RequireAuthorization("no-such-policy"),
            expectedErrors: ["UndefinedAuthorizationPolicy", "ApplicationError", "UnhandledException"]);

        // Before any call: the startup check resolved every mapped method's requirements, and names each Probe method once.
        var errors = server.Logs.WithEvent("UndefinedAuthorizationPolicy");
        var error = Assert.Single(errors, line => (string?)line.GetStructuredStateValue("Method") == "/test.Probe/Unary");
        Assert.Contains("no-such-policy", error.Message, StringComparison.Ordinal);
        Assert.Equal(errors.Count, errors.Select(line => line.GetStructuredStateValue("Method")).Distinct().Count());

        // ASP.NET Core's authorization middleware combines the endpoint's policies before anything of GrpcJwtAuth runs,
        // and throws for the unknown name: the call fails, and the framework logs why.
        var token = Token(("tier", "gold"));
        var failed = await Assert.ThrowsAsync<RpcException>(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)));
        Assert.NotEqual(StatusCode.OK, failed.StatusCode);
        Assert.DoesNotContain(token, failed.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, server.Entries.Total);
        Assert.Contains(server.Logs.Records, record => record.Exception?.Message.Contains("no-such-policy", StringComparison.Ordinal) == true);
    }
}
