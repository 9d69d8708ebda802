using Grpc.Core;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Client.Tests;

/// <summary>Registrations, resolved from a real container; clients made by the gRPC client factory call <see cref="GrpcTestServer"/>.</summary>
public sealed class JwtCallCredentialsServiceCollectionExtensionsTests : IClassFixture<GrpcTestServer>
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly GrpcTestServer _server;
    private readonly FakeTokenSource _source = new(TimeProvider.System);

    public JwtCallCredentialsServiceCollectionExtensionsTests(GrpcTestServer server)
    {
        _server = server;
        _server.Reset();
    }

    [Fact]
    public async Task AddJwtCallCredentials_ClientFactory_AttachesTokenFromTheProviderInDi()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IAccessTokenProvider>(_source);
        services.AddGrpcClient<ProbeClient>(options => options.Address = _server.HttpsAddress)
            .ConfigurePrimaryHttpMessageHandler(_server.CreatePinnedHandler)
            .AddJwtCallCredentials();
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<ProbeClient>();
        await client.UnaryAsync("you").ResponseAsync.DefaultTimeout();

        Assert.Equal(["Bearer token-1"], Assert.Single(_server.Calls).Authorization);
    }

    [Fact]
    public async Task AddJwtCallCredentials_ClientFactory_RetriesUnauthenticatedOnceWithNewToken()
    {
        _server.Reject("token-1");
        var services = new ServiceCollection();
        services.AddSingleton<IAccessTokenProvider>(_source);
        services.AddGrpcClient<ProbeClient>(options => options.Address = _server.HttpsAddress)
            .ConfigurePrimaryHttpMessageHandler(_server.CreatePinnedHandler)
            .AddJwtCallCredentials();
        await using var provider = services.BuildServiceProvider();

        var reply = await provider.GetRequiredService<ProbeClient>().UnaryAsync("you").ResponseAsync.DefaultTimeout();

        Assert.Equal("hello you", reply);
        Assert.Equal([["Bearer token-1"], ["Bearer token-2"]], _server.Calls.Select(call => call.Authorization));
    }

    [Fact]
    public async Task AddJwtCallCredentials_RetryOff_DoesNotRetry()
    {
        _server.Reject("token-1");
        var services = new ServiceCollection();
        services.AddSingleton<IAccessTokenProvider>(_source);
        services.AddGrpcClient<ProbeClient>(options => options.Address = _server.HttpsAddress)
            .ConfigurePrimaryHttpMessageHandler(_server.CreatePinnedHandler)
            .AddJwtCallCredentials(options => options.RetryOnUnauthenticated = false);
        await using var provider = services.BuildServiceProvider();

        await Assert.ThrowsAsync<RpcException>(() => provider.GetRequiredService<ProbeClient>().UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Single(_server.Calls);
    }

    [Fact]
    public async Task AddJwtCallCredentials_ProviderFactory_UsesTheProviderItReturns()
    {
        var services = new ServiceCollection();
        services.AddGrpcClient<ProbeClient>(options => options.Address = _server.HttpsAddress)
            .ConfigurePrimaryHttpMessageHandler(_server.CreatePinnedHandler)
            .AddJwtCallCredentials(_ => new StaticAccessTokenProvider("from-factory"));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<ProbeClient>().UnaryAsync("you").ResponseAsync.DefaultTimeout();

        Assert.Equal(["Bearer from-factory"], Assert.Single(_server.Calls).Authorization);
        Assert.Null(provider.GetService<IAccessTokenProvider>());
    }

    [Fact]
    public async Task AddJwtCallCredentials_PlaintextWithOptIn_SendsTheToken()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IAccessTokenProvider>(_source);
        services.AddGrpcClient<ProbeClient>(options => options.Address = _server.HttpAddress)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler())
            .AddJwtCallCredentials(options => options.UnsafeAllowInsecureChannel = true);
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<ProbeClient>().UnaryAsync("you").ResponseAsync.DefaultTimeout();

        var call = Assert.Single(_server.Calls);
        Assert.Equal(["Bearer token-1"], call.Authorization);
        Assert.False(call.OverTls);
    }

    [Fact]
    public async Task AddJwtCallCredentials_PlaintextWithoutOptIn_SendsNoTokenAndSaysWhy()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IAccessTokenProvider>(_source);
        services.AddGrpcClient<ProbeClient>(options => options.Address = _server.HttpAddress)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler())
            .AddJwtCallCredentials();
        await using var provider = services.BuildServiceProvider();

        var failure = await Assert.ThrowsAsync<RpcException>(
            () => provider.GetRequiredService<ProbeClient>().UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Contains("the channel is not secure", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(Assert.Single(_server.Calls).Authorization);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task AddClientCredentialsTokenProvider_Resolved_IsCachingProviderUsingTheNamedClient()
    {
        await using var tokenServer = await TokenEndpointServer.StartAsync();
        var usedNamedClient = 0;
        var services = new ServiceCollection();
        services.AddClientCredentialsTokenProvider(options =>
        {
            options.TokenEndpoint = tokenServer.TokenEndpoint;
            options.ClientId = "orders-client";
            options.ClientSecret = "secret";
            options.RequireHttps = false;
            options.Scopes.Add("inventory.read");
        });
        services.AddHttpClient(JwtCallCredentialsServiceCollectionExtensions.TokenEndpointHttpClientName)
            .AddHttpMessageHandler(() => new CountingHandler(() => Interlocked.Increment(ref usedNamedClient)));
        await using var provider = services.BuildServiceProvider();

        var tokens = provider.GetRequiredService<IAccessTokenProvider>();
        Assert.IsType<CachingAccessTokenProvider>(tokens);
        var first = await tokens.GetTokenAsync().DefaultTimeout();
        var second = await tokens.GetTokenAsync().DefaultTimeout();

        Assert.Equal("opaque-token", first.Value);
        Assert.Same(first, second);
        Assert.Equal("inventory.read", Assert.Single(tokenServer.Requests).Form["scope"]);
        Assert.Equal(1, usedNamedClient);
    }

    [Fact]
    public async Task AddClientCredentialsTokenProvider_CacheOptionsAndTimeProviderFromDi_AreUsed()
    {
        await using var tokenServer = await TokenEndpointServer.StartAsync();
        tokenServer.AnswerToken(200, """{"access_token":"opaque-token","token_type":"Bearer","expires_in":600}""");
        var time = new FakeTimeProvider(Now);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddClientCredentialsTokenProvider(
            options =>
            {
                options.TokenEndpoint = tokenServer.TokenEndpoint;
                options.ClientId = "orders-client";
                options.ClientSecret = "secret";
                options.RequireHttps = false;
            },
            cache =>
            {
                cache.MinimumRetryDelay = TimeSpan.FromMinutes(3);
                cache.MaximumRetryDelay = TimeSpan.FromMinutes(3);
            });
        await using var provider = services.BuildServiceProvider();
        var tokens = provider.GetRequiredService<IAccessTokenProvider>();

        var token = await tokens.GetTokenAsync().DefaultTimeout();
        Assert.Equal(Now + TimeSpan.FromMinutes(10), token.ExpiresAt);

        // Let it expire with the endpoint failing: the retry delay configured for the cache applies.
        tokenServer.AnswerToken(500, "down", "text/plain");
        time.Advance(TimeSpan.FromMinutes(10));
        await Assert.ThrowsAsync<AccessTokenException>(() => tokens.GetTokenAsync().AsTask());
        time.Advance(TimeSpan.FromMinutes(3) - TimeSpan.FromSeconds(1));
        var fast = await Assert.ThrowsAsync<AccessTokenException>(() => tokens.GetTokenAsync().AsTask());
        Assert.Contains("next is allowed after", fast.Message, StringComparison.Ordinal);
        Assert.Equal(2, tokenServer.Requests.Count);
    }

    [Fact]
    public async Task AddClientCredentialsTokenProvider_InvalidOptions_FailWhenResolved()
    {
        var services = new ServiceCollection();
        services.AddClientCredentialsTokenProvider(options => options.ClientId = "orders-client");
        await using var provider = services.BuildServiceProvider();

        Assert.Throws<ArgumentException>(() => provider.GetRequiredService<IAccessTokenProvider>());
    }

    [Fact]
    public async Task AddSelfSignedTokenProvider_Resolved_IsCachingProviderOnTheDiClock()
    {
        var key = TestSigningKey.Ec();
        var time = new FakeTimeProvider(Now);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddSelfSignedTokenProvider(options =>
        {
            options.SigningKey = key.PrivateKey;
            options.Issuer = "https://orders.internal";
            options.Audience = "api://inventory";
            options.Subject = "orders-service";
        });
        await using var provider = services.BuildServiceProvider();

        var tokens = provider.GetRequiredService<IAccessTokenProvider>();
        Assert.IsType<CachingAccessTokenProvider>(tokens);
        var token = await tokens.GetTokenAsync().DefaultTimeout();

        var jwt = new JsonWebToken(token.Value);
        Assert.Equal(Now.UtcDateTime, jwt.IssuedAt);
        Assert.Equal(Now + TimeSpan.FromMinutes(5), token.ExpiresAt);
        Assert.Same(token, await tokens.GetTokenAsync().DefaultTimeout());
    }

    [Fact]
    public async Task AddAccessTokenProvider_Resolved_IsCachingProviderOverTheDelegate()
    {
        var calls = 0;
        IServiceProvider? seen = null;
        var services = new ServiceCollection();
        services.AddAccessTokenProvider((serviceProvider, _) =>
        {
            seen = serviceProvider;
            calls++;
            return ValueTask.FromResult(new AccessToken($"token-{calls}", DateTimeOffset.UtcNow + TimeSpan.FromMinutes(10)));
        });
        await using var provider = services.BuildServiceProvider();

        var tokens = provider.GetRequiredService<IAccessTokenProvider>();
        Assert.IsType<CachingAccessTokenProvider>(tokens);
        await tokens.GetTokenAsync().DefaultTimeout();
        var again = await tokens.GetTokenAsync().DefaultTimeout();

        Assert.Equal("token-1", again.Value);
        Assert.Equal(1, calls);
        Assert.NotNull(seen);
    }

    [Fact]
    public void AddTokenProvider_SecondUnnamedRegistration_ThrowsNamingTheFix()
    {
        var services = new ServiceCollection();
        services.AddAccessTokenProvider((_, _) => ValueTask.FromResult(new AccessToken("first", DateTimeOffset.MaxValue)));

        var failure = Assert.Throws<InvalidOperationException>(
            () => services.AddClientCredentialsTokenProvider(options => options.ClientId = "orders-client"));

        Assert.Contains("already registered", failure.Message, StringComparison.Ordinal);
        Assert.Contains("AddJwtCallCredentials(\"orders\")", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registrations_NullArguments_ThrowArgumentNullException()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddClientCredentialsTokenProvider(_ => { }));
        Assert.Throws<ArgumentNullException>(() => services.AddClientCredentialsTokenProvider((Action<ClientCredentialsOptions>)null!));
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddSelfSignedTokenProvider(_ => { }));
        Assert.Throws<ArgumentNullException>(() => services.AddSelfSignedTokenProvider((Action<SelfSignedTokenOptions>)null!));
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddAccessTokenProvider((_, _) => default));
        Assert.Throws<ArgumentNullException>(() => services.AddAccessTokenProvider((Func<IServiceProvider, CancellationToken, ValueTask<AccessToken>>)null!));
        Assert.Throws<ArgumentNullException>(() => ((IHttpClientBuilder)null!).AddJwtCallCredentials());
        Assert.Throws<ArgumentNullException>(() => services.AddGrpcClient<ProbeClient>().AddJwtCallCredentials((Func<IServiceProvider, IAccessTokenProvider>)null!));
    }

    private sealed class CountingHandler(Action onSend) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onSend();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
