using System.Collections.Frozen;
using GrpcJwtAuth.Configuration;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Keys;

/// <summary>How a token's <c>kid</c> and <c>alg</c> meet a key set.</summary>
internal enum KeyMatch
{
    /// <summary>Keys to check the signature with were found.</summary>
    Found,

    /// <summary>The token names a <c>kid</c> the set does not hold: a refresh may bring it.</summary>
    UnknownKeyId,

    /// <summary>The set holds the token's <c>kid</c> (or, for a token without one, keys), but none may verify its <c>alg</c>.</summary>
    AlgorithmNotAllowed,

    /// <summary>The set holds no key at all.</summary>
    Empty,
}

/// <summary>
/// An immutable snapshot of one issuer's keys, with the validation parameters compiled for them. Swapped atomically
/// when keys change, so the request path reads one reference and never locks. Keys are looked up by <c>kid</c> and
/// <c>alg</c> in tables built here, so a token is only ever checked against keys of its issuer that may verify its
/// algorithm.
/// </summary>
internal sealed class SigningKeySet
{
    private readonly Dictionary<(string KeyId, string Algorithm), SecurityKey[]> _byKeyId = [];
    private readonly Dictionary<string, SecurityKey[]> _withoutKeyId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SecurityKey[]> _byAlgorithm = new(StringComparer.Ordinal);

    public SigningKeySet(long version, IReadOnlyList<SigningKey> keys, IssuerDefinition issuer, string? discoveredIssuer, DateTimeOffset? refreshedAt)
    {
        Version = version;
        Keys = keys;
        DiscoveredIssuer = discoveredIssuer;
        RefreshedAt = refreshedAt;

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var byKeyId = new Dictionary<(string, string), List<SecurityKey>>();
        var withoutKeyId = new Dictionary<string, List<SecurityKey>>(StringComparer.Ordinal);
        var byAlgorithm = new Dictionary<string, List<SecurityKey>>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var keyId = key.KeyId;
            if (keyId is not null)
            {
                ids.Add(keyId);
            }

            foreach (var algorithm in key.Algorithms)
            {
                if (Array.IndexOf(issuer.Algorithms, algorithm) < 0)
                {
                    continue;
                }

                Add(byAlgorithm, algorithm, key.Key);
                if (keyId is null)
                {
                    Add(withoutKeyId, algorithm, key.Key);
                }
                else
                {
                    Add(byKeyId, (keyId, algorithm), key.Key);
                }
            }
        }

        KeyIds = ids.ToFrozenSet(StringComparer.Ordinal);
        foreach (var (k, v) in byKeyId)
        {
            _byKeyId[k] = [.. v];
        }

        foreach (var (k, v) in withoutKeyId)
        {
            _withoutKeyId[k] = [.. v];
        }

        foreach (var (k, v) in byAlgorithm)
        {
            _byAlgorithm[k] = [.. v];
        }

        Parameters = issuer.ParametersFor(this);
    }

    /// <summary>Grows by one each time the issuer's set changes.</summary>
    public long Version { get; }

    public IReadOnlyList<SigningKey> Keys { get; }

    public FrozenSet<string> KeyIds { get; }

    /// <summary>The <c>issuer</c> the discovery document named, when keys came from one.</summary>
    public string? DiscoveredIssuer { get; }

    /// <summary>For <see cref="Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler"/>, once the signature is checked.</summary>
    public TokenValidationParameters Parameters { get; }

    /// <summary>When the remote part of this set was fetched; <see langword="null"/> for static keys only.</summary>
    public DateTimeOffset? RefreshedAt { get; }

    public bool IsEmpty => Keys.Count == 0;

    /// <summary>
    /// The keys a token with <paramref name="keyId"/> and <paramref name="algorithm"/> is checked against: those with its
    /// <c>kid</c> that may verify its <c>alg</c>; for a <c>kid</c> the set does not hold, the keys without a <c>kid</c>
    /// (tried for any token); for a token without a <c>kid</c>, every key that may verify its <c>alg</c>.
    /// </summary>
    public KeyMatch Find(string? keyId, string algorithm, out SecurityKey[] keys)
    {
        if (IsEmpty)
        {
            keys = [];
            return KeyMatch.Empty;
        }

        if (string.IsNullOrEmpty(keyId))
        {
            keys = _byAlgorithm.GetValueOrDefault(algorithm, []);
            return keys.Length > 0 ? KeyMatch.Found : KeyMatch.AlgorithmNotAllowed;
        }

        if (!KeyIds.Contains(keyId))
        {
            keys = _withoutKeyId.GetValueOrDefault(algorithm, []);
            return KeyMatch.UnknownKeyId;
        }

        keys = _byKeyId.GetValueOrDefault((keyId, algorithm), []);
        return keys.Length > 0 ? KeyMatch.Found : KeyMatch.AlgorithmNotAllowed;
    }

    private static void Add<TKey>(Dictionary<TKey, List<SecurityKey>> table, TKey key, SecurityKey value)
        where TKey : notnull
    {
        if (!table.TryGetValue(key, out var list))
        {
            table[key] = list = [];
        }

        list.Add(value);
    }
}
