using System.Collections.Frozen;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Keys;

/// <summary>
/// An immutable snapshot of the keys in use, with the validation parameters compiled for them. Swapped atomically
/// when keys change, so the request path reads one reference and never locks.
/// </summary>
internal sealed class SigningKeySet
{
    public SigningKeySet(
        long version,
        IReadOnlyList<SecurityKey> keys,
        TokenValidationParameters parameters,
        DateTimeOffset? refreshedAt)
    {
        Version = version;
        Keys = keys;
        Parameters = parameters;
        RefreshedAt = refreshedAt;

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (string.IsNullOrEmpty(key.KeyId))
            {
                HasKeyWithoutId = true;
            }
            else
            {
                ids.Add(key.KeyId);
            }
        }

        KeyIds = ids.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Grows by one each time the set changes; cached results are tied to a version.</summary>
    public long Version { get; }

    public IReadOnlyList<SecurityKey> Keys { get; }

    public FrozenSet<string> KeyIds { get; }

    /// <summary>Whether some key has no <c>kid</c>; such keys are tried for any token.</summary>
    public bool HasKeyWithoutId { get; }

    public TokenValidationParameters Parameters { get; }

    /// <summary>When the remote part of this set was fetched; <see langword="null"/> for static keys only.</summary>
    public DateTimeOffset? RefreshedAt { get; }

    public bool IsEmpty => Keys.Count == 0;

    /// <summary>Whether a token with this <c>kid</c> (or none) has a key to be checked against.</summary>
    public bool CanValidate(string? keyId) =>
        !IsEmpty && (HasKeyWithoutId || string.IsNullOrEmpty(keyId) || KeyIds.Contains(keyId));
}
