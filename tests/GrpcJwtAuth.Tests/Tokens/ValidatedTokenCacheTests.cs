using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Keys;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Tests.Tokens;

public sealed class ValidatedTokenCacheTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly TestSigningKey Key = TestSigningKey.Ec();

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeRemoteKeySource _source = new();
    private readonly SigningKeyManager _issuer;

    public ValidatedTokenCacheTests()
    {
        var options = CompiledAuthOptions.Create(new GrpcJwtAuthOptions { JwksUri = _source.Address }, _time);
        _issuer = new SigningKeyManager(options.Issuers[0], _source, _time, NullLogger<SigningKeyManager>.Instance);
        _source.Returns(Key);
    }

    public void Dispose() => _issuer.Dispose();

    [Fact]
    public void TryGet_AddedToken_HitsBySpanOfALargerString()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);

        var header = "Bearer " + token;

        Assert.True(cache.TryGet(header.AsSpan(7), out var hit));
        Assert.Same(caller, hit);
    }

    [Fact]
    public void TryGet_TokenDifferingInOneCharacter_Misses()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);

        var altered = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');

        Assert.False(cache.TryGet(altered, out _));
        Assert.False(cache.TryGet(token.AsSpan(0, token.Length - 1), out _));
    }

    [Fact]
    public void TryGet_TokenEndingLikeACachedOne_Misses()
    {
        // Entries are hashed on the token's end (its signature): a sender who copies that end and changes the rest
        // lands in the same bucket, and still gets nothing, since tokens are compared whole.
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);
        var (other, otherCaller) = Mint(TimeSpan.FromMinutes(20));
        Admit(cache, other, otherCaller);

        var forged = other[..^ValidatedTokenCache.TokenComparer.HashedChars] + token[^ValidatedTokenCache.TokenComparer.HashedChars..];
        var prefixed = "x" + token;

        Assert.Equal(
            ValidatedTokenCache.TokenComparer.Instance.GetHashCode(token),
            ValidatedTokenCache.TokenComparer.Instance.GetHashCode(forged.AsSpan()));
        Assert.False(cache.TryGet(forged, out _));
        Assert.False(cache.TryGet(prefixed, out _));
        Assert.True(cache.TryGet(token, out var hit));
        Assert.Same(caller, hit);
        Assert.True(cache.TryGet(other, out var otherHit));
        Assert.Same(otherCaller, otherHit);
    }

    [Fact]
    public async Task TryGet_AfterTheIssuersKeysChanged_Misses()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);

        await RotateAsync();

        Assert.False(cache.TryGet(token, out _));
    }

    [Fact]
    public void TryGet_AfterExpiryPlusClockSkew_Misses()
    {
        var cache = Create(skew: TimeSpan.FromSeconds(30));
        var (token, caller) = Mint(TimeSpan.FromMinutes(2));
        Admit(cache, token, caller);

        _time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet(token, out _));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(token, out _));
    }

    [Fact]
    public void TryGet_AfterMaxEntryLifetime_MissesEvenIfTheTokenIsStillValid()
    {
        var cache = Create(maxEntryLifetime: TimeSpan.FromMinutes(1));
        var (token, caller) = Mint(TimeSpan.FromHours(1));
        Admit(cache, token, caller);

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(cache.TryGet(token, out _));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(token, out _));
    }

    [Fact]
    public async Task Add_ExistingToken_ReplacesTheEntryForTheNewKeySet()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);
        await RotateAsync();
        Assert.False(cache.TryGet(token, out _));

        Admit(cache, token, caller);

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(token, out _));
    }

    [Fact]
    public void Add_WhenFull_DoesNotGrowPastTheCapacity()
    {
        var cache = Create(size: 3);
        var tokens = Enumerable.Range(0, 5).Select(_ => Mint(TimeSpan.FromMinutes(10))).ToArray();
        foreach (var (token, caller) in tokens)
        {
            Admit(cache, token, caller);
        }

        Assert.Equal(3, cache.Count);
        Assert.True(cache.TryGet(tokens[0].Token, out _));
        Assert.False(cache.TryGet(tokens[4].Token, out _));
    }

    [Fact]
    public async Task Add_WhenFull_PurgesExpiredAndStaleEntriesAtMostOncePerSecond()
    {
        var cache = Create(size: 2);
        var shortLived = Mint(TimeSpan.FromSeconds(1));
        var stale = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, shortLived.Token, shortLived.Caller);
        Admit(cache, stale.Token, stale.Caller);

        // Both entries are now useless: one expired (skew 0 here), the other belongs to the replaced key set.
        _time.Advance(TimeSpan.FromSeconds(2));
        await RotateAsync();
        var fresh = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, fresh.Token, fresh.Caller);   // full: purges, then has room next time
        Assert.Equal(0, cache.Count);

        Admit(cache, fresh.Token, fresh.Caller);
        Assert.True(cache.TryGet(fresh.Token, out _));

        // Within a second of the last purge, a full cache does not purge again.
        var other = Mint(TimeSpan.FromMinutes(10));
        var third = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, other.Token, other.Caller);
        await RotateAsync();
        Admit(cache, third.Token, third.Caller);
        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet(third.Token, out _));
    }

    [Fact]
    public void SizeZero_DisablesTheCache()
    {
        var cache = Create(size: 0);
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);

        Assert.False(cache.Enabled);
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGet(token, out _));
        Assert.False(cache.TryGet("Bearer " + token, 7, token.Length, out _));
    }

    [Fact]
    public void TryGet_SameHeaderStringAgain_HitsTheSameCallerEachTime()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);
        var header = "Bearer " + token;

        for (var i = 0; i < 3; i++)
        {
            Assert.True(cache.TryGet(header, 7, token.Length, out var hit));
            Assert.Same(caller, hit);
        }
    }

    [Fact]
    public void TryGet_SameHeaderStringOtherRange_IsLookedUpOnItsOwn()
    {
        // The recent hits are keyed by the string instance: another slice of that instance is another token, and must
        // not be answered by what the first slice found.
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);
        var header = "Bearer " + token;
        Assert.True(cache.TryGet(header, 7, token.Length, out _));

        Assert.False(cache.TryGet(header, 0, header.Length, out _));
        Assert.False(cache.TryGet(header, 7, token.Length - 1, out _));
        Assert.False(cache.TryGet(header, 8, token.Length - 1, out _));
        Assert.True(cache.TryGet(header, 7, token.Length, out var hit));
        Assert.Same(caller, hit);
    }

    [Fact]
    public async Task TryGet_SameHeaderString_AfterTheKeysChanged_MissesThenFindsTheRevalidatedEntry()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);
        var header = "Bearer " + token;
        Assert.True(cache.TryGet(header, 7, token.Length, out _));

        await RotateAsync();
        Assert.False(cache.TryGet(header, 7, token.Length, out _));

        var (_, revalidated) = Mint(TimeSpan.FromMinutes(10));
        cache.Add(header.AsSpan(7), revalidated, _issuer, _issuer.Current);

        // A recent hit left from before the change must neither answer nor hide the new entry.
        Assert.True(cache.TryGet(header, 7, token.Length, out var hit));
        Assert.Same(revalidated, hit);
        Assert.True(cache.TryGet(header, 7, token.Length, out hit));
        Assert.Same(revalidated, hit);
    }

    [Fact]
    public void TryGet_SameHeaderString_AfterExpiryPlusClockSkew_Misses()
    {
        var cache = Create(skew: TimeSpan.FromSeconds(30));
        var (token, caller) = Mint(TimeSpan.FromMinutes(2));
        Admit(cache, token, caller);
        var header = "Bearer " + token;
        Assert.True(cache.TryGet(header, 7, token.Length, out _));

        _time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet(header, 7, token.Length, out _));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(header, 7, token.Length, out _));
    }

    [Fact]
    public void TryGet_ManyHeaderStringsOfManyTokens_EachFindsItsOwnCaller()
    {
        // More strings than recent-hit slots, several tokens: slots are shared and overwritten, never mixed up.
        var cache = Create(size: 1000);
        var tokens = Enumerable.Range(0, 8).Select(_ => Mint(TimeSpan.FromMinutes(10))).ToArray();
        foreach (var (token, caller) in tokens)
        {
            Admit(cache, token, caller);
        }

        var headers = Enumerable.Range(0, ValidatedTokenCache.RecentHitSlots * 2)
            .Select(i => (Header: "Bearer " + tokens[i % tokens.Length].Token, Expected: tokens[i % tokens.Length].Caller))
            .ToArray();
        for (var round = 0; round < 3; round++)
        {
            foreach (var (header, expected) in headers)
            {
                Assert.True(cache.TryGet(header, 7, header.Length - 7, out var hit));
                Assert.Same(expected, hit);
            }
        }
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
                Admit(cache, token, caller);
            }
        }))).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(50, cache.Count);
        Assert.Equal(50, tokens.Count(t => cache.TryGet(t.Token, out _)));
    }

    [Fact]
    public void Add_FirstValidation_OnlyRecordsTheToken_SecondAdmitsIt()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));

        cache.Add(token, caller, _issuer, _issuer.Current);
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGet(token, out _));

        cache.Add(token, caller, _issuer, _issuer.Current);
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(token, out _));
    }

    [Fact]
    public void Add_SliceOfTheHeader_AdmitsExactlyTheToken()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        var header = "Bearer " + token;
        var slice = header.AsSpan(7);

        cache.Add(slice, caller, _issuer, _issuer.Current);
        cache.Add(slice, caller, _issuer, _issuer.Current);

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(token, out var hit));
        Assert.Same(caller, hit);
        Assert.False(cache.TryGet(header, out _));
    }

    [Fact]
    public async Task Add_RevalidatedAfterAKeyChange_ReplacesTheEntryInPlace()
    {
        var cache = Create();
        var (token, caller) = Mint(TimeSpan.FromMinutes(10));
        Admit(cache, token, caller);
        var (_, newer) = Mint(TimeSpan.FromMinutes(10));
        await RotateAsync();

        cache.Add(("Bearer " + token).AsSpan(7), newer, _issuer, _issuer.Current);

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(token, out var hit));
        Assert.Same(newer, hit);
    }

    [Fact]
    public void Add_ManyOneShotTokens_NeverFillTheCache()
    {
        var cache = Create(size: 10_000);
        for (var i = 0; i < 500; i++)
        {
            var (token, caller) = Mint(TimeSpan.FromMinutes(10));
            cache.Add(token, caller, _issuer, _issuer.Current);
        }

        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Add_TokenExpiringAtTheLastRepresentableSecond_IsCachedWithoutOverflow()
    {
        var cache = Create(skew: TimeSpan.FromSeconds(30));
        var (token, caller) = Mint(DateTimeOffset.MaxValue.AddTicks(-(DateTimeOffset.MaxValue.Ticks % TimeSpan.TicksPerSecond)) - Start);

        Admit(cache, token, caller);

        Assert.True(cache.TryGet(token, out _));
    }

    /// <summary>Validated twice against the issuer's current keys: the cache admits a token on its second validation.</summary>
    private void Admit(ValidatedTokenCache cache, string token, JwtCaller caller)
    {
        var set = _issuer.Current;
        cache.Add(token, caller, _issuer, set);
        cache.Add(token, caller, _issuer, set);
    }

    /// <summary>Replaces the issuer's key set (a refresh), which every cached entry validated before no longer matches.</summary>
    private async Task RotateAsync()
    {
        var before = _issuer.Current;
        var after = await _issuer.RefreshAsync(RefreshTrigger.Scheduled).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotSame(before, after);
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
        var caller = GrpcJwtAuth.Tests.Claims.TestCallers.Create(token, _time);
        return (token, caller);
    }
}
