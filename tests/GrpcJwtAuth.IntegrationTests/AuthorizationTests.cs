using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>Rules from options, <c>[Authorize]</c>/<c>[AllowAnonymous]</c> attributes, and both together.</summary>
public class AuthorizationTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static Action<GrpcJwtAuthOptions> WithRules(params GrpcJwtAuthRule[] rules) => options =>
    {
        TestKeys.StaticOptions(TestKeys.Primary)(options);
        foreach (var rule in rules)
        {
            options.Rules.Add(rule);
        }
    };

    private static GrpcJwtAuthRule Rule(string prefix, string[]? roles = null, string[]? scopes = null, bool anonymous = false)
    {
        var rule = new GrpcJwtAuthRule { Prefix = prefix, AllowAnonymous = anonymous };
        foreach (var role in roles ?? [])
        {
            rule.Roles.Add(role);
        }

        foreach (var scope in scopes ?? [])
        {
            rule.Scopes.Add(scope);
        }

        return rule;
    }

    private static string Token(string[]? roles = null, string? scope = null)
    {
        var claims = new Dictionary<string, object>();
        if (roles is not null)
        {
            claims["roles"] = roles;
        }

        if (scope is not null)
        {
            claims["scope"] = scope;
        }

        return Tokens.Create(TestKeys.Primary, subject: "carol", claims: claims);
    }

    private static Task<ProbeReply> CallAttributedAsync(GrpcTestServer server, string method, CallOptions options)
    {
        var request = new ProbeRequest { Name = method };
        var call = method switch
        {
            "Default" => server.Attributed.DefaultAsync(request, options),
            "Anonymous" => server.Attributed.AnonymousAsync(request, options),
            "AdminOnly" => server.Attributed.AdminOnlyAsync(request, options),
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };
        return call.ResponseAsync.DefaultTimeout();
    }

    [Fact]
    public async Task Valid_token_without_the_role_a_rule_requires_is_denied_with_PermissionDenied()
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Probe/Admin", roles: ["admin"])));
        var token = Token(roles: ["ops"]);

        await Rejection.AssertAsync(
            () => server.Probe.CallAdminAsync(Auth.Bearer(token)), StatusCode.PermissionDenied, Details.MissingRole, token);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Token_with_the_role_a_rule_requires_is_let_through()
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Probe/Admin", roles: ["admin"])));

        var reply = await server.Probe.CallAdminAsync(Auth.Bearer(Token(roles: ["admin"])));

        Assert.Equal("carol", reply.Subject);
        Assert.True(reply.IsInRoleAdmin);
        Assert.Equal(1, server.Entries["Admin"]);
    }

    [Fact]
    public async Task Call_without_token_to_a_role_protected_method_is_Unauthenticated_not_PermissionDenied()
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Probe/Admin", roles: ["admin"])));

        await Rejection.AssertAsync(
            () => server.Probe.CallAdminAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task Token_without_the_scope_a_rule_requires_is_denied_before_the_handler_is_entered(CallKind kind)
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Probe/" + kind.Method(), scopes: ["probe.write"])));
        var token = Token(scope: "probe.read");

        await Rejection.AssertAsync(
            () => server.Probe.CallAsync(kind, Auth.Bearer(token)), StatusCode.PermissionDenied, Details.MissingScope, token);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Scope_rule_requires_every_listed_scope()
    {
        var server = await StartServerAsync(
            WithRules(Rule("/test.Probe/Duplex", scopes: ["probe.read", "probe.write"])));

        var oneScope = Token(scope: "probe.write");
        await Rejection.AssertAsync(
            () => server.Probe.CallDuplexAsync(Auth.Bearer(oneScope), "x"), StatusCode.PermissionDenied, Details.MissingScope, oneScope);
        var replies = await server.Probe.CallDuplexAsync(Auth.Bearer(Token(scope: "probe.write probe.read")), "x", "y");

        Assert.Equal(["x", "y"], replies.Select(reply => reply.Message));
        Assert.Equal(["probe.write", "probe.read"], replies[0].Scopes);
    }

    [Fact]
    public async Task AllowAnonymous_rule_lets_a_call_without_token_through_with_no_caller()
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Probe/Public", anonymous: true)));

        var reply = await server.Probe.CallPublicAsync(Auth.None);

        Assert.Equal(string.Empty, reply.Subject);
        Assert.False(reply.PrincipalAuthenticated);
        Assert.Equal(1, server.Entries["Public"]);
    }

    [Fact]
    public async Task AllowAnonymous_rule_ignores_a_token_sent_anyway_even_an_invalid_one()
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Probe/Public", anonymous: true)));

        var reply = await server.Probe.CallPublicAsync(Auth.Bearer(Tokens.Create(TestKeys.Impostor)));

        Assert.False(reply.PrincipalAuthenticated);
    }

    [Fact]
    public async Task AllowAnonymous_rule_covers_only_its_prefix_and_the_longest_matching_prefix_wins()
    {
        var server = await StartServerAsync(WithRules(
            Rule("/test.Probe/", roles: ["user"]),
            Rule("/test.Probe/Public", anonymous: true)));

        await server.Probe.CallPublicAsync(Auth.None);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        var otherRole = Token(roles: ["admin"]);
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(otherRole)), StatusCode.PermissionDenied, Details.MissingRole, otherRole);
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Token(roles: ["user"])));

        Assert.True(reply.PrincipalAuthenticated);
    }

    [Fact]
    public async Task Authorize_attribute_on_the_service_requires_a_token()
    {
        var server = await StartServerAsync(WithRules());

        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Default", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        var reply = await CallAttributedAsync(server, "Default", Auth.Bearer(Token()));

        Assert.Equal("carol", reply.Subject);
        Assert.Equal(1, server.Entries["Attributed.Default"]);
    }

    [Fact]
    public async Task AllowAnonymous_attribute_lets_a_call_without_token_through()
    {
        var server = await StartServerAsync(WithRules());

        var reply = await CallAttributedAsync(server, "Anonymous", Auth.None);

        Assert.False(reply.PrincipalAuthenticated);
        Assert.Equal(1, server.Entries["Attributed.Anonymous"]);
    }

    [Fact]
    public async Task Authorize_attribute_with_Roles_denies_a_caller_without_the_role_and_admits_one_with_it()
    {
        var server = await StartServerAsync(WithRules());
        var withoutRole = Token(roles: ["ops"]);

        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "AdminOnly", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "AdminOnly", Auth.Bearer(withoutRole)), StatusCode.PermissionDenied, Details.MissingRole, withoutRole);
        Assert.Equal(0, server.Entries.Total);

        var reply = await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(Token(roles: ["admin"])));

        Assert.True(reply.IsInRoleAdmin);
        Assert.Equal(1, server.Entries["Attributed.AdminOnly"]);
    }

    [Theory]
    [InlineData(new[] { "admin" }, null, StatusCode.PermissionDenied, Details.MissingScope)]
    [InlineData(new[] { "ops" }, "attributed.manage", StatusCode.PermissionDenied, Details.MissingRole)]
    [InlineData(new[] { "admin" }, "attributed.manage", StatusCode.OK, null)]
    public async Task Rule_and_attribute_on_the_same_method_must_both_hold(string[] roles, string? scope, StatusCode code, string? detail)
    {
        var server = await StartServerAsync(
            WithRules(Rule("/test.Attributed/AdminOnly", scopes: ["attributed.manage"])));
        var token = Token(roles, scope);

        if (code == StatusCode.OK)
        {
            var reply = await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(token));
            Assert.True(reply.IsInRoleAdmin);
            Assert.Equal(["attributed.manage"], reply.Scopes);
        }
        else
        {
            await Rejection.AssertAsync(() => CallAttributedAsync(server, "AdminOnly", Auth.Bearer(token)), code, detail!, token);
            Assert.Equal(0, server.Entries.Total);
        }
    }

    [Fact]
    public async Task AllowAnonymous_rule_does_not_waive_an_Authorize_attribute()
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Attributed/Default", anonymous: true)));

        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Default", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Fact]
    public async Task AllowAnonymous_attribute_does_not_waive_a_rule()
    {
        var server = await StartServerAsync(WithRules(Rule("/test.Attributed/Anonymous", roles: ["admin"])));
        var withoutRole = Token(roles: ["ops"]);

        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Anonymous", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Anonymous", Auth.Bearer(withoutRole)), StatusCode.PermissionDenied, Details.MissingRole, withoutRole);
        var reply = await CallAttributedAsync(server, "Anonymous", Auth.Bearer(Token(roles: ["admin"])));

        Assert.True(reply.IsInRoleAdmin);
    }
}
