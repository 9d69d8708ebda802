using GrpcJwtAuth.Client.Caching;

namespace GrpcJwtAuth.Client.Tests.Caching;

public sealed class TokenCacheOptionsTests
{
    [Fact]
    public void Validate_Defaults_Passes()
    {
        var options = new TokenCacheOptions();

        options.Validate();

        Assert.Equal(TimeSpan.FromMinutes(1), options.RefreshBeforeExpiry);
        Assert.Equal(TimeSpan.FromSeconds(15), options.RefreshJitter);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MinimumRemainingLifetime);
        Assert.Equal(TimeSpan.FromSeconds(1), options.MinimumRetryDelay);
        Assert.Equal(TimeSpan.FromMinutes(1), options.MaximumRetryDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MinimumForcedRefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.FetchTimeout);
    }

    [Fact]
    public void Validate_ZeroDurationsWhereAllowed_Passes()
    {
        var options = new TokenCacheOptions
        {
            RefreshBeforeExpiry = TimeSpan.Zero,
            RefreshJitter = TimeSpan.Zero,
            MinimumRemainingLifetime = TimeSpan.Zero,
            MinimumForcedRefreshInterval = TimeSpan.Zero,
            MinimumRetryDelay = TimeSpan.FromSeconds(2),
            MaximumRetryDelay = TimeSpan.FromSeconds(2),
        };

        options.Validate();
    }

    [Theory]
    [InlineData(nameof(TokenCacheOptions.RefreshBeforeExpiry), "must not be negative")]
    [InlineData(nameof(TokenCacheOptions.RefreshJitter), "must not be negative")]
    [InlineData(nameof(TokenCacheOptions.MinimumRemainingLifetime), "must not be negative")]
    [InlineData(nameof(TokenCacheOptions.MinimumForcedRefreshInterval), "must not be negative")]
    [InlineData(nameof(TokenCacheOptions.MinimumRetryDelay), "MinimumRetryDelay must be positive")]
    [InlineData(nameof(TokenCacheOptions.MaximumRetryDelay), "not above MaximumRetryDelay")]
    [InlineData(nameof(TokenCacheOptions.FetchTimeout), "FetchTimeout must be positive")]
    public void Validate_InvalidValue_ThrowsArgumentExceptionSayingWhy(string property, string expected)
    {
        var options = new TokenCacheOptions();
        switch (property)
        {
            case nameof(TokenCacheOptions.RefreshBeforeExpiry):
                options.RefreshBeforeExpiry = TimeSpan.FromSeconds(-1);
                break;
            case nameof(TokenCacheOptions.RefreshJitter):
                options.RefreshJitter = TimeSpan.FromSeconds(-1);
                break;
            case nameof(TokenCacheOptions.MinimumRemainingLifetime):
                options.MinimumRemainingLifetime = TimeSpan.FromSeconds(-1);
                break;
            case nameof(TokenCacheOptions.MinimumForcedRefreshInterval):
                options.MinimumForcedRefreshInterval = TimeSpan.FromSeconds(-1);
                break;
            case nameof(TokenCacheOptions.MinimumRetryDelay):
                options.MinimumRetryDelay = TimeSpan.Zero;
                break;
            case nameof(TokenCacheOptions.MaximumRetryDelay):
                options.MaximumRetryDelay = options.MinimumRetryDelay - TimeSpan.FromMilliseconds(1);
                break;
            default:
                options.FetchTimeout = TimeSpan.Zero;
                break;
        }

        var failure = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }
}
