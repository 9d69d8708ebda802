using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests;

public sealed class AccessTokenTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void FromJwt_JwtWithExp_ReadsExpiryFromExp()
    {
        var jwt = new TestTokenFactory(new FakeTimeProvider(Now)).Create(TestSigningKey.Hmac(), lifetime: TimeSpan.FromMinutes(7));

        var token = AccessToken.FromJwt(jwt, fallbackExpiresAt: Now + TimeSpan.FromHours(1));

        Assert.Equal(jwt, token.Value);
        Assert.Equal(Now + TimeSpan.FromMinutes(7), token.ExpiresAt);
    }

    [Fact]
    public void FromJwt_JwtWithoutExp_UsesFallback()
    {
        var jwt = TestTokenFactory.Raw("""{"alg":"HS256"}""", """{"sub":"user-1"}""", "c2ln");

        Assert.Equal(Now, AccessToken.FromJwt(jwt, Now).ExpiresAt);
    }

    [Theory]
    [InlineData("opaque-token-value")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.not-base64-json.sig")]
    public void FromJwt_OpaqueToken_UsesFallback(string value)
    {
        var token = AccessToken.FromJwt(value, Now);

        Assert.Equal(value, token.Value);
        Assert.Equal(Now, token.ExpiresAt);
    }

    [Fact]
    public void FromJwt_OpaqueTokenWithoutFallback_ExpiryIsUnknown()
    {
        Assert.Equal(DateTimeOffset.MaxValue, AccessToken.FromJwt("opaque-token-value").ExpiresAt);
    }

    [Fact]
    public void FromJwt_ExpNotANumber_UsesFallback()
    {
        var jwt = TestTokenFactory.Raw("""{"alg":"HS256"}""", """{"exp":"tomorrow"}""", "c2ln");

        Assert.Equal(Now, AccessToken.FromJwt(jwt, Now).ExpiresAt);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void FromJwt_NoValue_ThrowsArgumentException(string? value)
    {
        Assert.ThrowsAny<ArgumentException>(() => AccessToken.FromJwt(value!));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Constructor_NoValue_ThrowsArgumentException(string? value)
    {
        Assert.ThrowsAny<ArgumentException>(() => new AccessToken(value!, Now));
    }

    [Fact]
    public void ToString_AnyToken_ShowsExpiryButNeverTheValue()
    {
        var token = new AccessToken("secret-token-value", Now);

        var text = token.ToString();

        Assert.DoesNotContain("secret", text, StringComparison.Ordinal);
        Assert.Contains("2030-01-01T12:00:00.0000000+00:00", text, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", $"{token}", StringComparison.Ordinal);
    }
}
