using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>A token the server rejects: one refresh and one retry for unary calls, never a loop, no retry for streams.</summary>
public class RetryTests : IntegrationTest
{
    public enum BadToken
    {
        /// <summary>Signed by a key the server does not trust (same kid as the trusted one): "signature invalid".</summary>
        ForeignKey,

        /// <summary>Minted for another service: "audience not accepted".</summary>
        WrongAudience,
    }

    public enum UnaryStyle
    {
        Async,
        Blocking,
    }

    private const string Retrying = "RetryingAfterUnauthenticated";
    private const string UnaryPath = "/test.Probe/Unary";

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    public static TheoryData<BadToken, UnaryStyle> BadTokensAndStyles()
    {
        var data = new TheoryData<BadToken, UnaryStyle>();
        foreach (var bad in Enum.GetValues<BadToken>())
        {
            foreach (var style in Enum.GetValues<UnaryStyle>())
            {
                data.Add(bad, style);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadTokensAndStyles))]
    public async Task Rejected_token_is_refreshed_once_and_the_unary_call_retried_once_with_success(BadToken bad, UnaryStyle style)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var source = CountingTokenSource.FromJwts(call => call == 1 ? Bad(bad, "rejected") : Good("accepted"));
        var client = CreateClient(server, source);

        var reply = await CallUnaryAsync(client, style);

        Assert.Equal("accepted", reply.Subject);
        Assert.Equal(2, source.Calls);
        Assert.Equal(2, server.Requests[UnaryPath]);
        Assert.Equal(1, server.Entries["Unary"]);
        Assert.Single(server.Logs.WithEvent(Retrying));
    }

    [Theory]
    [MemberData(nameof(BadTokensAndStyles))]
    public async Task When_every_token_is_rejected_the_unary_call_is_retried_exactly_once_and_fails_with_Unauthenticated(
        BadToken bad, UnaryStyle style)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var source = CountingTokenSource.FromJwts(call => Bad(bad, $"rejected-{call}"));
        var client = CreateClient(server, source);

        var detail = bad == BadToken.ForeignKey ? Details.InvalidSignature : Details.AudienceNotAccepted;
        var rejection = await Rejection.AssertAsync(() => CallUnaryAsync(client, style), StatusCode.Unauthenticated, detail);

        Assert.Equal(2, source.Calls);
        Assert.All(source.Issued, token => Rejection.AssertNotQuoted(rejection, token));
        Assert.Equal(2, server.Requests[UnaryPath]);
        Assert.Equal(0, server.Entries.Total);
        Assert.Single(server.Logs.WithEvent(Retrying));
    }

    [Theory]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task Streaming_call_rejected_for_its_token_is_not_retried(CallKind kind)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var source = CountingTokenSource.FromJwts(call => call == 1 ? Bad(BadToken.ForeignKey, "rejected") : Good("accepted"));
        var client = CreateClient(server, source);

        await Rejection.AssertAsync(() => client.CallAsync(kind, new CallOptions()), StatusCode.Unauthenticated, Details.InvalidSignature);

        Assert.Equal(1, source.Calls);
        Assert.Equal(1, server.Requests["/test.Probe/" + kind.Method()]);
        Assert.Equal(0, server.Entries.Total);
        Assert.Empty(server.Logs.WithEvent(Retrying));
    }

    [Fact]
    public async Task Call_denied_with_PermissionDenied_is_not_retried()
    {
        var server = await StartServerAsync(options =>
        {
            TestKeys.StaticOptions(TestKeys.Primary)(options);
            options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Admin", Roles = { "admin" } });
        });
        var source = CountingTokenSource.FromJwts(_ => Good("no-roles"));
        var client = CreateClient(server, source);

        await Rejection.AssertAsync(() => client.CallAdminAsync(new CallOptions()), StatusCode.PermissionDenied, Details.MissingRole);

        Assert.Equal(1, source.Calls);
        Assert.Equal(1, server.Requests["/test.Probe/Admin"]);
        Assert.Empty(server.Logs.WithEvent(Retrying));
    }

    [Fact]
    public async Task Retry_happens_through_the_token_cache_which_fetches_a_new_token_for_the_rejected_one()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var source = CountingTokenSource.FromJwts(call => call == 1 ? Bad(BadToken.ForeignKey, "rejected") : Good("accepted"));

        // No minimum interval between forced refreshes: the first token was fetched an instant before it was rejected.
        var cache = new CachingAccessTokenProvider(source, new TokenCacheOptions { MinimumForcedRefreshInterval = TimeSpan.Zero });
        var client = CreateClient(server, cache);

        Assert.Equal("accepted", (await client.CallUnaryAsync(new CallOptions())).Subject);
        Assert.Equal("accepted", (await client.CallUnaryAsync(new CallOptions())).Subject);

        Assert.Equal(2, source.Calls);
        Assert.Equal(3, server.Requests[UnaryPath]);
        Assert.Single(server.Logs.WithEvent(Retrying));
    }

    private static Probe.ProbeClient CreateClient(GrpcTestServer server, GrpcJwtAuth.Client.IAccessTokenProvider provider) =>
        new(server.Channel.AddJwtCallCredentials(provider, configure: null, server.ClientLoggerFactory));

    private static Task<ProbeReply> CallUnaryAsync(Probe.ProbeClient client, UnaryStyle style) => style switch
    {
        UnaryStyle.Async => client.CallUnaryAsync(new CallOptions()),
        _ => Task.Run(() => client.Unary(new ProbeRequest { Name = "blocking" }, new CallOptions())).DefaultTimeout(),
    };

    private static string Good(string subject) => Tokens.Create(TestKeys.Primary, subject: subject);

    private static string Bad(BadToken bad, string subject) => bad switch
    {
        BadToken.ForeignKey => Tokens.Create(TestKeys.Impostor, subject: subject),
        _ => Tokens.Create(TestKeys.Primary, subject: subject, audience: "api://someone-else"),
    };
}
