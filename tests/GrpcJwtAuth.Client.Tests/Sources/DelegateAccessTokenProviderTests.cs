using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;

namespace GrpcJwtAuth.Client.Tests.Sources;

public sealed class DelegateAccessTokenProviderTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task GetTokenAsync_EachCall_CallsTheDelegate()
    {
        var calls = 0;
        var provider = new DelegateAccessTokenProvider(_ => ValueTask.FromResult(new AccessToken($"token-{++calls}", Now)));

        Assert.Equal("token-1", (await provider.GetTokenAsync().DefaultTimeout()).Value);
        Assert.Equal("token-2", (await provider.GetTokenAsync().DefaultTimeout()).Value);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task GetTokenAsync_WithCancellationToken_PassesItToTheDelegate()
    {
        CancellationToken seen = default;
        var provider = new DelegateAccessTokenProvider(cancellationToken =>
        {
            seen = cancellationToken;
            return ValueTask.FromResult(new AccessToken("token", Now));
        });
        using var cancellation = new CancellationTokenSource();

        await provider.GetTokenAsync(cancellation.Token).DefaultTimeout();

        Assert.Equal(cancellation.Token, seen);
    }

    [Fact]
    public async Task GetFreshTokenAsync_DefaultImplementation_CallsTheDelegateAgain()
    {
        var calls = 0;
        IAccessTokenProvider provider = new DelegateAccessTokenProvider(_ => ValueTask.FromResult(new AccessToken($"token-{++calls}", Now)));
        var first = await provider.GetTokenAsync().DefaultTimeout();

        var fresh = await provider.GetFreshTokenAsync(first).DefaultTimeout();

        Assert.Equal("token-2", fresh.Value);
    }

    [Fact]
    public async Task GetTokenAsync_DelegateThrows_PropagatesTheException()
    {
        var provider = new DelegateAccessTokenProvider(_ => throw new AccessTokenException("no token"));

        await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());
    }

    [Fact]
    public void Constructor_NullDelegate_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => new DelegateAccessTokenProvider(null!));
    }
}
