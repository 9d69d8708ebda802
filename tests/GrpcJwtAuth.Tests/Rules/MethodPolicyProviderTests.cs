using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tests.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Rules;

public class MethodPolicyProviderTests
{
    private const string Method = "/greet.Greeter/SayHello";

    private readonly FakeLogger<MethodPolicyProvider> _logger = new();

    [Fact]
    public void Get_SameEndpointTwice_ResolvesOnceAndReturnsTheSamePolicy()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/", AllowAnonymous = true });
        var endpoint = TestEndpoints.ForMethod(Method);

        var first = provider.Get(Routed(endpoint));
        var second = provider.Get(Routed(endpoint));

        Assert.Same(first, second);
        Assert.True(first.AllowAnonymous);
        Assert.Equal(1, provider.Count);
        Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "MethodPolicyResolved");
    }

    [Fact]
    public void Get_MatchesRulesOnTheDeclaredNameNotOnTheRequestPath()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/SayHello", Roles = { "admin" } });
        var context = Routed(TestEndpoints.ForMethod(Method));
        context.Request.Path = "/GREET.GREETER/SAYHELLO";

        var policy = provider.Get(context);

        Assert.Equal("/greet.Greeter/SayHello", policy.Rule?.Prefix);
        Assert.Equal(Method, policy.Method);
        Assert.Single(policy.Requirements);
    }

    [Fact]
    public void Get_RuleAndEndpointMetadata_AreCombined()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/" }, new GrpcJwtAuthRule { Prefix = "/greet.Greeter/", AllowAnonymous = true });

        var policy = provider.Get(Routed(TestEndpoints.ForMethod(Method, new AuthorizeAttribute { Roles = "admin" })));

        Assert.Equal("/greet.Greeter/", policy.Rule?.Prefix);
        Assert.False(policy.AllowAnonymous);
        Assert.Single(policy.Requirements);
    }

    [Fact]
    public void Get_TwoEndpointsOfOneMethod_KeepTheirOwnMetadata()
    {
        var provider = Create();

        var plain = provider.Get(Routed(TestEndpoints.ForMethod(Method)));
        var anonymous = provider.Get(Routed(TestEndpoints.ForMethod(Method, new AllowAnonymousAttribute())));

        Assert.False(plain.AllowAnonymous);
        Assert.True(anonymous.AllowAnonymous);
        Assert.Equal(2, provider.Count);
    }

    [Fact]
    public void Get_NoEndpoint_IsUnresolvedAndDenied()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true });

        var policy = provider.Get(new DefaultHttpContext());

        Assert.True(policy.IsUnresolved);
        Assert.False(policy.AllowAnonymous);
        Assert.Equal(MethodPolicy.OtherMethod, policy.Method);
        Assert.Equal(0, provider.Count);
    }

    [Fact]
    public void Get_EndpointThatIsNoGrpcMethod_IsUnresolvedAndNotKept()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true });

        var policy = provider.Get(Routed(new Endpoint(null, new EndpointMetadataCollection(), "/greet.Greeter/SayHello")));

        Assert.True(policy.IsUnresolved);
        Assert.Equal(0, provider.Count);
    }

    [Fact]
    public void Get_DifferentMethods_ResolveSeparately()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/grpc.health.v1.Health/", AllowAnonymous = true });

        Assert.True(provider.Get(Routed(TestEndpoints.ForMethod("/grpc.health.v1.Health/Check"))).AllowAnonymous);
        Assert.False(provider.Get(Routed(TestEndpoints.ForMethod(Method))).AllowAnonymous);
    }

    [Fact]
    public void Get_AuthorizePolicyAttribute_LogsAnErrorOnce()
    {
        var provider = Create();
        var endpoint = TestEndpoints.ForMethod(Method, new AuthorizeAttribute("p"));

        provider.Get(Routed(endpoint));
        provider.Get(Routed(endpoint));

        var error = Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "UnsupportedAuthorizeMetadata");
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains(Method, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unresolved_DeniesEvenAnAuthenticatedCaller()
    {
        Assert.Equal(AuthFailure.UnresolvedMethod, MethodPolicy.Unresolved.Authorize(null!));
    }

    private MethodPolicyProvider Create(params GrpcJwtAuthRule[] rules)
    {
        var options = new GrpcJwtAuthOptions();
        foreach (var rule in rules)
        {
            options.Rules.Add(rule);
        }

        return new MethodPolicyProvider(CompiledAuthOptions.Create(options, new FakeTimeProvider()), _logger);
    }

    private static DefaultHttpContext Routed(Endpoint endpoint)
    {
        var context = new DefaultHttpContext();
        context.SetEndpoint(endpoint);
        return context;
    }
}
