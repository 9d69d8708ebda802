using GrpcJwtAuth.Authentication;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Tests.Authentication;

public sealed class RequestHandlerSchemesCacheTests
{
    [Fact]
    public async Task GetRequestHandlerSchemesAsync_OfAspNetCoresProvider_IsOneTaskUntilTheSchemesChange()
    {
        var cache = new RequestHandlerSchemesCache(FrameworkProvider());

        var first = cache.GetRequestHandlerSchemesAsync();
        var second = cache.GetRequestHandlerSchemesAsync();

        Assert.Same(first, second);
        Assert.Empty(await first);
    }

    [Fact]
    public async Task AddScheme_OfARequestHandler_IsSeenByTheNextRequest()
    {
        var cache = new RequestHandlerSchemesCache(FrameworkProvider());
        Assert.Empty(await cache.GetRequestHandlerSchemesAsync());

        cache.AddScheme(new AuthenticationScheme("callback", null, typeof(RequestHandler)));

        Assert.Equal(["callback"], (await cache.GetRequestHandlerSchemesAsync()).Select(scheme => scheme.Name));
    }

    [Fact]
    public async Task TryAddScheme_AndRemoveScheme_AreSeenByTheNextRequest()
    {
        var cache = new RequestHandlerSchemesCache(FrameworkProvider());
        Assert.Empty(await cache.GetRequestHandlerSchemesAsync());

        Assert.True(cache.TryAddScheme(new AuthenticationScheme("callback", null, typeof(RequestHandler))));
        Assert.Single(await cache.GetRequestHandlerSchemesAsync());

        cache.RemoveScheme("callback");
        Assert.Empty(await cache.GetRequestHandlerSchemesAsync());
    }

    [Fact]
    public async Task AddScheme_ThatThrows_LeavesTheSchemesAsTheyAre()
    {
        var cache = new RequestHandlerSchemesCache(FrameworkProvider());
        cache.AddScheme(new AuthenticationScheme("callback", null, typeof(RequestHandler)));
        Assert.Single(await cache.GetRequestHandlerSchemesAsync());

        Assert.Throws<InvalidOperationException>(() => cache.AddScheme(new AuthenticationScheme("callback", null, typeof(RequestHandler))));

        Assert.Single(await cache.GetRequestHandlerSchemesAsync());
    }

    [Fact]
    public async Task GetRequestHandlerSchemesAsync_OfADerivedProvider_AsksItEveryTime()
    {
        // A provider of the app's own may answer per request (per tenant): nothing is kept.
        var derived = new CountingProvider();
        var cache = new RequestHandlerSchemesCache(derived);

        await cache.GetRequestHandlerSchemesAsync();
        await cache.GetRequestHandlerSchemesAsync();

        Assert.Equal(2, derived.RequestHandlerCalls);
    }

    [Fact]
    public async Task OtherQuestions_GoToTheAppsProvider()
    {
        var inner = FrameworkProvider();
        inner.AddScheme(new AuthenticationScheme("only", null, typeof(RequestHandler)));
        var cache = new RequestHandlerSchemesCache(inner);

        Assert.Equal("only", (await cache.GetDefaultAuthenticateSchemeAsync())?.Name);
        Assert.Equal("only", (await cache.GetDefaultChallengeSchemeAsync())?.Name);
        Assert.Equal("only", (await cache.GetSchemeAsync("only"))?.Name);
        Assert.Single(await cache.GetAllSchemesAsync());
        Assert.Same(inner, cache.Inner);
    }

    private static AuthenticationSchemeProvider FrameworkProvider() => new(Options.Create(new AuthenticationOptions()));

    private sealed class CountingProvider() : AuthenticationSchemeProvider(Options.Create(new AuthenticationOptions()))
    {
        public int RequestHandlerCalls { get; private set; }

        public override Task<IEnumerable<AuthenticationScheme>> GetRequestHandlerSchemesAsync()
        {
            RequestHandlerCalls++;
            return base.GetRequestHandlerSchemesAsync();
        }
    }

    private sealed class RequestHandler : IAuthenticationRequestHandler
    {
        public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context) => Task.CompletedTask;

        public Task<bool> HandleRequestAsync() => Task.FromResult(false);

        public Task<AuthenticateResult> AuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());

        public Task ChallengeAsync(AuthenticationProperties? properties) => Task.CompletedTask;

        public Task ForbidAsync(AuthenticationProperties? properties) => Task.CompletedTask;
    }
}
