using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Tokens;

public class LifetimeCheckTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(Now);

    [Fact]
    public void Validate_CurrentToken_ReturnsTrue()
    {
        Assert.True(Check().Validate(At(-60), At(600), null, new TokenValidationParameters()));
    }

    [Fact]
    public void Validate_NoNotBefore_ReturnsTrue()
    {
        Assert.True(Check().Validate(null, At(600), null, new TokenValidationParameters()));
    }

    [Fact]
    public void Validate_NoExpiry_ThrowsNoExpiration()
    {
        Assert.Throws<SecurityTokenNoExpirationException>(() => Check().Validate(At(-60), null, null, new TokenValidationParameters()));
    }

    [Fact]
    public void Validate_NotBeforeAfterExpiry_ThrowsInvalidLifetimeWithBothTimes()
    {
        var error = Assert.Throws<SecurityTokenInvalidLifetimeException>(() => Check().Validate(At(10), At(5), null, new TokenValidationParameters()));

        Assert.Equal(At(10), error.NotBefore);
        Assert.Equal(At(5), error.Expires);
    }

    [Fact]
    public void Validate_NotBeforeEqualToExpiry_IsNotAnInvalidLifetime()
    {
        Assert.True(Check().Validate(At(5), At(5), null, new TokenValidationParameters()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    public void Validate_NotBeforeWithinClockSkew_ReturnsTrue(int secondsAhead)
    {
        Assert.True(Check().Validate(At(secondsAhead), At(600), null, new TokenValidationParameters()));
    }

    [Theory]
    [InlineData(31)]
    [InlineData(300)]
    public void Validate_NotBeforeBeyondClockSkew_ThrowsNotYetValid(int secondsAhead)
    {
        var error = Assert.Throws<SecurityTokenNotYetValidException>(() => Check().Validate(At(secondsAhead), At(600), null, new TokenValidationParameters()));

        Assert.Equal(At(secondsAhead), error.NotBefore);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-30)]
    public void Validate_ExpiredWithinClockSkew_ReturnsTrue(int secondsFromNow)
    {
        Assert.True(Check().Validate(null, At(secondsFromNow), null, new TokenValidationParameters()));
    }

    [Theory]
    [InlineData(-31)]
    [InlineData(-3600)]
    public void Validate_ExpiredBeyondClockSkew_ThrowsExpired(int secondsFromNow)
    {
        var error = Assert.Throws<SecurityTokenExpiredException>(() => Check().Validate(null, At(secondsFromNow), null, new TokenValidationParameters()));

        Assert.Equal(At(secondsFromNow), error.Expires);
    }

    [Fact]
    public void Validate_ClockAdvances_ReadsTheInjectedClock()
    {
        var check = Check();
        var expires = At(60);

        Assert.True(check.Validate(null, expires, null, new TokenValidationParameters()));
        _time.Advance(TimeSpan.FromSeconds(91));

        Assert.Throws<SecurityTokenExpiredException>(() => check.Validate(null, expires, null, new TokenValidationParameters()));
    }

    [Fact]
    public void Validate_ParametersClockSkew_IsIgnored()
    {
        var parameters = new TokenValidationParameters { ClockSkew = TimeSpan.FromHours(1) };

        Assert.Throws<SecurityTokenExpiredException>(() => Check().Validate(null, At(-60), null, parameters));
    }

    [Fact]
    public void Validate_ClockNearDateTimeMax_DoesNotOverflow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.MaxValue.AddSeconds(-10));
        var check = new LifetimeCheck(time, TimeSpan.FromMinutes(1));

        Assert.True(check.Validate(DateTime.MaxValue.AddSeconds(-5), DateTime.MaxValue, null, new TokenValidationParameters()));
    }

    [Fact]
    public void Validate_ClockNearDateTimeMin_DoesNotOverflow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.MinValue.AddSeconds(10));
        var check = new LifetimeCheck(time, TimeSpan.FromMinutes(1));

        Assert.True(check.Validate(null, DateTime.MinValue.AddSeconds(1), null, new TokenValidationParameters()));
    }

    private LifetimeCheck Check() => new(_time, Skew);

    private static DateTime At(int seconds) => Now.UtcDateTime.AddSeconds(seconds);

    [Theory]
    [InlineData(-43, "token expired 43 s ago by the server's clock (allowed skew 30 s)")]
    [InlineData(-31, "token expired 31 s ago by the server's clock (allowed skew 30 s)")]
    [InlineData(-600, "token expired 10 min ago by the server's clock (allowed skew 30 s)")]
    [InlineData(-7200, "token expired 2 h ago by the server's clock (allowed skew 30 s)")]
    [InlineData(-3 * 86400, "token expired 3 d ago by the server's clock (allowed skew 30 s)")]
    public void Explain_Expired_SaysByHowMuchAndTheSkew(int expiresInSeconds, string expected)
    {
        var check = new LifetimeCheck(_time, Skew);
        var expires = Now.ToUnixTimeSeconds() + expiresInSeconds;

        var failure = check.Check(notBefore: null, expires, issuedAt: null);

        Assert.Equal(AuthFailure.TokenExpired, failure);
        Assert.Equal(expected, check.Explain(failure, notBefore: null, expires, issuedAt: null));
    }

    [Theory]
    [InlineData(42, "token not valid for another 42 s: its nbf is ahead of the server's clock (allowed skew 30 s); check clock synchronisation")]
    [InlineData(7200, "token not valid for another 2 h: its nbf is ahead of the server's clock (allowed skew 30 s); check clock synchronisation")]
    public void Explain_NotYetValid_SaysByHowMuchAndWhatToCheck(int notBeforeInSeconds, string expected)
    {
        var check = new LifetimeCheck(_time, Skew);
        var notBefore = Now.ToUnixTimeSeconds() + notBeforeInSeconds;
        var expires = notBefore + 3600;

        var failure = check.Check(notBefore, expires, issuedAt: null);

        Assert.Equal(AuthFailure.TokenNotYetValid, failure);
        Assert.Equal(expected, check.Explain(failure, notBefore, expires, issuedAt: null));
    }

    [Theory]
    [InlineData(42, "token not valid: its iat is 42 s in the future by the server's clock (allowed skew 30 s); check clock synchronisation")]
    [InlineData(7200, "token not valid: its iat is 2 h in the future by the server's clock (allowed skew 30 s); check clock synchronisation")]
    [InlineData(3 * 86400, "token not valid: its iat is 3 d in the future by the server's clock (allowed skew 30 s); check clock synchronisation")]
    public void Explain_IssuedInFuture_SaysByHowMuchAndWhatToCheck(int issuedAtInSeconds, string expected)
    {
        var check = new LifetimeCheck(_time, Skew);
        var issuedAt = Now.ToUnixTimeSeconds() + issuedAtInSeconds;
        var expires = issuedAt + 3600;

        var failure = check.Check(notBefore: null, expires, issuedAt);

        Assert.Equal(AuthFailure.TokenIssuedInFuture, failure);
        Assert.Equal(expected, check.Explain(failure, notBefore: null, expires, issuedAt));
    }

    [Theory]
    [InlineData(31)]
    [InlineData(7200)]
    public void Check_IssuedAtBeyondClockSkew_ReturnsTokenIssuedInFuture(int secondsAhead)
    {
        var issuedAt = Now.ToUnixTimeSeconds() + secondsAhead;

        Assert.Equal(AuthFailure.TokenIssuedInFuture, Check().Check(notBefore: null, issuedAt + 600, issuedAt));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(29)]
    public void Check_IssuedAtWithinClockSkew_ReturnsNone(int secondsAhead)
    {
        var issuedAt = Now.ToUnixTimeSeconds() + secondsAhead;

        Assert.Equal(AuthFailure.None, Check().Check(notBefore: null, issuedAt + 600, issuedAt));
    }

    [Fact]
    public void Check_IssuedAtExactlyNowPlusClockSkew_ReturnsNone()
    {
        var issuedAt = Now.ToUnixTimeSeconds() + (long)Skew.TotalSeconds;

        Assert.Equal(AuthFailure.None, Check().Check(notBefore: null, issuedAt + 600, issuedAt));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-60)]
    [InlineData(-86400)]
    public void Check_IssuedAtNowOrInThePast_ReturnsNone(int secondsFromNow)
    {
        var issuedAt = Now.ToUnixTimeSeconds() + secondsFromNow;

        Assert.Equal(AuthFailure.None, Check().Check(notBefore: null, Now.ToUnixTimeSeconds() + 600, issuedAt));
    }

    [Fact]
    public void Check_NoIssuedAt_ReturnsNone()
    {
        Assert.Equal(AuthFailure.None, Check().Check(notBefore: null, Now.ToUnixTimeSeconds() + 600, issuedAt: null));
    }

    [Fact]
    public void Check_IssuedAtAhead_BecomesValidWhenTheInjectedClockCatchesUp()
    {
        var check = Check();
        var issuedAt = Now.ToUnixTimeSeconds() + 120;

        Assert.Equal(AuthFailure.TokenIssuedInFuture, check.Check(notBefore: null, issuedAt + 600, issuedAt));
        _time.Advance(TimeSpan.FromSeconds(90));

        Assert.Equal(AuthFailure.None, check.Check(notBefore: null, issuedAt + 600, issuedAt));
    }

    [Fact]
    public void Check_NotBeforeAndIssuedAtBothAhead_ReturnsTokenNotYetValid()
    {
        var ahead = Now.ToUnixTimeSeconds() + 7200;

        Assert.Equal(AuthFailure.TokenNotYetValid, Check().Check(ahead, ahead + 600, ahead));
    }

    [Fact]
    public void Check_IssuedAtAheadAndExpired_ReturnsTokenIssuedInFuture()
    {
        var now = Now.ToUnixTimeSeconds();

        Assert.Equal(AuthFailure.TokenIssuedInFuture, Check().Check(notBefore: null, now - 3600, now + 7200));
    }

    [Fact]
    public void Check_IssuedAtAheadWithoutExpiry_ReturnsNoExpiration()
    {
        Assert.Equal(AuthFailure.NoExpiration, Check().Check(notBefore: null, expires: null, Now.ToUnixTimeSeconds() + 7200));
    }

    [Fact]
    public void Check_IssuedAtAheadAndNotBeforeAfterExpiry_ReturnsInvalidLifetime()
    {
        var now = Now.ToUnixTimeSeconds();

        Assert.Equal(AuthFailure.InvalidLifetime, Check().Check(now + 10, now + 5, now + 7200));
    }

    [Fact]
    public void Check_LatestIssuedAtWithClockNearDateTimeMax_DoesNotOverflow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.MaxValue.AddSeconds(-10));
        var check = new LifetimeCheck(time, TimeSpan.FromMinutes(1));

        Assert.Equal(AuthFailure.None, check.Check(notBefore: null, TokenPrecheck.LatestNumericDate, TokenPrecheck.LatestNumericDate));
    }

    [Theory]
    [InlineData((int)AuthFailure.NoExpiration)]
    [InlineData((int)AuthFailure.InvalidLifetime)]
    [InlineData((int)AuthFailure.None)]
    public void Explain_OtherOutcomes_LeaveTheFixedDetail(int failure)
    {
        var now = Now.ToUnixTimeSeconds();

        Assert.Null(new LifetimeCheck(_time, Skew).Explain((AuthFailure)failure, now, now + 60, now + 7200));
    }
}
