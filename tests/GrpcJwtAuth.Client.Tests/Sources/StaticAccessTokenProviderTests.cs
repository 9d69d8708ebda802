using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests.Sources;

public sealed class StaticAccessTokenProviderTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void GetTokenAsync_GivenToken_ReturnsItEveryTime()
    {
        var token = new AccessToken("fixed", Now);
        var provider = new StaticAccessTokenProvider(token);

        Assert.Same(token, Completed.Result(provider.GetTokenAsync()));
        Assert.Same(token, Completed.Result(provider.GetTokenAsync()));
    }

    [Fact]
    public void GetTokenAsync_GivenJwtString_ReadsExpiryFromExp()
    {
        var jwt = new TestTokenFactory(new FakeTimeProvider(Now)).Create(TestSigningKey.Hmac(), lifetime: TimeSpan.FromMinutes(3));
        var provider = new StaticAccessTokenProvider(jwt);

        var token = Completed.Result(provider.GetTokenAsync());

        Assert.Equal(jwt, token.Value);
        Assert.Equal(Now + TimeSpan.FromMinutes(3), token.ExpiresAt);
    }

    [Fact]
    public void GetTokenAsync_GivenOpaqueString_ExpiryIsUnknown()
    {
        var token = Completed.Result(new StaticAccessTokenProvider("opaque").GetTokenAsync());

        Assert.Equal(DateTimeOffset.MaxValue, token.ExpiresAt);
    }

    [Fact]
    public void GetFreshTokenAsync_DefaultImplementation_ReturnsTheSameToken()
    {
        var token = new AccessToken("fixed", Now);
        IAccessTokenProvider provider = new StaticAccessTokenProvider(token);

        Assert.Same(token, Completed.Result(provider.GetFreshTokenAsync(token)));
    }

    [Fact]
    public void Constructor_NoToken_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new StaticAccessTokenProvider((AccessToken)null!));
        Assert.ThrowsAny<ArgumentException>(() => new StaticAccessTokenProvider((string)null!));
        Assert.ThrowsAny<ArgumentException>(() => new StaticAccessTokenProvider(" "));
    }
}
