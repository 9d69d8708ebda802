using Grpc.Core;
using Grpc.Net.ClientFactory;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.IntegrationTests.Services;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>
/// A gRPC server that runs AddGrpcJwtAuth() calls another gRPC server on behalf of its caller, all over TLS: the
/// caller's token forwarded as it is, or exchanged (RFC 8693) at a real token endpoint for one the downstream server's
/// audience accepts.
/// </summary>
public class DownstreamCallTests : IntegrationTest
{
    private const string InventoryAudience = "api://inventory";
    private const string TokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    [Fact]
    public async Task Forwarded_token_reaches_the_downstream_service_as_the_caller_sent_it()
    {
        var downstream = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var tokenServer = await StartTokenServerAsync(Exchange);
        var upstream = await StartUpstreamAsync(downstream, tokenServer);
        var token = Tokens.Create(TestKeys.Primary, subject: "user-7");

        var reply = await Relay(upstream, "forward", token);

        Assert.Equal("user-7", reply.Subject);
        Assert.Equal(0, tokenServer.TokenRequests);
        Assert.Equal(1, downstream.Entries["Unary"]);
    }

    [Fact]
    public async Task Forwarding_sends_the_token_an_event_supplied_and_not_the_authorization_header()
    {
        var downstream = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var tokenServer = await StartTokenServerAsync(Exchange);
        var upstream = await StartUpstreamAsync(downstream, tokenServer, events: new GrpcJwtAuthEvents
        {
            OnMessageReceived = context =>
            {
                context.Token = context.HttpContext.Request.Headers["x-token"].ToString();
                return Task.CompletedTask;
            },
        });
        var supplied = Tokens.Create(TestKeys.Primary, subject: "user-7");
        var inHeader = Tokens.Create(TestKeys.Primary, subject: "user-9");
        var relay = new Relay.RelayClient(upstream.Channel);

        var reply = await relay.CallAsync(
            new RelayRequest { Client = "forward" },
            new CallOptions(new Metadata { { "x-token", supplied }, { "authorization", "Bearer " + inHeader } })).ResponseAsync.DefaultTimeout();

        Assert.Equal("user-7", reply.Subject);
    }

    [Fact]
    public async Task Forwarded_token_is_refused_by_a_downstream_service_of_another_audience()
    {
        var downstream = await StartServerAsync(InventoryOptions);
        var tokenServer = await StartTokenServerAsync(Exchange);
        var upstream = await StartUpstreamAsync(downstream, tokenServer);

        var failure = await Assert.ThrowsAsync<RpcException>(() => Relay(upstream, "forward", Tokens.Create(TestKeys.Primary)));

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal(0, downstream.Entries["Unary"]);
    }

    [Fact]
    public async Task Exchanged_token_is_for_the_downstream_audience_and_kept_per_caller_token()
    {
        var downstream = await StartServerAsync(InventoryOptions);
        var tokenServer = await StartTokenServerAsync(Exchange);
        var upstream = await StartUpstreamAsync(downstream, tokenServer);
        var first = Tokens.Create(TestKeys.Primary, subject: "user-7");
        var second = Tokens.Create(TestKeys.Primary, subject: "user-8");

        var reply = await Relay(upstream, "exchange", first, times: 3);
        var again = await Relay(upstream, "exchange", first);
        var other = await Relay(upstream, "exchange", second);

        Assert.Equal("user-7", reply.Subject);
        Assert.Equal("user-7", again.Subject);
        Assert.Equal("user-8", other.Subject);
        Assert.Equal(5, downstream.Entries["Unary"]);

        // One exchange per caller token, each naming the caller's token, its type and the downstream audience.
        Assert.Equal(2, tokenServer.TokenRequests);
        Assert.Collection(
            tokenServer.TokenForms,
            form => AssertExchange(form, first),
            form => AssertExchange(form, second));
    }

    [Fact]
    public async Task Exchanged_token_is_exchanged_again_shortly_before_it_expires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var downstream = await StartServerAsync(InventoryOptions, timeProvider: time);
        var tokenServer = await StartTokenServerAsync(request => Exchange(request, TimeSpan.FromMinutes(2), time));
        var upstream = await StartUpstreamAsync(downstream, tokenServer, time);
        var token = Tokens.Create(TestKeys.Primary, subject: "user-7", lifetime: TimeSpan.FromMinutes(30));

        await Relay(upstream, "exchange", token);
        time.Advance(TimeSpan.FromMinutes(1));
        await Relay(upstream, "exchange", token);
        Assert.Equal(1, tokenServer.TokenRequests);

        // Within 30 s of the exchanged token's expiry: not handed out any more.
        time.Advance(TimeSpan.FromSeconds(31));
        await Relay(upstream, "exchange", token);
        Assert.Equal(2, tokenServer.TokenRequests);
    }

    [Fact]
    public async Task Exchanged_token_is_not_used_after_the_callers_token_expires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var downstream = await StartServerAsync(InventoryOptions, timeProvider: time);
        var tokenServer = await StartTokenServerAsync(request => Exchange(request, TimeSpan.FromHours(1), time));
        var upstream = await StartUpstreamAsync(downstream, tokenServer, time);
        var shortLived = Tokens.Create(TestKeys.Primary, subject: "user-7", lifetime: TimeSpan.FromMinutes(2));

        await Relay(upstream, "exchange", shortLived);
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(31));

        // The caller's token is still valid to the upstream server, but the kept token would outlive it: exchange again.
        await Relay(upstream, "exchange", shortLived);
        Assert.Equal(2, tokenServer.TokenRequests);
    }

    [Fact]
    public async Task Refused_exchange_fails_the_downstream_call_with_Unauthenticated_and_no_secret()
    {
        var downstream = await StartServerAsync(InventoryOptions);
        var tokenServer = await StartTokenServerAsync(Exchange);
        var upstream = await StartUpstreamAsync(downstream, tokenServer, clientSecret: "wrong-" + Guid.NewGuid().ToString("N"));

        var failure = await Assert.ThrowsAsync<RpcException>(() => Relay(upstream, "exchange", Tokens.Create(TestKeys.Primary)));

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.StartsWith("downstream: No access token: The token endpoint refused the request (HTTP 401): invalid_client", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, downstream.Entries["Unary"]);

        // Not kept: the next call tries again.
        await Assert.ThrowsAsync<RpcException>(() => Relay(upstream, "exchange", Tokens.Create(TestKeys.Primary)));
        Assert.Equal(2, tokenServer.TokenRequests);
    }

    [Fact]
    public async Task Unreachable_token_endpoint_fails_the_downstream_call_with_Unavailable()
    {
        var downstream = await StartServerAsync(InventoryOptions);
        var tokenServer = await StartTokenServerAsync(Exchange);
        var upstream = await StartUpstreamAsync(downstream, tokenServer, tokenEndpoint: $"https://127.0.0.1:{TokenServer.ClosedPort()}/connect/token");

        var failure = await Assert.ThrowsAsync<RpcException>(() => Relay(upstream, "exchange", Tokens.Create(TestKeys.Primary)));

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Contains("could not be reached", failure.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("forward")]
    [InlineData("exchange")]
    public async Task Call_made_outside_an_authenticated_request_is_not_sent(string client)
    {
        var downstream = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var tokenServer = await StartTokenServerAsync(Exchange);
        var upstream = await StartUpstreamAsync(downstream, tokenServer);
        var probe = upstream.Services.GetRequiredService<GrpcClientFactory>().CreateClient<Probe.ProbeClient>(client);

        var failure = await Assert.ThrowsAsync<RpcException>(async () => await probe.UnaryAsync(new ProbeRequest()));

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Contains("no caller's token", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, downstream.Requests.Total);
        Assert.Equal(0, tokenServer.TokenRequests);
    }

    private static void InventoryOptions(GrpcJwtAuthOptions options)
    {
        TestKeys.StaticOptions(TestKeys.Primary)(options);
        options.Audiences.Clear();
        options.Audiences.Add(InventoryAudience);
    }

    private static void AssertExchange(IReadOnlyDictionary<string, string> form, string subjectToken)
    {
        Assert.Equal(TokenExchangeGrant, form["grant_type"]);
        Assert.Equal(subjectToken, form["subject_token"]);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", form["subject_token_type"]);
        Assert.Equal(InventoryAudience, form["audience"]);
    }

    /// <summary>The token server's answer to an exchange: the subject token's subject, for the audience asked for.</summary>
    private static string Exchange(TokenRequest request) => Exchange(request, TimeSpan.FromMinutes(5), TimeProvider.System);

    /// <summary>Minted on <paramref name="clock"/>: the clock of the servers that use and check the token.</summary>
    private static string Exchange(TokenRequest request, TimeSpan lifetime, TimeProvider clock)
    {
        Assert.Equal(TokenExchangeGrant, request.GrantType);
        var subject = new JsonWebToken(request.SubjectToken!).Subject;
        return new TestTokenFactory(clock).Create(TestKeys.Primary, subject: subject, audience: request.Audience, lifetime: lifetime);
    }

    private static async Task<ProbeReply> Relay(GrpcTestServer upstream, string client, string token, int times = 1)
    {
        var relay = new Relay.RelayClient(upstream.Channel);
        return await relay.CallAsync(new RelayRequest { Client = client, Times = times }, Auth.Bearer(token)).ResponseAsync.DefaultTimeout();
    }

    /// <summary>
    /// The upstream server: accepts the default audience, serves Relay, and has two gRPC clients for the downstream
    /// server, "forward" and "exchange" (through the token exchange client "inventory" of the token server).
    /// </summary>
    private Task<GrpcTestServer> StartUpstreamAsync(
        GrpcTestServer downstream,
        TokenServer tokenServer,
        TimeProvider? timeProvider = null,
        string? clientSecret = null,
        string? tokenEndpoint = null,
        GrpcJwtAuthEvents? events = null) =>
        StartServerAsync(
            options =>
            {
                TestKeys.StaticOptions(TestKeys.Primary)(options);
                options.Events = events;
            },
            timeProvider: timeProvider,
            configureBuilder: builder =>
            {
                builder.Services.AddGrpcClient<Probe.ProbeClient>("forward", options => options.Address = downstream.Address)
                    .ConfigurePrimaryHttpMessageHandler(downstream.Certificate.CreatePinnedHandler)
                    .AddCallerTokenForwarding();
                builder.Services.AddTokenExchangeClient("inventory", options =>
                {
                    options.TokenEndpoint = tokenEndpoint ?? tokenServer.TokenEndpoint;
                    options.ClientId = TokenServer.ClientId;
                    options.ClientSecret = clientSecret ?? TokenServer.ClientSecret;
                    options.Audience = InventoryAudience;
                });
                builder.Services.AddHttpClient("GrpcJwtAuth.Client.TokenEndpoint.inventory")
                    .ConfigurePrimaryHttpMessageHandler(tokenServer.Certificate.CreatePinnedHandler);
                builder.Services.AddGrpcClient<Probe.ProbeClient>("exchange", options => options.Address = downstream.Address)
                    .ConfigurePrimaryHttpMessageHandler(downstream.Certificate.CreatePinnedHandler)
                    .AddCallerTokenExchange("inventory");
            },
            configureApp: app => app.MapGrpcService<RelayService>());
}
