using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tests.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Authorization;

public class EndpointAuthorizationProviderTests
{
    private const string Method = "/greet.Greeter/SayHello";

    private readonly FakeLogger<EndpointAuthorizationProvider> _logger = new();

    [Fact]
    public async Task GetAsync_SameEndpointTwice_ResolvesOnceAndReturnsTheSameRequirements()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/", AllowAnonymous = true });
        var endpoint = TestEndpoints.ForMethod(Method);

        var first = await provider.GetAsync(Routed(endpoint));
        var second = await provider.GetAsync(Routed(endpoint));

        Assert.Same(first, second);
        Assert.True(first.IsAnonymous);
        Assert.Equal(1, provider.Count);
        Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "MethodPolicyResolved");
    }

    [Fact]
    public async Task GetAsync_MatchesRulesOnTheDeclaredNameNotOnTheRequestPath()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/SayHello", Roles = { "admin" } });
        var context = Routed(TestEndpoints.ForMethod(Method));
        context.Request.Path = "/GREET.GREETER/SAYHELLO";

        var authorization = await provider.GetAsync(context);

        Assert.Equal("/greet.Greeter/SayHello", authorization.Rule?.Prefix);
        Assert.Equal(Method, authorization.Method);
        Assert.Equal("greet.Greeter/SayHello", authorization.RpcMethod);
    }

    [Fact]
    public async Task GetAsync_TwoEndpointsOfOneMethod_KeepTheirOwnMetadata()
    {
        var provider = Create();

        var plain = await provider.GetAsync(Routed(TestEndpoints.ForMethod(Method)));
        var anonymous = await provider.GetAsync(Routed(TestEndpoints.ForMethod(Method, new AllowAnonymousAttribute())));

        Assert.False(plain.IsAnonymous);
        Assert.True(anonymous.IsAnonymous);
        Assert.Equal(2, provider.Count);
    }

    [Fact]
    public async Task GetAsync_NoEndpoint_IsUnresolvedAndDenied()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true });

        var authorization = await provider.GetAsync(new DefaultHttpContext { RequestServices = TestEndpoints.Services });

        Assert.Same(EndpointAuthorization.Unresolved, authorization);
        Assert.Equal(AuthFailure.UnresolvedMethod, authorization.Failure);
        Assert.False(authorization.IsAnonymous);
        Assert.Equal(EndpointAuthorization.OtherMethod, authorization.Method);
        Assert.Equal(0, provider.Count);
    }

    [Fact]
    public async Task GetAsync_EndpointThatIsNoGrpcMethod_IsUnresolvedAndNotKept()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true });

        var authorization = await provider.GetAsync(Routed(new Endpoint(null, new EndpointMetadataCollection(), Method)));

        Assert.Same(EndpointAuthorization.Unresolved, authorization);
        Assert.Equal(0, provider.Count);
    }

    [Fact]
    public async Task GetAsync_UndefinedPolicy_DeniesWithPolicyNotFoundAndLogsAnError()
    {
        var provider = Create();
        var endpoint = TestEndpoints.ForMethod(Method, new AuthorizeAttribute("nobody-defined-this"));

        var first = await provider.GetAsync(Routed(endpoint));
        await provider.GetAsync(Routed(endpoint));

        Assert.Equal(AuthFailure.PolicyNotFound, first.Failure);
        var error = Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "UndefinedAuthorizationPolicy");
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains(Method, error.Message, StringComparison.Ordinal);
        Assert.Contains("nobody-defined-this", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_RuleNamingAnUndefinedPolicy_DeniesWithPolicyNotFound()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/greet.", Policies = { "nobody-defined-this" } });

        Assert.Equal(AuthFailure.PolicyNotFound, (await provider.GetAsync(Routed(TestEndpoints.ForMethod(Method)))).Failure);
    }

    [Fact]
    public async Task GetAsync_PolicyProviderThatForbidsCaching_ResolvesEveryCall()
    {
        using var services = new ServiceCollection().AddLogging().AddAuthorization()
            .AddSingleton<IAuthorizationPolicyProvider, UncachedPolicyProvider>()
            .BuildServiceProvider();
        var provider = Create();
        var endpoint = TestEndpoints.ForMethod(Method, new AuthorizeAttribute("dynamic"));

        var first = await provider.GetAsync(Routed(endpoint, services));
        var second = await provider.GetAsync(Routed(endpoint, services));

        Assert.NotSame(first, second);
        Assert.Equal(0, provider.Count);
    }

    [Fact]
    public async Task GetAsync_DifferentMethods_ResolveSeparately()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/grpc.health.v1.Health/", AllowAnonymous = true });

        Assert.True((await provider.GetAsync(Routed(TestEndpoints.ForMethod("/grpc.health.v1.Health/Check")))).IsAnonymous);
        Assert.False((await provider.GetAsync(Routed(TestEndpoints.ForMethod(Method)))).IsAnonymous);
    }

    private EndpointAuthorizationProvider Create(params GrpcJwtAuthRule[] rules)
    {
        var options = new GrpcJwtAuthOptions();
        foreach (var rule in rules)
        {
            options.Rules.Add(rule);
        }

        return new EndpointAuthorizationProvider(CompiledAuthOptions.Create(options, new FakeTimeProvider()), _logger);
    }

    private static DefaultHttpContext Routed(Endpoint endpoint, IServiceProvider? services = null)
    {
        var context = new DefaultHttpContext { RequestServices = services ?? TestEndpoints.Services };
        context.SetEndpoint(endpoint);
        return context;
    }

    /// <summary>A provider whose policies change per call, as some dynamic providers do: nothing may be kept.</summary>
    private sealed class UncachedPolicyProvider(Microsoft.Extensions.Options.IOptions<AuthorizationOptions> options)
        : DefaultAuthorizationPolicyProvider(options), IAuthorizationPolicyProvider
    {
        public override bool AllowsCachingPolicies => false;

        public override Task<AuthorizationPolicy?> GetPolicyAsync(string policyName) =>
            Task.FromResult<AuthorizationPolicy?>(new AuthorizationPolicyBuilder().RequireClaim(policyName).Build());
    }
}
