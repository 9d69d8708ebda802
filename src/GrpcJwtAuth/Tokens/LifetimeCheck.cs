using GrpcJwtAuth.Server;
using GrpcJwtAuth.Shared;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tokens;

/// <summary>
/// <c>exp</c>/<c>nbf</c>/<c>iat</c> checks on the injected <see cref="TimeProvider"/> (IdentityModel's own read the wall
/// clock). <see cref="Check"/> runs before any signature work and returns the reason; <see cref="Validate"/> is
/// IdentityModel's lifetime validator after it, and throws IdentityModel's exception types so each failure keeps its own
/// reason.
/// </summary>
/// <remarks>
/// One reason per token, the first of: no <c>exp</c>; <c>nbf</c> after <c>exp</c>; <c>nbf</c> ahead of now + skew;
/// <c>iat</c> ahead of now + skew; <c>exp</c> before now − skew. The token's own contradictions come first, since no
/// clock fixes them. <c>nbf</c> comes before <c>iat</c>: issuers set them together, so a clock ahead usually moves both,
/// and the <c>nbf</c> detail also says when the token becomes usable. <c>iat</c> comes before expiry: a token both
/// issued in the future and expired has its <c>exp</c> before its <c>iat</c>, so a fresh token (what "expired"
/// suggests) would not help; the clocks are what to look at. <c>iat</c> is optional: a token without one passes.
/// </remarks>
internal sealed class LifetimeCheck(TimeProvider timeProvider, TimeSpan clockSkew)
{
    /// <summary>The reason a token with these times (seconds since 1970, as the pre-check read them) is not valid now.</summary>
    public AuthFailure Check(long? notBefore, long? expires, long? issuedAt) =>
        CheckTimes(ToDateTime(notBefore), ToDateTime(expires), ToDateTime(issuedAt));

    /// <summary>
    /// IdentityModel's lifetime validator, which is handed no <c>iat</c>: that one is checked by <see cref="Check"/> alone,
    /// which runs before it on every validation (and IdentityModel has no exception type for it).
    /// </summary>
    public bool Validate(DateTime? notBefore, DateTime? expires, SecurityToken? token, TokenValidationParameters parameters) =>
        CheckTimes(notBefore, expires, issuedAt: null) switch
        {
            AuthFailure.None => true,
            AuthFailure.NoExpiration => throw new SecurityTokenNoExpirationException("The token has no expiration time."),
            AuthFailure.InvalidLifetime => throw new SecurityTokenInvalidLifetimeException("The token's nbf is after its exp.")
            {
                NotBefore = notBefore,
                Expires = expires,
            },
            AuthFailure.TokenNotYetValid => throw new SecurityTokenNotYetValidException("The token is not yet valid.") { NotBefore = notBefore!.Value },
            _ => throw new SecurityTokenExpiredException("The token has expired.") { Expires = expires!.Value },
        };

    private AuthFailure CheckTimes(DateTime? notBefore, DateTime? expires, DateTime? issuedAt)
    {
        if (expires is null)
        {
            return AuthFailure.NoExpiration;
        }

        if (notBefore is { } nbf && nbf > expires.Value)
        {
            return AuthFailure.InvalidLifetime;
        }

        var now = timeProvider.GetUtcNow().UtcDateTime;
        var latest = SaturatingTime.Add(now, clockSkew);
        if (notBefore is { } start && start > latest)
        {
            return AuthFailure.TokenNotYetValid;
        }

        if (issuedAt is { } iat && iat > latest)
        {
            return AuthFailure.TokenIssuedInFuture;
        }

        return expires.Value < SaturatingTime.Add(now, -clockSkew) ? AuthFailure.TokenExpired : AuthFailure.None;
    }

    /// <summary>
    /// The status detail for a time failure <see cref="Check"/> returned: by how much, in which direction, by the
    /// server's clock, and the skew allowed. Only the times come from the token. <see langword="null"/> for other
    /// failures (their detail is the fixed one).
    /// </summary>
    public string? Explain(AuthFailure failure, long? notBefore, long? expires, long? issuedAt)
    {
        var now = timeProvider.GetUtcNow();
        return failure switch
        {
            AuthFailure.TokenExpired when expires is { } exp =>
                $"token expired {HumanDuration.Format(now - DateTimeOffset.FromUnixTimeSeconds(exp))} ago by the server's clock (allowed skew {HumanDuration.Format(clockSkew)})",
            AuthFailure.TokenNotYetValid when notBefore is { } nbf =>
                $"token not valid for another {HumanDuration.Format(DateTimeOffset.FromUnixTimeSeconds(nbf) - now)}: its nbf is ahead of the server's clock " +
                $"(allowed skew {HumanDuration.Format(clockSkew)}); check clock synchronisation",
            AuthFailure.TokenIssuedInFuture when issuedAt is { } iat =>
                $"token not valid: its iat is {HumanDuration.Format(DateTimeOffset.FromUnixTimeSeconds(iat) - now)} in the future by the server's clock " +
                $"(allowed skew {HumanDuration.Format(clockSkew)}); check clock synchronisation",
            _ => null,
        };
    }

    private static DateTime? ToDateTime(long? seconds) =>
        seconds is { } value ? DateTimeOffset.FromUnixTimeSeconds(value).UtcDateTime : null;
}
