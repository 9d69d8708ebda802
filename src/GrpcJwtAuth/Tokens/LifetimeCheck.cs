using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tokens;

/// <summary>
/// <c>exp</c>/<c>nbf</c> checks on the injected <see cref="TimeProvider"/> (IdentityModel's own read the wall clock).
/// Throws IdentityModel's exception types so each failure keeps its own reason.
/// </summary>
internal sealed class LifetimeCheck(TimeProvider timeProvider, TimeSpan clockSkew)
{
    public bool Validate(DateTime? notBefore, DateTime? expires, SecurityToken? token, TokenValidationParameters parameters)
    {
        if (expires is null)
        {
            throw new SecurityTokenNoExpirationException("The token has no expiration time.");
        }

        if (notBefore is { } nbf && nbf > expires.Value)
        {
            throw new SecurityTokenInvalidLifetimeException("The token's nbf is after its exp.")
            {
                NotBefore = nbf,
                Expires = expires,
            };
        }

        var now = timeProvider.GetUtcNow().UtcDateTime;
        if (notBefore is { } start && start > SaturatingTime.Add(now, clockSkew))
        {
            throw new SecurityTokenNotYetValidException("The token is not yet valid.") { NotBefore = start };
        }

        if (expires.Value < SaturatingTime.Add(now, -clockSkew))
        {
            throw new SecurityTokenExpiredException("The token has expired.") { Expires = expires.Value };
        }

        return true;
    }
}
