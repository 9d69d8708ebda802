using Grpc.Core;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>
/// A cached short-lived token replaced before it expires, on one fake clock shared by the server (its exp checks),
/// the token source (iat/exp) and the client cache (its refresh point).
/// </summary>
public class TokenRefreshTests : IntegrationTest
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(Attachment.ChannelCallInvoker)]
    [InlineData(Attachment.ChannelOptions)]
    public async Task Calls_keep_succeeding_when_the_cached_token_is_refreshed_across_its_expiry(Attachment attachment)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
        var server = await StartServerAsync(options =>
        {
            TestKeys.StaticOptions(TestKeys.Primary)(options);
            options.ClockSkew = ClockSkew;
        }, timeProvider: clock);
        var selfSigned = new SelfSignedTokenProvider(
            new SelfSignedTokenOptions
            {
                SigningKey = TestKeys.Primary.PrivateKey,
                Issuer = TestTokenFactory.DefaultIssuer,
                Audience = TestTokenFactory.DefaultAudience,
                Subject = "svc-billing",
                Lifetime = Lifetime,
            },
            clock);
        var source = new CountingTokenSource(_ => selfSigned.GetTokenAsync());

        // Clock plan, in seconds from the start: the first token (exp 120) is refreshed from 60 on (half its lifetime,
        // later than exp minus RefreshBeforeExpiry minus jitter) and handed out until 115 (MinimumRemainingLifetime);
        // the server refuses it after 150 (ClockSkew). Refreshed at 100, the second token (exp 220) is due for its own
        // refresh at 160, so at 155 exactly two tokens have been asked for.
        var cache = new CachingAccessTokenProvider(source, new TokenCacheOptions(), clock);
        var client = server.CreateClient(attachment, cache);

        Assert.Equal("svc-billing", (await client.CallUnaryAsync(new CallOptions())).Subject);
        Assert.Equal(1, source.Calls);

        // At 100: this call still carries the first token and starts the refresh in the background.
        clock.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal("svc-billing", (await client.CallUnaryAsync(new CallOptions())).Subject);
        await source.WaitForTokensAsync(2).DefaultTimeout();

        // At 155: the server now refuses the first token, so only the refreshed one can get through.
        clock.Advance(TimeSpan.FromSeconds(55));
        var first = source.Issued[0];
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(first)), StatusCode.Unauthenticated, Details.TokenExpired, first);

        var replies = await client.CallAsync(CallKind.Duplex, new CallOptions());
        Assert.All(replies, reply => Assert.Equal("svc-billing", reply.Subject));
        Assert.Equal("svc-billing", (await client.CallUnaryAsync(new CallOptions())).Subject);

        Assert.Equal(2, source.Calls);
        Assert.NotEqual(source.Issued[0], source.Issued[1]);
        Assert.Equal(3, server.Entries["Unary"]);
        Assert.Equal(1, server.Entries["Duplex"]);
        Assert.Empty(server.Logs.WithEvent("RetryingAfterUnauthenticated"));
    }
}
