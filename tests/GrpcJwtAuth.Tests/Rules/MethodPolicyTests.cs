using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Tests.Rules;

public class MethodPolicyTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly TestSigningKey Key = TestSigningKey.Ec("ec-1");

    private readonly FakeTimeProvider _time = new(Now);

    [Fact]
    public void Create_NoRuleNoMetadata_RequiresAnAuthenticatedCallerOnly()
    {
        var policy = MethodPolicy.Create(rule: null, metadata: null);

        Assert.False(policy.AllowAnonymous);
        Assert.Empty(policy.Requirements);
        Assert.False(policy.HasUnsupportedMetadata);
        Assert.Null(policy.Rule);
        Assert.Equal(AuthFailure.None, policy.Authorize(Caller()));
    }

    [Fact]
    public void Create_NoRuleEmptyMetadata_RequiresAnAuthenticatedCallerOnly()
    {
        var policy = MethodPolicy.Create(rule: null, Metadata());

        Assert.False(policy.AllowAnonymous);
        Assert.Empty(policy.Requirements);
    }

    [Fact]
    public void Create_RuleAllowAnonymous_IsAnonymous()
    {
        var rule = Rule(allowAnonymous: true);

        var policy = MethodPolicy.Create(rule, Metadata());

        Assert.True(policy.AllowAnonymous);
        Assert.Same(rule, policy.Rule);
    }

    [Fact]
    public void Create_AllowAnonymousAttributeWithoutRule_IsAnonymous()
    {
        var policy = MethodPolicy.Create(rule: null, Metadata(new AllowAnonymousAttribute()));

        Assert.True(policy.AllowAnonymous);
    }

    [Fact]
    public void Create_RuleWithoutRequirements_RequiresAnAuthenticatedCallerOnly()
    {
        var policy = MethodPolicy.Create(Rule(), Metadata());

        Assert.False(policy.AllowAnonymous);
        Assert.Empty(policy.Requirements);
        Assert.Equal(AuthFailure.None, policy.Authorize(Caller()));
    }

    [Fact]
    public void Create_RuleRolesAndAllowAnonymousAttribute_IsNotAnonymousAndRuleRolesHold()
    {
        var policy = MethodPolicy.Create(Rule(roles: ["admin"]), Metadata(new AllowAnonymousAttribute()));

        Assert.False(policy.AllowAnonymous);
        Assert.Equal(AuthFailure.MissingRole, policy.Authorize(Caller()));
        Assert.Equal(AuthFailure.None, policy.Authorize(Caller(roles: ["admin"])));
    }

    [Fact]
    public void Create_RuleScopesAndAllowAnonymousAttribute_IsNotAnonymousAndRuleScopesHold()
    {
        var policy = MethodPolicy.Create(Rule(scopes: ["greet.read"]), Metadata(new AllowAnonymousAttribute()));

        Assert.False(policy.AllowAnonymous);
        Assert.Equal(AuthFailure.MissingScope, policy.Authorize(Caller()));
    }

    [Fact]
    public void Create_RuleAllowAnonymousAndAuthorizeRolesAttribute_IsNotAnonymousAndAttributeRolesHold()
    {
        var policy = MethodPolicy.Create(Rule(allowAnonymous: true), Metadata(new AuthorizeAttribute { Roles = "x" }));

        Assert.False(policy.AllowAnonymous);
        Assert.Equal(AuthFailure.MissingRole, policy.Authorize(Caller(roles: ["y"])));
        Assert.Equal(AuthFailure.None, policy.Authorize(Caller(roles: ["x"])));
    }

    [Fact]
    public void Create_RuleAllowAnonymousAndPlainAuthorizeAttribute_RequiresAnAuthenticatedCallerOnly()
    {
        var policy = MethodPolicy.Create(Rule(allowAnonymous: true), Metadata(new AuthorizeAttribute()));

        Assert.False(policy.AllowAnonymous);
        Assert.Empty(policy.Requirements);
        Assert.Equal(AuthFailure.None, policy.Authorize(Caller()));
    }

    [Theory]
    [InlineData(new[] { "admin" }, "MissingRole")]
    [InlineData(new[] { "auditor" }, "MissingRole")]
    [InlineData(new[] { "admin", "auditor" }, "None")]
    [InlineData(new string[0], "MissingRole")]
    public void Authorize_RuleRolesAndAttributeRoles_BothMustHold(string[] roles, string expected)
    {
        var policy = MethodPolicy.Create(Rule(roles: ["admin"]), Metadata(new AuthorizeAttribute { Roles = "auditor" }));

        Assert.Equal(Enum.Parse<AuthFailure>(expected), policy.Authorize(Caller(roles: roles)));
        Assert.Equal(2, policy.Requirements.Length);
    }

    [Theory]
    [InlineData(new[] { "a" }, "MissingRole")]
    [InlineData(new[] { "b" }, "MissingRole")]
    [InlineData(new[] { "a", "b" }, "None")]
    public void Authorize_TwoAuthorizeAttributes_BothMustHold(string[] roles, string expected)
    {
        var policy = MethodPolicy.Create(null, Metadata(new AuthorizeAttribute { Roles = "a" }, new AuthorizeAttribute { Roles = "b" }));

        Assert.Equal(Enum.Parse<AuthFailure>(expected), policy.Authorize(Caller(roles: roles)));
    }

    [Theory]
    [InlineData("x")]
    [InlineData("y")]
    [InlineData("z")]
    public void Authorize_AuthorizeAttributeWithRoleList_AnyOneSuffices(string role)
    {
        var policy = MethodPolicy.Create(null, Metadata(new AuthorizeAttribute { Roles = " x, y ,z,," }));

        Assert.Equal(AuthFailure.None, policy.Authorize(Caller(roles: [role])));
        Assert.Equal(AuthFailure.MissingRole, policy.Authorize(Caller(roles: ["w"])));
    }

    [Theory]
    [InlineData("p", null)]
    [InlineData(null, "Cookies")]
    [InlineData("p", "Cookies")]
    public void Create_AuthorizeWithPolicyOrScheme_IsUnsupportedAndDeniesEveryone(string? policyName, string? schemes)
    {
        var policy = MethodPolicy.Create(
            Rule(allowAnonymous: true),
            Metadata(new AuthorizeAttribute { Policy = policyName, AuthenticationSchemes = schemes, Roles = "admin" }));

        Assert.True(policy.HasUnsupportedMetadata);
        Assert.False(policy.AllowAnonymous);
        Assert.Equal(AuthFailure.UnsupportedAuthorizationMetadata, policy.Authorize(Caller(roles: ["admin"], scopes: ["greet.read"])));
    }

    [Fact]
    public void Create_AuthorizePolicyWithoutRule_IsUnsupported()
    {
        var policy = MethodPolicy.Create(null, Metadata(new AuthorizeAttribute("p")));

        Assert.True(policy.HasUnsupportedMetadata);
        Assert.Equal(AuthFailure.UnsupportedAuthorizationMetadata, policy.Authorize(Caller()));
    }

    [Fact]
    public void Create_AttachedPolicyObject_IsUnsupportedAndDeniesEveryone()
    {
        // RequireAuthorization(policy) attaches the policy itself: it cannot be evaluated, so it must not be ignored.
        var attached = new AuthorizationPolicyBuilder().RequireClaim("department", "sales").Build();
        var policy = MethodPolicy.Create(Rule(allowAnonymous: true), Metadata(attached));

        Assert.True(policy.HasUnsupportedMetadata);
        Assert.False(policy.AllowAnonymous);
        Assert.Equal(AuthFailure.UnsupportedAuthorizationMetadata, policy.Authorize(Caller(roles: ["admin"])));
    }

    [Fact]
    public void Create_AuthorizePolicyAndAllowAnonymousAttribute_AllowAnonymousWins()
    {
        var policy = MethodPolicy.Create(null, Metadata(new AuthorizeAttribute("p"), new AllowAnonymousAttribute()));

        Assert.True(policy.AllowAnonymous);
        Assert.False(policy.HasUnsupportedMetadata);
    }

    [Theory]
    [InlineData(new string[0], "MissingScope")]
    [InlineData(new[] { "greet.read" }, "MissingScope")]
    [InlineData(new[] { "greet.write" }, "MissingScope")]
    [InlineData(new[] { "greet.read", "greet.write" }, "None")]
    [InlineData(new[] { "greet.write", "greet.read", "other" }, "None")]
    public void Authorize_RuleScopes_AllAreRequired(string[] scopes, string expected)
    {
        var policy = MethodPolicy.Create(Rule(scopes: ["greet.read", "greet.write"]), null);

        Assert.Equal(Enum.Parse<AuthFailure>(expected), policy.Authorize(Caller(scopes: scopes)));
    }

    [Theory]
    [InlineData(new[] { "admin" }, "None")]
    [InlineData(new[] { "operator" }, "None")]
    [InlineData(new[] { "reader", "operator" }, "None")]
    [InlineData(new[] { "reader" }, "MissingRole")]
    [InlineData(new[] { "Admin" }, "MissingRole")]
    [InlineData(new string[0], "MissingRole")]
    public void Authorize_RuleRoles_AnyOneSuffices(string[] roles, string expected)
    {
        var policy = MethodPolicy.Create(Rule(roles: ["admin", "operator"]), null);

        Assert.Equal(Enum.Parse<AuthFailure>(expected), policy.Authorize(Caller(roles: roles)));
    }

    [Theory]
    [InlineData(new[] { "admin" }, new string[0], "MissingScope")]
    [InlineData(new string[0], new[] { "greet.read" }, "MissingRole")]
    [InlineData(new[] { "admin" }, new[] { "greet.read" }, "None")]
    public void Authorize_RuleRolesAndScopes_BothHold(string[] roles, string[] scopes, string expected)
    {
        var policy = MethodPolicy.Create(Rule(roles: ["admin"], scopes: ["greet.read"]), null);

        Assert.Equal(Enum.Parse<AuthFailure>(expected), policy.Authorize(Caller(roles: roles, scopes: scopes)));
    }

    [Fact]
    public void Authorize_RoleInAScopeClaim_DoesNotCountAsARole()
    {
        var policy = MethodPolicy.Create(Rule(roles: ["admin"]), null);

        Assert.Equal(AuthFailure.MissingRole, policy.Authorize(Caller(scopes: ["admin"])));
    }

    private static CompiledRule Rule(string[]? roles = null, string[]? scopes = null, bool allowAnonymous = false) =>
        new("/greet.Greeter/", roles ?? [], scopes ?? [], allowAnonymous);

    private static EndpointMetadataCollection Metadata(params object[] items) => new(items);

    private JwtCaller Caller(string[]? roles = null, string[]? scopes = null)
    {
        var claims = new Dictionary<string, object>();
        if (roles is { Length: > 0 })
        {
            claims["roles"] = roles;
        }

        if (scopes is { Length: > 0 })
        {
            claims["scp"] = scopes;
        }

        var factory = new CallerFactory(CompiledAuthOptions.Create(new GrpcJwtAuthOptions(), _time));
        return factory.Create(new JsonWebToken(new TestTokenFactory(_time).Create(Key, claims: claims)), "test");
    }
}
