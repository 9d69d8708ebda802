using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Rules;
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
    public void Get_SameMethodTwice_ResolvesOnceAndReturnsTheSamePolicy()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/", AllowAnonymous = true });

        var first = provider.Get(Method, Context());
        var second = provider.Get(Method, Context(new AuthorizeAttribute { Roles = "admin" }));

        Assert.Same(first, second);
        Assert.True(first.AllowAnonymous);
        Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "MethodPolicyResolved");
    }

    [Fact]
    public void Get_RuleAndEndpointMetadata_AreCombined()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/" }, new GrpcJwtAuthRule { Prefix = "/greet.Greeter/", AllowAnonymous = true });

        var policy = provider.Get(Method, Context(new AuthorizeAttribute { Roles = "admin" }));

        Assert.Equal("/greet.Greeter/", policy.Rule?.Prefix);
        Assert.False(policy.AllowAnonymous);
        Assert.Single(policy.Requirements);
    }

    [Fact]
    public void Get_NoEndpoint_UsesTheRuleOnly()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true });

        Assert.True(provider.Get(Method, new DefaultHttpContext()).AllowAnonymous);
    }

    [Fact]
    public void Get_DifferentMethods_ResolveSeparately()
    {
        var provider = Create(new GrpcJwtAuthRule { Prefix = "/health/", AllowAnonymous = true });

        Assert.True(provider.Get("/health/Check", Context()).AllowAnonymous);
        Assert.False(provider.Get(Method, Context()).AllowAnonymous);
    }

    [Fact]
    public void Get_AuthorizePolicyAttribute_LogsAnErrorOnce()
    {
        var provider = Create();

        provider.Get(Method, Context(new AuthorizeAttribute("p")));
        provider.Get(Method, Context(new AuthorizeAttribute("p")));

        var error = Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "UnsupportedAuthorizeMetadata");
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains(Method, error.Message, StringComparison.Ordinal);
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

    private static DefaultHttpContext Context(params object[] metadata)
    {
        var context = new DefaultHttpContext();
        context.SetEndpoint(new Endpoint(null, new EndpointMetadataCollection(metadata), "test"));
        return context;
    }
}
