using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests.Caching;

/// <summary>
/// The cache on a fake clock. Tokens live ten minutes unless a test says otherwise; with the options below a token
/// fetched at <see cref="Start"/> is refreshed from 09:00 and handed out until 09:55. Where a test must know that
/// no refresh was started, it calls the cache inside <see cref="PostedWork.Capture{T}"/>: a refresh begins by
/// yielding, so a started one is queued there, visible and not yet run.
/// </summary>
public sealed class CachingAccessTokenProviderTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeTokenSource _source;
    private readonly RecordingLogger<CachingAccessTokenProvider> _logger = new();

    public CachingAccessTokenProviderTests()
    {
        _source = new FakeTokenSource(_time);
    }

    [Fact]
    public async Task GetTokenAsync_EmptyCache_FetchesFromSource()
    {
        var cache = CreateCache();

        var token = await cache.GetTokenAsync().DefaultTimeout();

        Assert.Equal("token-1", token.Value);
        Assert.Equal(Start + FakeTokenSource.DefaultLifetime, token.ExpiresAt);
        Assert.Equal(1, _source.Calls);
        var acquired = Assert.Single(_logger.Entries, entry => entry.EventName == "TokenAcquired");
        Assert.Equal(LogLevel.Debug, acquired.Level);
    }

    [Fact]
    public async Task GetTokenAsync_BeforeRefreshTime_ServesCachedTokenSynchronouslyWithoutFetching()
    {
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        var work = new PostedWork();

        foreach (var elapsed in new[] { TimeSpan.Zero, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(9) - TimeSpan.FromMilliseconds(1) })
        {
            _time.SetUtcNow(Start + elapsed);
            var pending = work.Capture(() => cache.GetTokenAsync());

            Assert.Same(first, Completed.Result(pending));
        }

        Assert.Equal(0, work.Count);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task GetTokenAsync_InsideRefreshWindow_ReturnsCurrentTokenAndRefreshesInBackground()
    {
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _source.Blocks();
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(9));
        var work = new PostedWork();

        var pending = work.Capture(() => cache.GetTokenAsync());

        // The caller has the current token before the refresh has even begun.
        Assert.Same(first, Completed.Result(pending));
        Assert.Equal(1, work.Count);
        Assert.Equal(1, _source.Calls);

        work.RunAll();
        var refresh = await _source.WaitForCallAsync(2);

        // While the refresh runs, callers keep the current token and no second refresh starts.
        var during = work.Capture(() => cache.GetTokenAsync());
        Assert.Same(first, Completed.Result(during));
        Assert.Equal(0, work.Count);

        refresh.Complete(FakeTokenSource.DefaultLifetime);
        await _logger.WaitForAsync("TokenAcquired", 2);

        var after = cache.GetTokenAsync();
        Assert.Equal("token-2", Completed.Result(after).Value);
        Assert.Equal(2, _source.Calls);
    }

    [Theory]
    [InlineData(600, 60, 540)] // RefreshBeforeExpiry before expiry
    [InlineData(600, 120, 480)]
    [InlineData(40, 10, 30)]
    [InlineData(60, 60, 30)] // short token: at half its lifetime, which is later
    [InlineData(60, 40, 30)]
    [InlineData(12, 60, 6)]
    public async Task GetTokenAsync_RefreshTime_IsLaterOfRefreshBeforeExpiryAndHalfLifetime(
        int lifetimeSeconds, int refreshBeforeSeconds, int expectedRefreshSeconds)
    {
        _source.ReturnsTokensLiving(TimeSpan.FromSeconds(lifetimeSeconds));
        var cache = CreateCache(options => options.RefreshBeforeExpiry = TimeSpan.FromSeconds(refreshBeforeSeconds));
        var first = await cache.GetTokenAsync().DefaultTimeout();
        var work = new PostedWork();

        _time.SetUtcNow(Start + TimeSpan.FromSeconds(expectedRefreshSeconds) - TimeSpan.FromMilliseconds(1));
        _ = work.Capture(() => cache.GetTokenAsync());
        Assert.Equal(0, work.Count);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var pending = work.Capture(() => cache.GetTokenAsync());
        Assert.Equal(1, work.Count);
        Assert.Same(first, Completed.Result(pending));
    }

    [Fact]
    public async Task GetTokenAsync_WithJitter_RefreshesUpToJitterEarlierAtRandom()
    {
        // Ten-minute tokens, RefreshBeforeExpiry 60 s, RefreshJitter 15 s: each cache refreshes in (525 s, 540 s].
        var firstRefreshSecond = new List<int>();
        for (var i = 0; i < 20; i++)
        {
            var time = new FakeTimeProvider(Start);
            var cache = new CachingAccessTokenProvider(
                new FakeTokenSource(time), Options(options => options.RefreshJitter = TimeSpan.FromSeconds(15)), time);
            await cache.GetTokenAsync().DefaultTimeout();
            var work = new PostedWork();

            for (var second = 500; work.Count == 0; second++)
            {
                Assert.True(second <= 600, "No refresh started before the token expired.");
                time.SetUtcNow(Start + TimeSpan.FromSeconds(second));
                _ = work.Capture(() => cache.GetTokenAsync());
                if (work.Count > 0)
                {
                    firstRefreshSecond.Add(second);
                }
            }
        }

        Assert.All(firstRefreshSecond, second => Assert.InRange(second, 526, 540));
        Assert.True(firstRefreshSecond.Distinct().Count() > 1, $"All 20 caches refreshed at {firstRefreshSecond[0]} s: no jitter.");
    }

    [Fact]
    public async Task GetTokenAsync_HundredConcurrentCallersOnEmptyCache_FetchOnceAndShareTheToken()
    {
        _source.Does(call =>
        {
            if (call.Number == 1)
            {
                call.CompleteWhenCancelled();
            }
            else
            {
                call.Complete(FakeTokenSource.DefaultLifetime);
            }
        });
        var cache = CreateCache();
        var callers = new Task<AccessToken>[100];

        Parallel.For(0, callers.Length, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            i => callers[i] = cache.GetTokenAsync().AsTask());
        var fetch = await _source.WaitForCallAsync(1);

        Assert.All(callers, caller => Assert.False(caller.IsCompleted));
        fetch.Complete(FakeTokenSource.DefaultLifetime);
        var tokens = await Task.WhenAll(callers).DefaultTimeout();

        Assert.All(tokens, token => Assert.Same(tokens[0], token));
        Assert.Equal("token-1", tokens[0].Value);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task GetTokenAsync_FailuresWithoutToken_FailFastAndBackOffDoublingUpToMaximumRetryDelay()
    {
        _source.Throws(new HttpRequestException("token endpoint down"));
        var cache = CreateCache(options =>
        {
            options.MinimumRetryDelay = TimeSpan.FromSeconds(1);
            options.MaximumRetryDelay = TimeSpan.FromSeconds(8);
        });

        var first = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        Assert.IsType<HttpRequestException>(first.InnerException);

        var failures = 1;
        foreach (var delaySeconds in new[] { 1, 2, 4, 8, 8 })
        {
            _time.Advance(TimeSpan.FromSeconds(delaySeconds) - TimeSpan.FromMilliseconds(1));

            // Inside the delay: no fetch, an immediate failure that says why.
            var fast = cache.GetTokenAsync();
            Assert.True(fast.IsFaulted);
            var fastFailure = await Assert.ThrowsAsync<AccessTokenException>(() => fast.AsTask());
            Assert.Contains($"({failures} in a row)", fastFailure.Message, StringComparison.Ordinal);
            Assert.IsType<AccessTokenException>(fastFailure.InnerException);
            Assert.Equal(failures, _source.Calls);

            _time.Advance(TimeSpan.FromMilliseconds(1));
            await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
            failures++;
            Assert.Equal(failures, _source.Calls);
        }

        Assert.Equal(failures, _logger.Count("TokenRefreshFailed"));
        Assert.All(_logger.Entries.Where(entry => entry.EventName == "TokenRefreshFailed"), entry => Assert.Equal(LogLevel.Warning, entry.Level));
    }

    [Fact]
    public async Task GetTokenAsync_SuccessAfterFailures_ResetsTheBackoff()
    {
        _source.Throws(new HttpRequestException("token endpoint down"));
        var cache = CreateCache();
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        _time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        _time.Advance(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        _time.Advance(TimeSpan.FromSeconds(4));
        _source.ReturnsTokensLiving(TimeSpan.FromSeconds(20));

        Assert.Equal("token-4", (await cache.GetTokenAsync().DefaultTimeout()).Value);

        // The token becomes unusable at 15 s; the next failure waits MinimumRetryDelay again, not 8 s.
        _source.Throws(new HttpRequestException("token endpoint down"));
        _time.Advance(TimeSpan.FromSeconds(15));
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        Assert.Equal(5, _source.Calls);
        _time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        Assert.Equal(6, _source.Calls);
    }

    [Fact]
    public async Task GetTokenAsync_BackgroundRefreshFails_KeepsServingTheStillValidToken()
    {
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _source.Throws(new HttpRequestException("token endpoint down"));
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(9));
        var work = new PostedWork();

        Assert.Same(first, Completed.Result(work.Capture(() => cache.GetTokenAsync())));
        work.RunAll();
        await _logger.WaitForAsync("TokenRefreshFailed");

        // Within the retry delay: the valid token, and no new attempt.
        var duringBackoff = work.Capture(() => cache.GetTokenAsync());
        Assert.Same(first, Completed.Result(duringBackoff));
        Assert.Equal(0, work.Count);
        Assert.Equal(2, _source.Calls);

        // After it: another background attempt, which succeeds.
        _source.ReturnsTokensLiving(FakeTokenSource.DefaultLifetime);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Same(first, Completed.Result(work.Capture(() => cache.GetTokenAsync())));
        Assert.Equal(1, work.Count);
        work.RunAll();
        await _logger.WaitForAsync("TokenAcquired", 2);

        Assert.Equal("token-3", (await cache.GetTokenAsync().DefaultTimeout()).Value);
    }

    [Fact]
    public async Task GetTokenAsync_TokenWithinMinimumRemainingLifetime_IsNotHandedOut()
    {
        var cache = CreateCache(options =>
        {
            options.MinimumRetryDelay = TimeSpan.FromMinutes(2);
            options.MaximumRetryDelay = TimeSpan.FromMinutes(2);
        });
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _source.Throws(new HttpRequestException("token endpoint down"));
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(9));
        Assert.Same(first, await cache.GetTokenAsync().DefaultTimeout());
        await _logger.WaitForAsync("TokenRefreshFailed");

        // Expiry is at 10:00 and MinimumRemainingLifetime is 5 s: usable until 09:55.
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        Assert.Same(first, await cache.GetTokenAsync().DefaultTimeout());

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        Assert.DoesNotContain(first.Value, failure.Message, StringComparison.Ordinal);
        Assert.Equal(2, _source.Calls);
    }

    [Fact]
    public async Task GetTokenAsync_MinimumRemainingLifetimeLongerThanRefreshBeforeExpiry_IsStillNeverCrossed()
    {
        var cache = CreateCache(options =>
        {
            options.MinimumRemainingLifetime = TimeSpan.FromMinutes(2);
            options.RefreshBeforeExpiry = TimeSpan.FromMinutes(1);
            options.RefreshJitter = TimeSpan.Zero;
        });
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _source.Throws(new HttpRequestException("token endpoint down"));

        // Expiry at 10:00: usable until 08:00, although the refresh would otherwise be planned for 09:00.
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(8));
        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.DoesNotContain(first.Value, failure.Message, StringComparison.Ordinal);
        Assert.Equal(2, _source.Calls);
    }

    [Fact]
    public async Task GetTokenAsync_TokenWithinMinimumRemainingLifetimeWhileRefreshRuns_WaitsForTheNewToken()
    {
        var cache = CreateCache(options => options.FetchTimeout = TimeSpan.FromMinutes(5));
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _source.Blocks();
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(9));
        Assert.Same(first, await cache.GetTokenAsync().DefaultTimeout());
        var refresh = await _source.WaitForCallAsync(2);

        _time.SetUtcNow(Start + TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(5));
        var waiting = cache.GetTokenAsync().AsTask();
        Assert.False(waiting.IsCompleted);

        refresh.Complete(FakeTokenSource.DefaultLifetime);
        Assert.Equal("token-2", (await waiting.DefaultTimeout()).Value);
        Assert.Equal(2, _source.Calls);
    }

    [Theory]
    [InlineData(-60)]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    public async Task GetTokenAsync_SourceReturnsExpiredOrAlmostExpiredToken_ThrowsAccessTokenException(int secondsLeft)
    {
        _source.Returns(call => new AccessToken("secret-token-value", call.StartedAt + TimeSpan.FromSeconds(secondsLeft)));
        var cache = CreateCache();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.Contains("already expired or about to expire", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-value", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_SourceReturnsTokenJustOutsideMinimumRemainingLifetime_ReturnsIt()
    {
        _source.Returns(call => new AccessToken("short", call.StartedAt + TimeSpan.FromSeconds(6)));
        var cache = CreateCache();

        Assert.Equal("short", (await cache.GetTokenAsync().DefaultTimeout()).Value);
    }

    [Fact]
    public async Task GetTokenAsync_SourceReturnsNull_ThrowsAccessTokenException()
    {
        _source.Returns(_ => null!);
        var cache = CreateCache();

        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
    }

    [Fact]
    public async Task GetTokenAsync_SourceThrowsAccessTokenException_RethrowsItUnchanged()
    {
        var refused = new AccessTokenException("The token endpoint refused the request (HTTP 400): invalid_client.")
        {
            Error = "invalid_client",
        };
        _source.Throws(refused);
        var cache = CreateCache();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.Same(refused, failure);
    }

    [Theory]
    [InlineData(AccessTokenFailure.Refused)]
    [InlineData(AccessTokenFailure.Unavailable)]
    public async Task GetTokenAsync_DuringTheBackoff_FailsWithTheKindAndCauseOfTheLastFailure(AccessTokenFailure kind)
    {
        _source.Throws(new AccessTokenException(kind, "The token endpoint refused the request (HTTP 400): invalid_client.") { Error = "invalid_client" });
        var cache = CreateCache();
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        var fast = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.Equal(1, _source.Calls);
        Assert.Equal(kind, fast.Failure);
        Assert.Equal("invalid_client", fast.Error);
        Assert.Contains("It failed with: The token endpoint refused the request (HTTP 400): invalid_client.", fast.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_SourceTimesOut_IsUnavailable()
    {
        _source.Blocks();
        var cache = CreateCache();
        var pending = cache.GetTokenAsync().AsTask();
        await _source.NextCallAsync();

        _time.Advance(new TokenCacheOptions().FetchTimeout);

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => pending.DefaultTimeout());
        Assert.Equal(AccessTokenFailure.Unavailable, failure.Failure);
    }

    [Fact]
    public async Task GetTokenAsync_FreshTokenAlreadyExpiredByThisClock_WarnsOfClockSkewOnce()
    {
        _source.Returns(_ => Jwt(notBefore: Start - TimeSpan.FromMinutes(15), expires: Start - TimeSpan.FromMinutes(5)));
        var cache = CreateCache();

        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
        _time.Advance(TimeSpan.FromMinutes(1));
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.Equal(2, _source.Calls);
        var warning = Assert.Single(_logger.Entries, entry => entry.EventName == "ClockSkewSuspected");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("already expired by this machine's clock (expired 5 min ago)", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_FreshTokenNotValidYetByThisClock_WarnsOfClockSkewOnceAndStillUsesIt()
    {
        _source.Returns(_ => Jwt(notBefore: Start + TimeSpan.FromSeconds(90), expires: Start + TimeSpan.FromMinutes(10)));
        var cache = CreateCache();

        await cache.GetTokenAsync().DefaultTimeout();
        await cache.GetFreshTokenAsync(await cache.GetTokenAsync().DefaultTimeout()).DefaultTimeout();

        var warning = Assert.Single(_logger.Entries, entry => entry.EventName == "ClockSkewSuspected");
        Assert.Contains("not valid yet by this machine's clock (valid in 90 s)", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_FreshTokenIssuedInTheFutureByThisClock_WarnsOfClockSkewOnceAndStillUsesIt()
    {
        _source.Returns(_ => Jwt(notBefore: null, expires: Start + TimeSpan.FromHours(3), issuedAt: Start + TimeSpan.FromHours(2)));
        var cache = CreateCache();

        await cache.GetTokenAsync().DefaultTimeout();
        await cache.GetFreshTokenAsync(await cache.GetTokenAsync().DefaultTimeout()).DefaultTimeout();

        var warning = Assert.Single(_logger.Entries, entry => entry.EventName == "ClockSkewSuspected");
        Assert.Contains("issued in the future by this machine's clock (issued in 2 h)", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public async Task GetTokenAsync_FreshTokenIssuedNowOrWithinTolerance_DoesNotWarn(int issuedAtSeconds)
    {
        _source.Returns(_ => Jwt(notBefore: null, expires: Start + TimeSpan.FromMinutes(10), issuedAt: Start + TimeSpan.FromSeconds(issuedAtSeconds)));
        var cache = CreateCache();

        await cache.GetTokenAsync().DefaultTimeout();

        Assert.Equal(0, _logger.Count("ClockSkewSuspected"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public async Task GetTokenAsync_FreshTokenValidNowOrWithinTolerance_DoesNotWarn(int notBeforeSeconds)
    {
        _source.Returns(_ => Jwt(notBefore: Start + TimeSpan.FromSeconds(notBeforeSeconds), expires: Start + TimeSpan.FromMinutes(10)));
        var cache = CreateCache();

        await cache.GetTokenAsync().DefaultTimeout();

        Assert.Equal(0, _logger.Count("ClockSkewSuspected"));
    }

    [Theory]
    [InlineData("253402300800")]
    [InlineData("9223372036854775807")]
    [InlineData("\"soon\"")]
    public async Task GetTokenAsync_NotBeforeOutOfRangeOrNotANumber_IsIgnored(string notBeforeJson)
    {
        var payload = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode($$"""{"nbf":{{notBeforeJson}},"exp":{{(Start + TimeSpan.FromMinutes(10)).ToUnixTimeSeconds()}}}""");
        var value = $"{Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode("""{"alg":"none"}""")}.{payload}.";
        _source.Returns(_ => AccessToken.FromJwt(value));
        var cache = CreateCache();

        Assert.Equal(value, (await cache.GetTokenAsync().DefaultTimeout()).Value);
        Assert.Equal(0, _logger.Count("ClockSkewSuspected"));
    }

    private static AccessToken Jwt(DateTimeOffset? notBefore, DateTimeOffset expires, DateTimeOffset? issuedAt = null)
    {
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var value = handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = "https://idp.test",
            NotBefore = notBefore?.UtcDateTime,
            Expires = expires.UtcDateTime,
            IssuedAt = issuedAt?.UtcDateTime,
        });
        return AccessToken.FromJwt(value);
    }

    [Fact]
    public async Task GetTokenAsync_SourceThrowsOtherException_WrapsItNamingOnlyItsType()
    {
        var cause = new InvalidOperationException("connection string has secret-token-value");
        _source.Throws(cause);
        var cache = CreateCache();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.Same(cause, failure.InnerException);
        Assert.Contains(nameof(InvalidOperationException), failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-value", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_SourceThrowsItsOwnCancellation_WrapsIt()
    {
        // For example HttpClient.Timeout: a cancellation that is not the cache's FetchTimeout nor the caller's.
        _source.Throws(new TaskCanceledException("HttpClient.Timeout elapsed"));
        var cache = CreateCache();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.IsType<TaskCanceledException>(failure.InnerException);
    }

    [Fact]
    public async Task GetTokenAsync_SourceHangsPastFetchTimeout_CancelsItAndThrowsAccessTokenException()
    {
        _source.Blocks();
        var cache = CreateCache(options => options.FetchTimeout = TimeSpan.FromSeconds(30));
        var waiting = cache.GetTokenAsync().AsTask();
        var fetch = await _source.WaitForCallAsync(1);

        _time.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        Assert.False(fetch.CancellationToken.IsCancellationRequested);
        Assert.False(waiting.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => waiting.DefaultTimeout());

        Assert.True(fetch.CancellationToken.IsCancellationRequested);
        Assert.Contains("took longer than 00:00:30", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_SourceIgnoresCancellationPastFetchTimeout_ThrowsAccessTokenException()
    {
        _source.BlocksIgnoringCancellation();
        var cache = CreateCache(options => options.FetchTimeout = TimeSpan.FromSeconds(30));
        var waiting = cache.GetTokenAsync().AsTask();
        await _source.WaitForCallAsync(1);

        _time.Advance(TimeSpan.FromSeconds(30));
        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => waiting.DefaultTimeout());

        Assert.Contains("took longer than 00:00:30", failure.Message, StringComparison.Ordinal);

        // The cache is not stuck behind the hung fetch: after the retry delay it asks again.
        _source.ReturnsTokensLiving(FakeTokenSource.DefaultLifetime);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("token-2", (await cache.GetTokenAsync().DefaultTimeout()).Value);
    }

    [Fact]
    public async Task GetTokenAsync_CallerCancelsWhileWaiting_ThrowsOperationCanceledAndTheFetchGoesOn()
    {
        _source.Blocks();
        var cache = CreateCache();
        using var cancellation = new CancellationTokenSource();
        var waiting = cache.GetTokenAsync(cancellation.Token).AsTask();
        var fetch = await _source.WaitForCallAsync(1);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.DefaultTimeout());
        Assert.False(fetch.CancellationToken.IsCancellationRequested);
        fetch.Complete(FakeTokenSource.DefaultLifetime);
        await _logger.WaitForAsync("TokenAcquired");
        Assert.Equal("token-1", (await cache.GetTokenAsync().DefaultTimeout()).Value);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task GetTokenAsync_TokenWithUnknownExpiry_IsNeverRefreshedProactively()
    {
        _source.Returns(call => new AccessToken($"token-{call.Number}", DateTimeOffset.MaxValue));
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        var work = new PostedWork();

        _time.Advance(TimeSpan.FromDays(3650));
        var later = work.Capture(() => cache.GetTokenAsync());

        Assert.Same(first, Completed.Result(later));
        Assert.Equal(0, work.Count);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task GetFreshTokenAsync_RejectedTokenIsCurrent_FetchesNewOne()
    {
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(10));

        var fresh = await cache.GetFreshTokenAsync(first).DefaultTimeout();

        Assert.Equal("token-2", fresh.Value);
        Assert.Equal(2, _source.Calls);
        Assert.Same(fresh, await cache.GetTokenAsync().DefaultTimeout());
        Assert.Equal(1, _logger.Count("ForcedRefresh"));
    }

    [Fact]
    public async Task GetFreshTokenAsync_TokenWithUnknownExpiryRejected_FetchesNewOne()
    {
        _source.Returns(call => new AccessToken($"token-{call.Number}", DateTimeOffset.MaxValue));
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal("token-2", (await cache.GetFreshTokenAsync(first).DefaultTimeout()).Value);
    }

    [Fact]
    public async Task GetFreshTokenAsync_CurrentTokenDiffersFromRejected_ReturnsItWithoutFetching()
    {
        var cache = CreateCache();
        var current = await cache.GetTokenAsync().DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(10));

        var fresh = cache.GetFreshTokenAsync(new AccessToken("token-0", Start + TimeSpan.FromMinutes(5)));

        Assert.Same(current, Completed.Result(fresh));
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task GetFreshTokenAsync_RepeatedRejectionWithinMinimumForcedRefreshInterval_ReturnsJustFetchedToken()
    {
        var cache = CreateCache(options => options.MinimumForcedRefreshInterval = TimeSpan.FromSeconds(5));
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(10));
        var second = await cache.GetFreshTokenAsync(first).DefaultTimeout();

        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        var again = cache.GetFreshTokenAsync(second);
        Assert.Same(second, Completed.Result(again));
        Assert.Equal(2, _source.Calls);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("token-3", (await cache.GetFreshTokenAsync(second).DefaultTimeout()).Value);
        Assert.Equal(3, _source.Calls);
    }

    [Fact]
    public async Task GetFreshTokenAsync_TokenFetchedNormallyAndRejectedAtOnce_IsReplaced()
    {
        // Only a replacement of a rejected token is protected by MinimumForcedRefreshInterval: a token the server
        // refuses right after startup must still be retried with a new one.
        var cache = CreateCache(options => options.MinimumForcedRefreshInterval = TimeSpan.FromSeconds(5));
        var first = await cache.GetTokenAsync().DefaultTimeout();

        var fresh = await cache.GetFreshTokenAsync(first).DefaultTimeout();

        Assert.Equal("token-2", fresh.Value);
        Assert.Equal(2, _source.Calls);
    }

    [Fact]
    public async Task GetFreshTokenAsync_ManyCallersRejectTheSameToken_FetchOnce()
    {
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(10));
        var work = new PostedWork();

        var callers = work.Capture(() => Enumerable.Range(0, 10).Select(_ => cache.GetFreshTokenAsync(first).AsTask()).ToArray());
        Assert.Equal(1, work.Count);
        work.RunAll();
        var tokens = await Task.WhenAll(callers).DefaultTimeout();

        Assert.All(tokens, token => Assert.Equal("token-2", token.Value));
        Assert.Equal(2, _source.Calls);
    }

    [Fact]
    public async Task GetFreshTokenAsync_EmptyCache_Fetches()
    {
        var cache = CreateCache();

        var fresh = await cache.GetFreshTokenAsync(new AccessToken("from-elsewhere", Start + TimeSpan.FromMinutes(5))).DefaultTimeout();

        Assert.Equal("token-1", fresh.Value);
    }

    [Fact]
    public async Task GetFreshTokenAsync_SourceFails_ThrowsAccessTokenException()
    {
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(10));
        _source.Throws(new HttpRequestException("token endpoint down"));

        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetFreshTokenAsync(first).AsTask());

        // The rejected token is still the one handed out while it is valid.
        Assert.Same(first, await cache.GetTokenAsync().DefaultTimeout());
    }

    [Theory]
    [InlineData("expired token from the source")]
    [InlineData("source failure quoting the token")]
    [InlineData("fast failure during backoff")]
    public async Task AccessTokenException_Message_NeverContainsTheTokenValue(string scenario)
    {
        const string Secret = "eyJ.secret-token-value.sig";
        var cache = CreateCache();
        switch (scenario)
        {
            case "expired token from the source":
                _source.Returns(call => new AccessToken(Secret, call.StartedAt - TimeSpan.FromSeconds(1)));
                break;
            case "source failure quoting the token":
                _source.Throws(new InvalidOperationException($"rejected {Secret}"));
                break;
            default:
                _source.Throws(new InvalidOperationException($"rejected {Secret}"));
                await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());
                break;
        }

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask());

        Assert.DoesNotContain(Secret, failure.Message, StringComparison.Ordinal);
        Assert.All(_logger.Entries, entry => Assert.DoesNotContain(Secret, entry.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Constructor_NullSource_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => new CachingAccessTokenProvider(null!));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsArgumentException()
    {
        var options = new TokenCacheOptions { MinimumRetryDelay = TimeSpan.Zero };

        Assert.Throws<ArgumentException>(() => new CachingAccessTokenProvider(_source, options, _time));
    }

    [Fact]
    public async Task GetFreshTokenAsync_NullRejected_ThrowsArgumentNullException()
    {
        var cache = CreateCache();

        await Assert.ThrowsAsync<ArgumentNullException>(() => cache.GetFreshTokenAsync(null!).AsTask());
    }

    private CachingAccessTokenProvider CreateCache(Action<TokenCacheOptions>? configure = null) =>
        new(_source, Options(configure), _time, _logger);

    private static TokenCacheOptions Options(Action<TokenCacheOptions>? configure = null)
    {
        var options = new TokenCacheOptions
        {
            RefreshBeforeExpiry = TimeSpan.FromMinutes(1),
            RefreshJitter = TimeSpan.Zero,
            MinimumRemainingLifetime = TimeSpan.FromSeconds(5),
            MinimumRetryDelay = TimeSpan.FromSeconds(1),
            MaximumRetryDelay = TimeSpan.FromSeconds(8),
            MinimumForcedRefreshInterval = TimeSpan.FromSeconds(5),
            FetchTimeout = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(options);
        return options;
    }
}
