using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
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
/// <para>
/// Recent hits: Kestrel gives a request the same string instance as the previous request on the stream slot when a
/// known header such as <c>authorization</c> arrives with the same bytes, so a client that keeps sending one token
/// brings the same few header strings again and again. A small table keyed by the identity of that string (never its
/// content) remembers which entry the token in it found, and a lookup by the same string skips hashing and comparing
/// the token. The entry found there is checked exactly as one found in the dictionary.
/// </para>
/// </summary>
internal sealed class ValidatedTokenCache
{
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromSeconds(1);

    /// <summary>Slots of the recent-hit table: a few per connection of a busy server; a slot holds one string and one entry.</summary>
    internal const int RecentHitSlots = 256;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(TokenComparer.Instance);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly TimeProvider _timeProvider;
    private readonly int _capacity;
    private readonly TimeSpan _maxEntryLifetime;
    private readonly int[] _doorkeeper;
    private readonly RecentHit?[] _recent;
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
        _recent = _capacity > 0 ? new RecentHit?[RecentHitSlots] : [];
    }

    public bool Enabled => _capacity > 0;

    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The caller of <paramref name="token"/> if it is still valid and its issuer still holds the key set it was
    /// validated against.
    /// </summary>
    public bool TryGet(ReadOnlySpan<char> token, out JwtCaller caller)
    {
        if (_capacity > 0 && _lookup.TryGetValue(token, out var entry) && IsUsable(entry, _timeProvider.GetUtcNow().UtcTicks))
        {
            caller = entry.Caller;
            return true;
        }

        caller = null!;
        return false;
    }

    /// <summary>
    /// The same lookup for the token at <paramref name="start"/> (<paramref name="length"/> characters) of
    /// <paramref name="source"/>, the request's header string: first in the recent hits of that very string instance,
    /// then in the dictionary.
    /// </summary>
    public bool TryGet(string source, int start, int length, out JwtCaller caller)
    {
        if (_capacity <= 0)
        {
            caller = null!;
            return false;
        }

        var now = _timeProvider.GetUtcNow().UtcTicks;
        ref var slot = ref _recent[RuntimeHelpers.GetHashCode(source) & (RecentHitSlots - 1)];
        var recent = Volatile.Read(ref slot);
        if (recent is not null && ReferenceEquals(recent.Source, source) && recent.Start == start && recent.Length == length
            && IsUsable(recent.Entry, now))
        {
            caller = recent.Entry.Caller;
            return true;
        }

        if (_lookup.TryGetValue(source.AsSpan(start, length), out var entry) && IsUsable(entry, now))
        {
            // Rewritten only when the slot holds another entry: strings that are new on every request (no header reuse)
            // then leave a slot as it is instead of allocating on every call.
            if (recent is null || !ReferenceEquals(recent.Entry, entry))
            {
                Volatile.Write(ref slot, new RecentHit(source, start, length, entry));
            }

            caller = entry.Caller;
            return true;
        }

        caller = null!;
        return false;
    }

    /// <summary>Whether an entry may answer now: its token not expired, and its issuer still holding the key set it was validated against.</summary>
    private static bool IsUsable(Entry entry, long nowTicks) =>
        ReferenceEquals(entry.Issuer.Current, entry.KeySet) && nowTicks < entry.ValidUntilTicks;

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

    /// <summary>An entry found for the token at <see cref="Start"/> of the string instance <see cref="Source"/>.</summary>
    private sealed record RecentHit(string Source, int Start, int Length, Entry Entry);
}
