using System.Security.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Claims;

/// <summary>
/// Builds the <see cref="JwtCaller"/> of a validated token: every claim as sent, plus one
/// <see cref="ClaimTypes.Role"/> claim per mapped role so that <c>IsInRole</c> works whichever claim type carried it.
/// </summary>
internal static class CallerFactory
{
    /// <summary>The caller of a validated token of <paramref name="issuer"/>, with that issuer's role and scope claim types.</summary>
    public static JwtCaller Create(JsonWebToken token, IssuerDefinition issuer)
    {
        var roleClaimTypes = issuer.Profile.RoleClaimTypes;
        var scopeClaimTypes = issuer.Profile.ScopeClaimTypes;
        var tenant = issuer.TenantOf(token.Issuer);
        var claims = new List<Claim>(capacity: 16);
        List<string>? roles = null;
        List<string>? scopes = null;

        foreach (var claim in token.Claims)
        {
            if (Array.IndexOf(roleClaimTypes, claim.Type) >= 0)
            {
                AddValues(ref roles, claim);
            }
            else if (Array.IndexOf(scopeClaimTypes, claim.Type) >= 0)
            {
                AddValues(ref scopes, claim);
            }

            // A raw claim of the role type must not grant roles unless it is one of the configured role types, and the
            // tenant claim is the one routing found, never one the token carries.
            if (claim.Type is ClaimTypes.Role or GrpcJwtAuthDefaults.TenantClaimType)
            {
                continue;
            }

            claims.Add(claim);
        }

        var roleArray = roles?.ToArray() ?? [];
        var iss = token.Issuer;
        foreach (var role in roleArray)
        {
            claims.Add(new Claim(ClaimTypes.Role, role, ClaimValueTypes.String, iss));
        }

        if (tenant is not null)
        {
            claims.Add(new Claim(GrpcJwtAuthDefaults.TenantClaimType, tenant, ClaimValueTypes.String, iss));
        }

        var expiresAt = new DateTimeOffset(DateTime.SpecifyKind(token.ValidTo, DateTimeKind.Utc));

        return new JwtCaller(
            claims,
            NullIfEmpty(token.Subject),
            NullIfEmpty(iss),
            NullIfEmpty(token.Kid),
            NullIfEmpty(token.Id),
            roleArray,
            scopes?.ToArray() ?? [],
            expiresAt,
            issuer.Name,
            tenant,
            SaturatingTime.Add(expiresAt, issuer.Profile.ClockSkew));
    }

    /// <summary>
    /// Adds a claim's values: JSON arrays already arrive as one claim per element; a string may hold several values
    /// separated by spaces. Values that are not strings (numbers, objects) are ignored.
    /// </summary>
    private static void AddValues(ref List<string>? values, Claim claim)
    {
        if (claim.ValueType != ClaimValueTypes.String)
        {
            return;
        }

        var value = claim.Value.AsSpan();
        foreach (var range in value.SplitAny(' ', '\t'))
        {
            var part = value[range];
            if (part.IsEmpty)
            {
                continue;
            }

            values ??= [];
            var text = part.Length == value.Length ? claim.Value : part.ToString();
            if (!values.Contains(text, StringComparer.Ordinal))
            {
                values.Add(text);
            }
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
