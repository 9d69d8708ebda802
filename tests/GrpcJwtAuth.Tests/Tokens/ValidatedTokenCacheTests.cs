using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Tests.Tokens;

public class ValidatedTokenCacheTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly TestSigningKey Key = TestSigningKey.Ec();

    private readonly FakeTimeProvider _time = new(Start);

    [Fact]
    public void TryGet_AddedToken_HitsBySpanOfALargerString()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller, keySetVersion: 3);

        var header = "Bearer " + token;

        Assert.True(cache.TryGet(header.AsSpan(7), 3, out var hit));
        Assert.Same(caller, hit);
    }

    [Fact]
    public void TryGet_TokenDifferingInOneCharacter_Misses()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller, 1);

        var altered = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');

        Assert.False(cache.TryGet(altered, 1, out _));
        Assert.False(cache.TryGet(token.AsSpan(0, token.Length - 1), 1, out _));
    }

    [Fact]
    public void TryGet_OtherKeySetVersion_Misses()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller, 1);

        Assert.False(cache.TryGet(token, 2, out _));
    }

    [Fact]
    public void TryGet_AfterExpiryPlusClockSkew_Misses()
    {
        var cache = Create(skew: TimeSpan.FromSeconds(30));
        var (token, caller) = Mint(TimeSpan.FromMinutes(2));
        Admit(cache, token, caller, 1);

        _time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet(token, 1, out _));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(token, 1, out _));
    }

    [Fact]
    public void TryGet_AfterMaxEntryLifetime_MissesEvenIfTheTokenIsStillValid()
    {
        var cache = Create(maxEntryLifetime: TimeSpan.FromMinutes(1));
        var (token, caller) = Mint(TimeSpan.FromHours(1));
        Admit(cache, token, caller, 1);

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(cache.TryGet(token, 1, out _));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(token, 1, out _));
    }

    [Fact]
    public void Add_ExistingToken_ReplacesTheEntryForTheNewKeySet()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller, 1);
        Admit(cache, token, caller, 2);

        Assert.Equal(1, cache.Count);
        Assert.False(cache.TryGet(token, 1, out _));
        Assert.True(cache.TryGet(token, 2, out _));
    }

    [Fact]
    public void Add_WhenFull_DoesNotGrowPastTheCapacity()
    {
        var cache = Create(size: 3);
        var tokens = Enumerable.Range(0, 5).Select(_ => Mint(TimeSpan.FromMinutes(10))).ToArray();
        foreach (var (token, caller) in tokens)
        {
            Admit(cache, token, caller, 1);
        }

        Assert.Equal(3, cache.Count);
        Assert.True(cache.TryGet(tokens[0].Token, 1, out _));
        Assert.False(cache.TryGet(tokens[4].Token, 1, out _));
    }

    [Fact]
    public void Add_WhenFull_PurgesExpiredAndStaleEntriesAtMostOncePerSecond()
    {
        var cache = Create(size: 2);
        var shortLived = Mint(TimeSpan.FromSeconds(1));
        var stale = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, shortLived.Token, shortLived.Caller, 1);
        Admit(cache, stale.Token, stale.Caller, 1);

        // Both entries are now useless: one expired (skew 0 here), the other belongs to key set 1.
        _time.Advance(TimeSpan.FromSeconds(2));
        var fresh = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, fresh.Token, fresh.Caller, 2);   // full: purges, then has room next time
        Assert.Equal(0, cache.Count);

        Admit(cache, fresh.Token, fresh.Caller, 2);
        Assert.True(cache.TryGet(fresh.Token, 2, out _));

        // Within a second of the last purge, a full cache does not purge again.
        var other = Mint(TimeSpan.FromMinutes(10));
        var third = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, other.Token, other.Caller, 2);
        Admit(cache, third.Token, third.Caller, 3);
        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet(third.Token, 3, out _));
    }

    [Fact]
    public void SizeZero_DisablesTheCache()
    {
        var cache = Create(size: 0);
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller, 1);

        Assert.False(cache.Enabled);
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGet(token, 1, out _));
    }

    [Fact]
    public async Task Add_ManyThreadsAtOnce_NeverExceedsTheCapacity()
    {
        var cache = Create(size: 50);
        var tokens = Enumerable.Range(0, 400).Select(_ => Mint(TimeSpan.FromMinutes(10))).ToArray();

        await Task.WhenAll(tokens.Chunk(50).Select(chunk => Task.Run(() =>
        {
            foreach (var (token, caller) in chunk)
            {
                Admit(cache, token, caller, 1);
            }
        }))).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(50, cache.Count);
        Assert.Equal(50, tokens.Count(t => cache.TryGet(t.Token, 1, out _)));
    }

    [Fact]
    public void Add_FirstValidation_OnlyRecordsTheToken_SecondAdmitsIt()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));

        cache.Add(token, caller, 1);
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGet(token, 1, out _));

        cache.Add(token, caller, 1);
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(token, 1, out _));
    }

    [Fact]
    public void Add_SliceOfTheHeader_AdmitsExactlyTheToken()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        var header = "Bearer " + token;
        var slice = header.AsSpan(7);

        cache.Add(slice, caller, 1);
        cache.Add(slice, caller, 1);

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(token, 1, out var hit));
        Assert.Same(caller, hit);
        Assert.False(cache.TryGet(header, 1, out _));
    }

    [Fact]
    public void Add_RevalidatedAfterAKeyChange_ReplacesTheEntryInPlace()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller, 1);
        var (_, newer) = Mint(TimeSpan.FromMinutes(10));

        cache.Add(("Bearer " + token).AsSpan(7), newer, 2);

        Assert.Equal(1, cache.Count);
        Assert.False(cache.TryGet(token, 1, out _));
        Assert.True(cache.TryGet(token, 2, out var hit));
        Assert.Same(newer, hit);
    }

    [Fact]
    public void Add_ManyOneShotTokens_NeverFillTheCache()
    {
        var cache = Create(size: 10_000);
        for (var i = 0; i < 500; i++)
        {
            var (token, caller) = Mint(TimeSpan.FromMinutes(10));
            cache.Add(token, caller, 1);
        }

        Assert.Equal(0, cache.Count);
    }

    /// <summary>Validated twice: the cache admits a token on its second validation.</summary>
    private static void Admit(ValidatedTokenCache cache, string token, JwtCaller caller, long keySetVersion)
    {
        cache.Add(token, caller, keySetVersion);
        cache.Add(token, caller, keySetVersion);
    }

    private ValidatedTokenCache Create(int size = 100, TimeSpan? skew = null, TimeSpan? maxEntryLifetime = null)
    {
        var options = new GrpcJwtAuthOptions
        {
            TokenCacheSize = size,
            ClockSkew = skew ?? TimeSpan.Zero,
            TokenCacheMaxEntryLifetime = maxEntryLifetime ?? TimeSpan.FromHours(1),
        };
        return new ValidatedTokenCache(CompiledAuthOptions.Create(options, _time), _time);
    }

    private (string Token, JwtCaller Caller) Mint(TimeSpan lifetime)
    {
        var token = new TestTokenFactory(_time).Create(Key, subject: Guid.NewGuid().ToString("N"), lifetime: lifetime);
        var caller = new CallerFactory(CompiledAuthOptions.Create(new GrpcJwtAuthOptions(), _time)).Create(new JsonWebToken(token));
        return (token, caller);
    }
}
