using Grpc.Core;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>
/// The OAuth 2.0 client credentials grant end to end: a token endpoint over TLS, <c>AddClientCredentialsTokenProvider</c>,
/// and a gRPC client from the factory calling the server over TLS.
/// </summary>
public class ClientCredentialsTests : IntegrationTest
{
    public enum EndpointSource
    {
        /// <summary><c>TokenEndpoint</c> set directly.</summary>
        TokenEndpoint,

        /// <summary><c>Authority</c> set: the endpoint comes from its discovery document.</summary>
        Discovery,
    }

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    [Theory]
    [InlineData(EndpointSource.TokenEndpoint, ClientAuthenticationMethod.BasicHeader)]
    [InlineData(EndpointSource.TokenEndpoint, ClientAuthenticationMethod.RequestBody)]
    [InlineData(EndpointSource.Discovery, ClientAuthenticationMethod.BasicHeader)]
    public async Task Token_from_the_token_endpoint_authenticates_calls_and_is_fetched_once(
        EndpointSource endpointSource, ClientAuthenticationMethod authentication)
    {
        var tokenServer = await StartTokenServerAsync(MintForClient);
        var server = await StartServerAsync(options =>
        {
            TestKeys.StaticOptions(TestKeys.Primary)(options);
            options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Duplex", Scopes = { "probe.write" } });
        });
        var services = ClientServices(server, tokenServer, options =>
        {
            if (endpointSource == EndpointSource.TokenEndpoint)
            {
                options.TokenEndpoint = tokenServer.TokenEndpoint;
            }
            else
            {
                options.Authority = tokenServer.Issuer;
            }

            options.ClientSecret = TokenServer.ClientSecret;
            options.ClientAuthentication = authentication;
        });

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<Probe.ProbeClient>();

        var unary = await client.CallUnaryAsync(new CallOptions());
        var duplex = await client.CallAsync(CallKind.Duplex, new CallOptions());
        await client.CallUnaryAsync(new CallOptions());

        Assert.Equal(TokenServer.ClientId, unary.Subject);
        Assert.Equal(["probe.read", "probe.write"], unary.Scopes);
        Assert.All(duplex, reply => Assert.Equal(TokenServer.ClientId, reply.Subject));
        Assert.Equal(1, tokenServer.TokenRequests);
        Assert.Equal(endpointSource == EndpointSource.Discovery ? 1 : 0, tokenServer.Hits(TokenServer.DiscoveryPath));
        Assert.Equal(2, server.Entries["Unary"]);
        Assert.Equal(1, server.Entries["Duplex"]);
        Assert.DoesNotContain(server.Logs.Records, record => LogCapture.Describe(record).Contains(TokenServer.ClientSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refused_client_secret_fails_the_call_before_it_reaches_the_server_and_names_the_error_but_not_the_secret()
    {
        var tokenServer = await StartTokenServerAsync(MintForClient);
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var wrongSecret = "wrong-" + Guid.NewGuid().ToString("N");
        var services = ClientServices(server, tokenServer, options =>
        {
            options.TokenEndpoint = tokenServer.TokenEndpoint;
            options.ClientSecret = wrongSecret;
        });

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<Probe.ProbeClient>();

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.CallUnaryAsync(new CallOptions()));

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.StartsWith("No access token: The token endpoint refused the request (HTTP 401): invalid_client", failure.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongSecret, failure.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, tokenServer.TokenRequests);
        Assert.Equal(0, server.Requests.Total);
        Assert.DoesNotContain(server.Logs.Records, record => LogCapture.Describe(record).Contains(wrongSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unreachable_token_endpoint_fails_the_call_with_Unavailable_before_it_reaches_the_server()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var tokenServer = await StartTokenServerAsync(MintForClient);
        var unreachable = $"https://127.0.0.1:{TokenServer.ClosedPort()}/connect/token";
        var services = ClientServices(server, tokenServer, options =>
        {
            options.TokenEndpoint = unreachable;
            options.ClientSecret = TokenServer.ClientSecret;
        });

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<Probe.ProbeClient>();

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.CallUnaryAsync(new CallOptions()));

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.StartsWith($"No access token: The token endpoint {unreachable} could not be reached", failure.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(TokenServer.ClientSecret, failure.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, server.Requests.Total);
    }

    private static string MintForClient(TokenRequest request) =>
        Tokens.Create(
            TestKeys.Primary,
            subject: request.ClientId,
            claims: request.Scope is null ? null : new Dictionary<string, object> { ["scope"] = request.Scope });

    /// <summary>
    /// Client services: logging into the server's capture, the token endpoint's named client pinned to the token
    /// server's certificate, and a Probe client pinned to the gRPC server's.
    /// </summary>
    private static ServiceCollection ClientServices(GrpcTestServer server, TokenServer tokenServer, Action<ClientCredentialsOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(server.Logs.CreateProvider()));
        services.AddClientCredentialsTokenProvider(options =>
        {
            options.ClientId = TokenServer.ClientId;
            options.Scopes.Add("probe.read");
            options.Scopes.Add("probe.write");
            configure(options);
        });
        services.AddHttpClient(JwtCallCredentialsServiceCollectionExtensions.TokenEndpointHttpClientName)
            .ConfigurePrimaryHttpMessageHandler(tokenServer.Certificate.CreatePinnedHandler);
        services.AddGrpcClient<Probe.ProbeClient>(options => options.Address = server.Address)
            .ConfigurePrimaryHttpMessageHandler(server.Certificate.CreatePinnedHandler)
            .AddJwtCallCredentials();
        return services;
    }
}
