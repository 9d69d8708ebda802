using System.Collections.Concurrent;
using System.Numerics;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Keys;

namespace GrpcJwtAuth.Tokens;

/// <summary>
/// Callers of tokens that passed validation, keyed on the whole token (ordinal), so a repeated token costs a
/// dictionary lookup instead of a signature check. Looked up by span: a hit allocates nothing. Only valid tokens are
/// added, so forged tokens cannot fill it. An entry is used only while its token is valid (<c>exp</c> + clock skew),
/// for at most <see cref="CompiledAuthOptions.TokenCacheMaxEntryLifetime"/>, and only with the key set it was
/// validated against: when keys change, every entry is validated again. Bounded by
/// <see cref="CompiledAuthOptions.TokenCacheSize"/>: when full, expired and stale entries are purged (at most once per
/// second) and new tokens are not cached until there is room.
/// <para>
/// Admission: a token is cached the second time it is validated, not the first. A small table of token hashes (the
/// "doorkeeper") remembers first sightings, so workloads where every call brings a new token (many clients, one call
/// each) do not fill the cache with entries that are never hit again, and pay no GC cost for them; a token reused for
/// minutes pays one extra validation.
/// </para>
/// </summary>
internal sealed class ValidatedTokenCache
{
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(TokenComparer.Instance);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly TimeProvider _timeProvider;
    private readonly int _capacity;
    private readonly TimeSpan _maxEntryLifetime;
    private readonly int[] _doorkeeper;
    private int _count;
    private long _lastPurge;
    private int _purging;

    public ValidatedTokenCache(CompiledAuthOptions options, TimeProvider timeProvider)
    {
        _lookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
        _timeProvider = timeProvider;
        _capacity = options.TokenCacheSize;
        _maxEntryLifetime = options.TokenCacheMaxEntryLifetime;
        _lastPurge = timeProvider.GetTimestamp();
        _doorkeeper = _capacity > 0 ? new int[(int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(_capacity, 1024, 65_536))] : [];
    }

    public bool Enabled => _capacity > 0;

    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The caller of <paramref name="token"/> if it is still valid and its issuer still holds the key set it was
    /// validated against.
    /// </summary>
    public bool TryGet(ReadOnlySpan<char> token, out JwtCaller caller)
    {
        if (_capacity > 0 && _lookup.TryGetValue(token, out var entry)
            && ReferenceEquals(entry.Issuer.Current, entry.KeySet)
            && _timeProvider.GetUtcNow().UtcTicks < entry.ValidUntilTicks)
        {
            caller = entry.Caller;
            return true;
        }

        caller = null!;
        return false;
    }

    /// <summary>
    /// Remembers a caller whose token was just validated against <paramref name="keySet"/> of <paramref name="issuer"/>.
    /// The token is copied into a string only when it is admitted.
    /// </summary>
    public void Add(ReadOnlySpan<char> token, JwtCaller caller, SigningKeyManager issuer, SigningKeySet keySet)
    {
        if (_capacity <= 0)
        {
            return;
        }

        var now = _timeProvider.GetUtcNow();
        var validUntil = caller.AcceptedUntil;
        var cap = SaturatingTime.Add(now, _maxEntryLifetime);
        var entry = new Entry(caller, issuer, keySet, (validUntil < cap ? validUntil : cap).UtcTicks);

        if (_lookup.TryGetValue(token, out _))
        {
            // Revalidated after a key change or expiry of its entry: replace in place.
            _lookup[token] = entry;
            return;
        }

        if (!SeenBefore(token))
        {
            return;
        }

        if (Interlocked.Increment(ref _count) > _capacity)
        {
            Interlocked.Decrement(ref _count);
            Purge(now);
            return;
        }

        if (!_lookup.TryAdd(token, entry))
        {
            Interlocked.Decrement(ref _count);
            _lookup[token] = entry;
        }
    }

    /// <summary>
    /// Whether this token was validated before (as far as a lossy table of hashes can tell); records it if not.
    /// A collision may admit a token early, which costs only memory, never correctness.
    /// </summary>
    private bool SeenBefore(ReadOnlySpan<char> token)
    {
        var hash = TokenComparer.Instance.GetHashCode(token) | 1;
        ref var slot = ref _doorkeeper[hash & (_doorkeeper.Length - 1)];
        if (Volatile.Read(ref slot) == hash)
        {
            return true;
        }

        Volatile.Write(ref slot, hash);
        return false;
    }

    /// <summary>Drops entries that expired or belong to a replaced key set; at most once per second, one purge at a time.</summary>
    internal void Purge(DateTimeOffset now)
    {
        if (_timeProvider.GetElapsedTime(Volatile.Read(ref _lastPurge)) < PurgeInterval
            || Interlocked.CompareExchange(ref _purging, 1, 0) != 0)
        {
            return;
        }

        try
        {
            var nowTicks = now.UtcTicks;
            foreach (var (token, entry) in _entries)
            {
                if ((entry.ValidUntilTicks <= nowTicks || !ReferenceEquals(entry.Issuer.Current, entry.KeySet))
                    && _entries.TryRemove(new KeyValuePair<string, Entry>(token, entry)))
                {
                    Interlocked.Decrement(ref _count);
                }
            }

            Volatile.Write(ref _lastPurge, _timeProvider.GetTimestamp());
        }
        finally
        {
            Volatile.Write(ref _purging, 0);
        }
    }

    /// <summary>
    /// Ordinal equality of whole tokens, hashed on their last <see cref="HashedChars"/> characters: the end of a
    /// signature, which no two tokens share unless they are the same token, instead of the whole token (hundreds of
    /// characters, hashed on every call). The hash is the runtime's randomized string hash, so a sender cannot aim
    /// lookups at one bucket; and only validated tokens are ever added.
    /// </summary>
    internal sealed class TokenComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
    {
        public const int HashedChars = 32;

        public static readonly TokenComparer Instance = new();

        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string token) => GetHashCode(token.AsSpan());

        public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<char> alternate) =>
            string.GetHashCode(alternate.Length > HashedChars ? alternate[^HashedChars..] : alternate);

        public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();
    }

    private sealed record Entry(JwtCaller Caller, SigningKeyManager Issuer, SigningKeySet KeySet, long ValidUntilTicks);
}
