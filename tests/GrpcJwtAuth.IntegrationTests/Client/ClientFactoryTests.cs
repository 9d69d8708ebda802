using Grpc.Core;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>Clients from the gRPC client factory with <c>AddJwtCallCredentials()</c> and a token provider in DI.</summary>
public class ClientFactoryTests : IntegrationTest
{
    public enum Registration
    {
        /// <summary><c>AddSelfSignedTokenProvider</c>: the service signs its own tokens.</summary>
        SelfSigned,

        /// <summary><c>AddAccessTokenProvider</c>: tokens from a delegate.</summary>
        Delegate,
    }

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    [Theory]
    [InlineData(Registration.SelfSigned)]
    [InlineData(Registration.Delegate)]
    public async Task Client_resolved_from_the_factory_sends_the_token_of_the_registered_provider(Registration registration)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server);
        if (registration == Registration.SelfSigned)
        {
            services.AddSelfSignedTokenProvider(options =>
            {
                options.SigningKey = TestKeys.Primary.PrivateKey;
                options.Issuer = TestTokenFactory.DefaultIssuer;
                options.Audience = TestTokenFactory.DefaultAudience;
                options.Subject = "svc-factory";
                options.Claims["scope"] = "probe.read";
            });
        }
        else
        {
            services.AddAccessTokenProvider((_, _) => ValueTask.FromResult(AccessToken.FromJwt(
                Tokens.Create(TestKeys.Primary, subject: "svc-factory", claims: new Dictionary<string, object> { ["scope"] = "probe.read" }))));
        }

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<Probe.ProbeClient>();

        var unary = await client.CallUnaryAsync(new CallOptions());
        var stream = await client.CallAsync(CallKind.ServerStream, new CallOptions());

        Assert.Equal("svc-factory", unary.Subject);
        Assert.Equal(["probe.read"], unary.Scopes);
        Assert.All(stream, reply => Assert.Equal("svc-factory", reply.Subject));
        Assert.Equal(1, server.Entries["Unary"]);
        Assert.Equal(1, server.Entries["ServerStream"]);
    }

    [Fact]
    public async Task Client_from_the_factory_refreshes_a_rejected_token_once_and_retries_the_call_once()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var asked = 0;
        var services = ClientServices(server);
        services.AddAccessTokenProvider(
            (_, _) => ValueTask.FromResult(AccessToken.FromJwt(Interlocked.Increment(ref asked) == 1
                ? Tokens.Create(TestKeys.Impostor, subject: "rejected")
                : Tokens.Create(TestKeys.Primary, subject: "accepted"))),
            cache => cache.MinimumForcedRefreshInterval = TimeSpan.Zero);

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<Probe.ProbeClient>();

        var reply = await client.CallUnaryAsync(new CallOptions());

        Assert.Equal("accepted", reply.Subject);
        Assert.Equal(2, Volatile.Read(ref asked));
        Assert.Equal(2, server.Requests["/test.Probe/Unary"]);
        Assert.Equal(1, server.Entries["Unary"]);
        Assert.Single(server.Logs.WithEvent("RetryingAfterUnauthenticated"));
    }

    [Fact]
    public async Task Client_from_the_factory_with_a_caching_provider_asks_the_source_once_for_many_calls()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var asked = 0;
        var services = ClientServices(server);
        services.AddAccessTokenProvider((_, _) =>
        {
            Interlocked.Increment(ref asked);
            return ValueTask.FromResult(AccessToken.FromJwt(Tokens.Create(TestKeys.Primary, subject: "cached")));
        });

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<Probe.ProbeClient>();
        foreach (var kind in Enum.GetValues<CallKind>())
        {
            Assert.All(await client.CallAsync(kind, new CallOptions()), reply => Assert.Equal("cached", reply.Subject));
        }

        Assert.Equal(1, Volatile.Read(ref asked));
        Assert.Equal(4, server.Entries.Total);
    }

    [Fact]
    public async Task Client_from_the_factory_logs_its_HTTP_requests_at_Trace_without_the_token()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary, subject: "logged");
        var services = ClientServices(server);
        services.AddAccessTokenProvider((_, _) => ValueTask.FromResult(new AccessToken(token, DateTimeOffset.UtcNow + TimeSpan.FromMinutes(5))));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<Probe.ProbeClient>().CallUnaryAsync(new CallOptions());

        // The client's HTTP requests are still logged, with their method, address and status, but no header values:
        // Microsoft.Extensions.Http's own loggers pass them unredacted to structured sinks.
        var http = server.Logs.Records.Where(record => record.Category?.StartsWith("System.Net.Http.HttpClient.", StringComparison.Ordinal) == true).ToList();
        Assert.Contains(http, record => record.Message.Contains("/test.Probe/Unary", StringComparison.Ordinal));
        Assert.DoesNotContain(http, record => LogCapture.Describe(record).Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Records, record => LogCapture.Describe(record).Contains(token, StringComparison.Ordinal));
    }

    /// <summary>Logging into the server's capture and a Probe client pinned to the server's certificate, with tokens.</summary>
    private static ServiceCollection ClientServices(GrpcTestServer server)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(server.Logs.CreateProvider()));
        services.AddGrpcClient<Probe.ProbeClient>(options => options.Address = server.Address)
            .ConfigurePrimaryHttpMessageHandler(server.Certificate.CreatePinnedHandler)
            .AddJwtCallCredentials();
        return services;
    }
}
