using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Client;

/// <summary>
/// A bearer token and when it expires. <see cref="ToString"/> never prints the token, so logging this object is safe.
/// </summary>
public sealed class AccessToken
{
    /// <summary>Creates a token that expires at <paramref name="expiresAt"/>.</summary>
    public AccessToken(string value, DateTimeOffset expiresAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Value = value;
        ExpiresAt = expiresAt;
    }

    /// <summary>The token, as sent after <c>Bearer </c>.</summary>
    public string Value { get; }

    /// <summary>When the token stops being valid; <see cref="DateTimeOffset.MaxValue"/> when unknown.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>
    /// A token whose expiry is read from its <c>exp</c> claim when it is a JWT; otherwise
    /// <paramref name="fallbackExpiresAt"/>, or <see cref="DateTimeOffset.MaxValue"/> when none is given.
    /// </summary>
    public static AccessToken FromJwt(string value, DateTimeOffset? fallbackExpiresAt = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        return new AccessToken(value, TryReadExpiry(value) ?? fallbackExpiresAt ?? DateTimeOffset.MaxValue);
    }

    /// <summary>Reads <c>exp</c> without validating anything; <see langword="null"/> when it cannot.</summary>
    internal static DateTimeOffset? TryReadExpiry(string value) => TryReadTime(value, JwtRegisteredClaimNames.Exp);

    /// <summary>Reads <c>nbf</c> without validating anything; <see langword="null"/> when it cannot.</summary>
    internal static DateTimeOffset? TryReadNotBefore(string value) => TryReadTime(value, JwtRegisteredClaimNames.Nbf);

    /// <summary>Reads <c>iat</c> without validating anything; <see langword="null"/> when it cannot.</summary>
    internal static DateTimeOffset? TryReadIssuedAt(string value) => TryReadTime(value, JwtRegisteredClaimNames.Iat);

    private static DateTimeOffset? TryReadTime(string value, string claim)
    {
        try
        {
            var token = new JsonWebToken(value);
            return token.TryGetPayloadValue<long>(claim, out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception)
        {
            // Not a JWT (an opaque token), or a time out of range: the caller's fallback applies.
            return null;
        }
    }

    /// <summary>Describes the token without revealing it.</summary>
    public override string ToString() => $"AccessToken (expires {ExpiresAt:O})";
}
