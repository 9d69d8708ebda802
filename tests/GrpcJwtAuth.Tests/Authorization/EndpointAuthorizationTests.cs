using System.Security.Claims;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Tests.Authorization;

/// <summary>
/// How a method's requirements are put together from its rule and its endpoint metadata, and how they decide for a
/// caller: ASP.NET Core's own combination (<see cref="AuthorizationPolicy.CombineAsync(IAuthorizationPolicyProvider, IEnumerable{IAuthorizeData}, IEnumerable{AuthorizationPolicy})"/>)
/// plus the rule, which always holds.
/// </summary>
public class EndpointAuthorizationTests
{
    private const string Method = "/greet.Greeter/SayHello";

    private static readonly DateTimeOffset Now = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly TestSigningKey Key = TestSigningKey.Ec("ec-1");

    private readonly FakeTimeProvider _time = new(Now);

    private readonly ServiceProvider _services = new ServiceCollection()
        .AddLogging()
        .AddAuthorization(options =>
        {
            options.AddPolicy("sales", policy => policy.RequireClaim("department", "sales"));
            options.AddPolicy("admins", policy => policy.RequireRole("admin"));
        })
        .BuildServiceProvider();

    [Fact]
    public async Task Build_NoRuleNoMetadata_RequiresAnAuthenticatedCallerOnly()
    {
        var authorization = await Build(rule: null);

        Assert.False(authorization.IsAnonymous);
        Assert.Null(authorization.Rule);
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller()));
        Assert.Equal(AuthFailure.MissingAuthorization, await Authorize(authorization, new ClaimsPrincipal(new ClaimsIdentity())));
    }

    [Fact]
    public async Task Build_NoRuleNoMetadata_UsesTheAppsFallbackPolicy()
    {
        using var services = new ServiceCollection().AddLogging()
            .AddAuthorization(options => options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireRole("staff").Build())
            .BuildServiceProvider();

        var authorization = await Build(rule: null, services: services);

        Assert.Equal(AuthFailure.MissingRole, await Authorize(authorization, Caller(), services));
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(roles: ["staff"]), services));
    }

    [Fact]
    public async Task Build_ARuleWithoutRequirements_RequiresAnAuthenticatedCallerNotTheFallback()
    {
        using var services = new ServiceCollection().AddLogging()
            .AddAuthorization(options => options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireRole("staff").Build())
            .BuildServiceProvider();

        var authorization = await Build(Rule(), services: services);

        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(), services));
    }

    [Fact]
    public async Task Build_RuleAllowAnonymous_IsAnonymous()
    {
        var rule = Rule(allowAnonymous: true);

        var authorization = await Build(rule);

        Assert.True(authorization.IsAnonymous);
        Assert.Same(rule, authorization.Rule);
    }

    [Fact]
    public async Task Build_AllowAnonymousAttributeWithoutRule_IsAnonymous()
    {
        Assert.True((await Build(rule: null, new AllowAnonymousAttribute())).IsAnonymous);
    }

    [Fact]
    public async Task Build_RuleRolesAndAllowAnonymousAttribute_IsNotAnonymousAndRuleRolesHold()
    {
        var authorization = await Build(Rule(roles: ["admin"]), new AllowAnonymousAttribute());

        Assert.False(authorization.IsAnonymous);
        Assert.Equal(AuthFailure.MissingRole, await Authorize(authorization, Caller()));
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(roles: ["admin"])));
    }

    [Fact]
    public async Task Build_RuleScopesAndAllowAnonymousAttribute_IsNotAnonymousAndRuleScopesHold()
    {
        var authorization = await Build(Rule(scopes: ["greet.read"]), new AllowAnonymousAttribute());

        Assert.False(authorization.IsAnonymous);
        Assert.Equal(AuthFailure.MissingScope, await Authorize(authorization, Caller()));
    }

    [Fact]
    public async Task Build_RuleAllowAnonymousAndAuthorizeRolesAttribute_IsNotAnonymousAndAttributeRolesHold()
    {
        var authorization = await Build(Rule(allowAnonymous: true), new AuthorizeAttribute { Roles = "x" });

        Assert.False(authorization.IsAnonymous);
        Assert.Equal(AuthFailure.MissingRole, await Authorize(authorization, Caller(roles: ["y"])));
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(roles: ["x"])));
    }

    [Fact]
    public async Task Build_RuleAllowAnonymousAndPlainAuthorizeAttribute_RequiresAnAuthenticatedCallerOnly()
    {
        var authorization = await Build(Rule(allowAnonymous: true), new AuthorizeAttribute());

        Assert.False(authorization.IsAnonymous);
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller()));
    }

    [Theory]
    [InlineData(new[] { "admin" }, "MissingRole")]
    [InlineData(new[] { "auditor" }, "MissingRole")]
    [InlineData(new[] { "admin", "auditor" }, "None")]
    [InlineData(new string[0], "MissingRole")]
    public async Task Authorize_RuleRolesAndAttributeRoles_BothMustHold(string[] roles, string expected)
    {
        var authorization = await Build(Rule(roles: ["admin"]), new AuthorizeAttribute { Roles = "auditor" });

        Assert.Equal(Enum.Parse<AuthFailure>(expected), await Authorize(authorization, Caller(roles: roles)));
    }

    [Theory]
    [InlineData(new[] { "a" }, "MissingRole")]
    [InlineData(new[] { "b" }, "MissingRole")]
    [InlineData(new[] { "a", "b" }, "None")]
    public async Task Authorize_TwoAuthorizeAttributes_BothMustHold(string[] roles, string expected)
    {
        var authorization = await Build(null, new AuthorizeAttribute { Roles = "a" }, new AuthorizeAttribute { Roles = "b" });

        Assert.Equal(Enum.Parse<AuthFailure>(expected), await Authorize(authorization, Caller(roles: roles)));
    }

    [Theory]
    [InlineData("x")]
    [InlineData("y")]
    [InlineData("z")]
    public async Task Authorize_AuthorizeAttributeWithRoleList_AnyOneSuffices(string role)
    {
        var authorization = await Build(null, new AuthorizeAttribute { Roles = " x, y ,z,," });

        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(roles: [role])));
        Assert.Equal(AuthFailure.MissingRole, await Authorize(authorization, Caller(roles: ["w"])));
    }

    [Fact]
    public async Task Authorize_NamedPolicyAttribute_IsEvaluatedAndNamedWhenItFails()
    {
        var authorization = await Build(null, new AuthorizeAttribute("sales"));

        Assert.True(authorization.UsesOwnScheme);
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(claims: new() { ["department"] = "sales" })));
        var denial = await Deny(authorization, Caller(claims: new() { ["department"] = "support" }));
        Assert.Equal(AuthFailure.PolicyFailed, denial.Failure);
        Assert.Equal("authorization policy 'sales' failed", denial.Detail);
    }

    [Fact]
    public async Task Authorize_RuleNamingAPolicy_NeedsItAsWellAsItsRoles()
    {
        var authorization = await Build(Rule(roles: ["reader"], policies: ["sales"]));

        Assert.Equal(AuthFailure.MissingRole, await Authorize(authorization, Caller(claims: new() { ["department"] = "sales" })));
        Assert.Equal(AuthFailure.PolicyFailed, await Authorize(authorization, Caller(roles: ["reader"])));
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(roles: ["reader"], claims: new() { ["department"] = "sales" })));
    }

    [Fact]
    public async Task Authorize_AttachedPolicyObject_IsEvaluated()
    {
        // RequireAuthorization(policy) attaches the policy itself.
        var attached = new AuthorizationPolicyBuilder().RequireClaim("department", "sales").Build();
        var authorization = await Build(Rule(allowAnonymous: true), attached);

        Assert.False(authorization.IsAnonymous);
        Assert.Equal(AuthFailure.None, await Authorize(authorization, Caller(claims: new() { ["department"] = "sales" })));
        var denial = await Deny(authorization, Caller());
        Assert.Equal(AuthFailure.PolicyFailed, denial.Failure);
        Assert.Equal("authorization requirement ClaimsAuthorizationRequirement failed", denial.Detail);
    }

    [Theory]
    [InlineData("missing", null)]
    [InlineData(null, "missing")]
    public async Task Build_UndefinedPolicy_DeniesEveryone(string? attributePolicy, string? rulePolicy)
    {
        var authorization = await Build(
            rulePolicy is null ? null : Rule(policies: [rulePolicy]),
            attributePolicy is null ? [] : [new AuthorizeAttribute(attributePolicy)]);

        Assert.Equal(AuthFailure.PolicyNotFound, authorization.Failure);
        Assert.False(authorization.IsAnonymous);
    }

    [Fact]
    public async Task Build_AuthorizeWithAnotherScheme_IsNotAuthenticatedByGrpcJwtAuth()
    {
        var authorization = await Build(null, new AuthorizeAttribute { AuthenticationSchemes = "Cookies" });

        Assert.False(authorization.UsesOwnScheme);
        Assert.Equal(["Cookies"], authorization.Policy!.AuthenticationSchemes);
    }

    [Fact]
    public async Task Build_AuthorizeNamingGrpcJwtAuthsScheme_IsAuthenticatedByGrpcJwtAuth()
    {
        var authorization = await Build(null, new AuthorizeAttribute { AuthenticationSchemes = GrpcJwtAuthDefaults.AuthenticationScheme });

        Assert.True(authorization.UsesOwnScheme);
    }

    [Fact]
    public async Task Build_AuthorizePolicyAndAllowAnonymousAttribute_AllowAnonymousWins()
    {
        var authorization = await Build(null, new AuthorizeAttribute("sales"), new AllowAnonymousAttribute());

        Assert.True(authorization.IsAnonymous);
    }

    [Fact]
    public async Task Build_OnlyBuiltInRequirements_IsEvaluatedNatively()
    {
        Assert.True((await Build(Rule(roles: ["a"], scopes: ["s"]), new AuthorizeAttribute("sales"))).IsNative);
        Assert.False((await Build(null, new AuthorizationPolicyBuilder().RequireAssertion(_ => true).Build())).IsNative);
    }

    [Theory]
    [InlineData(new string[0], "MissingScope")]
    [InlineData(new[] { "greet.read" }, "MissingScope")]
    [InlineData(new[] { "greet.write" }, "MissingScope")]
    [InlineData(new[] { "greet.read", "greet.write" }, "None")]
    [InlineData(new[] { "greet.write", "greet.read", "other" }, "None")]
    public async Task Authorize_RuleScopes_AllAreRequired(string[] scopes, string expected)
    {
        var authorization = await Build(Rule(scopes: ["greet.read", "greet.write"]));

        Assert.Equal(Enum.Parse<AuthFailure>(expected), await Authorize(authorization, Caller(scopes: scopes)));
    }

    [Theory]
    [InlineData(new[] { "admin" }, "None")]
    [InlineData(new[] { "operator" }, "None")]
    [InlineData(new[] { "reader", "operator" }, "None")]
    [InlineData(new[] { "reader" }, "MissingRole")]
    [InlineData(new[] { "Admin" }, "MissingRole")]
    [InlineData(new string[0], "MissingRole")]
    public async Task Authorize_RuleRoles_AnyOneSuffices(string[] roles, string expected)
    {
        var authorization = await Build(Rule(roles: ["admin", "operator"]));

        Assert.Equal(Enum.Parse<AuthFailure>(expected), await Authorize(authorization, Caller(roles: roles)));
    }

    [Theory]
    [InlineData(new[] { "admin" }, new string[0], "MissingScope")]
    [InlineData(new string[0], new[] { "greet.read" }, "MissingRole")]
    [InlineData(new[] { "admin" }, new[] { "greet.read" }, "None")]
    public async Task Authorize_RuleRolesAndScopes_BothHold(string[] roles, string[] scopes, string expected)
    {
        var authorization = await Build(Rule(roles: ["admin"], scopes: ["greet.read"]));

        Assert.Equal(Enum.Parse<AuthFailure>(expected), await Authorize(authorization, Caller(roles: roles, scopes: scopes)));
    }

    [Fact]
    public async Task Authorize_RoleInAScopeClaim_DoesNotCountAsARole()
    {
        var authorization = await Build(Rule(roles: ["admin"]));

        Assert.Equal(AuthFailure.MissingRole, await Authorize(authorization, Caller(scopes: ["admin"])));
    }

    [Fact]
    public async Task Authorize_ScopesOfAPrincipalGrpcJwtAuthDidNotAuthenticate_DoNotCount()
    {
        var authorization = await Build(Rule(scopes: ["greet.read"]));
        var other = new ClaimsPrincipal(new ClaimsIdentity([new Claim("scope", "greet.read")], "Cookies"));

        Assert.Equal(AuthFailure.MissingScope, await Authorize(authorization, other));
    }

    [Fact]
    public async Task EvaluateAsync_FailureReason_ReachesTheDetailOnlyWhenExposed()
    {
        using var services = new ServiceCollection().AddLogging()
            .AddAuthorization(options => options.AddPolicy("tenant", policy => policy.AddRequirements(new TenantRequirement())))
            .AddSingleton<IAuthorizationHandler, TenantHandler>()
            .BuildServiceProvider();
        var authorization = await Build(null, [new AuthorizeAttribute("tenant")], services);
        var user = JwtCallPrincipal.For(Caller());

        var hidden = await new PolicyEvaluation(exposeFailureReasons: false).EvaluateAsync(authorization, authorization.Policy!, Request(user, services), null, null);
        var shown = await new PolicyEvaluation(exposeFailureReasons: true).EvaluateAsync(authorization, authorization.Policy!, Request(user, services), null, null);

        Assert.Equal("authorization policy 'tenant' failed", hidden?.Detail);
        Assert.Equal("authorization policy 'tenant' failed: tenant t-9 is closed", shown?.Detail);
    }

    [Fact]
    public async Task Unresolved_DeniesEveryone()
    {
        Assert.Equal(AuthFailure.UnresolvedMethod, await Authorize(EndpointAuthorization.Unresolved, Caller()));
    }

    private Task<EndpointAuthorization> Build(CompiledRule? rule, params object[] metadata) => Build(rule, metadata, services: null);

    private async Task<EndpointAuthorization> Build(CompiledRule? rule, object[]? metadata = null, IServiceProvider? services = null)
    {
        var policies = (services ?? _services).GetRequiredService<IAuthorizationPolicyProvider>();
        try
        {
            return await EndpointAuthorizationProvider.BuildAsync(policies, new EndpointMetadataCollection(metadata ?? []), Method, rule);
        }
        catch (InvalidOperationException)
        {
            return EndpointAuthorization.UndefinedPolicy(Method);
        }
    }

    /// <summary>
    /// Decides for <paramref name="caller"/> twice, with its principal as a handler would see it and with the principal
    /// not yet created (decided from the caller alone, as on a call nothing read the user of): the same answer both ways.
    /// </summary>
    private async Task<AuthFailure> Authorize(EndpointAuthorization authorization, JwtCaller caller, IServiceProvider? services = null)
    {
        var failure = await Authorize(authorization, JwtCallPrincipal.For(caller), services);
        if (authorization.Policy is not null && authorization.Failure == AuthFailure.None)
        {
            var request = new DefaultHttpContext { RequestServices = services ?? _services };
            var untouched = new JwtCallUserFeature(caller);
            request.Features.Set<Microsoft.AspNetCore.Http.Features.Authentication.IHttpAuthenticationFeature>(untouched);
            var fromCaller = await new PolicyEvaluation(false).EvaluateAsync(authorization, authorization.Policy, request, caller, null);
            Assert.Equal(failure, fromCaller?.Failure ?? AuthFailure.None);
            if (services is null && authorization.IsNative)
            {
                // Requirements are checked in order until one fails; only one the caller cannot decide needs the principal.
                var decided = authorization.Policy.Requirements.Select(requirement => PolicyEvaluation.IsMet(requirement, caller));
                Assert.Equal(decided.TakeWhile(met => met is true).Concat(decided.SkipWhile(met => met is true).Take(1)).All(met => met is not null),
                    untouched.IsUntouched);
            }
        }

        return failure;
    }

    private async Task<AuthFailure> Authorize(EndpointAuthorization authorization, ClaimsPrincipal user, IServiceProvider? services = null)
    {
        if (authorization.Failure != AuthFailure.None)
        {
            return authorization.Failure;
        }

        if (authorization.Policy is null)
        {
            return AuthFailure.None;
        }

        var native = await new PolicyEvaluation(false).EvaluateAsync(authorization, authorization.Policy, Request(user, services), null, null);

        // The same decision as ASP.NET Core's authorization service reaches, with its handlers and evaluator.
        var framework = await (services ?? _services).GetRequiredService<IAuthorizationService>().AuthorizeAsync(user, null, authorization.Policy);
        Assert.Equal(native is null, framework.Succeeded);
        return native?.Failure ?? AuthFailure.None;
    }

    private async Task<PolicyEvaluation.Denial> Deny(EndpointAuthorization authorization, JwtCaller caller) =>
        await new PolicyEvaluation(false).EvaluateAsync(authorization, authorization.Policy!, Request(JwtCallPrincipal.For(caller), _services), null, null)
        ?? throw new InvalidOperationException("The policy passed.");

    private HttpContext Request(ClaimsPrincipal user, IServiceProvider? services) =>
        new DefaultHttpContext { RequestServices = services ?? _services, User = user };

    private static CompiledRule Rule(string[]? roles = null, string[]? scopes = null, bool allowAnonymous = false, string[]? policies = null) =>
        new("/greet.Greeter/", roles ?? [], scopes ?? [], allowAnonymous, policies ?? []);

    private JwtCaller Caller(string[]? roles = null, string[]? scopes = null, Dictionary<string, object>? claims = null)
    {
        claims ??= [];
        if (roles is { Length: > 0 })
        {
            claims["roles"] = roles;
        }

        if (scopes is { Length: > 0 })
        {
            claims["scp"] = scopes;
        }

        return GrpcJwtAuth.Tests.Claims.TestCallers.Create(new TestTokenFactory(_time).Create(Key, claims: claims), _time);
    }

    private sealed class TenantRequirement : IAuthorizationRequirement;

    private sealed class TenantHandler : AuthorizationHandler<TenantRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, TenantRequirement requirement)
        {
            context.Fail(new AuthorizationFailureReason(this, "tenant t-9 is closed"));
            return Task.CompletedTask;
        }
    }
}
