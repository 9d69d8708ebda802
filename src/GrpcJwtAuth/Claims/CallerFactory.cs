using System.Security.Claims;
using GrpcJwtAuth.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Claims;

/// <summary>
/// Builds the <see cref="JwtCaller"/> of a validated token: every claim as sent, plus one
/// <see cref="ClaimTypes.Role"/> claim per mapped role so that <c>IsInRole</c> works whichever claim type carried it.
/// </summary>
internal sealed class CallerFactory(CompiledAuthOptions options)
{
    private readonly string[] _roleClaimTypes = options.RoleClaimTypes;
    private readonly string[] _scopeClaimTypes = options.ScopeClaimTypes;

    public JwtCaller Create(JsonWebToken token, string issuerName)
    {
        var claims = new List<Claim>(capacity: 16);
        List<string>? roles = null;
        List<string>? scopes = null;

        foreach (var claim in token.Claims)
        {
            if (Array.IndexOf(_roleClaimTypes, claim.Type) >= 0)
            {
                AddValues(ref roles, claim);
            }
            else if (Array.IndexOf(_scopeClaimTypes, claim.Type) >= 0)
            {
                AddValues(ref scopes, claim);
            }

            // A raw claim of the role type must not grant roles unless it is one of the configured role types.
            if (claim.Type == ClaimTypes.Role)
            {
                continue;
            }

            claims.Add(claim);
        }

        var roleArray = roles?.ToArray() ?? [];
        var issuer = token.Issuer;
        foreach (var role in roleArray)
        {
            claims.Add(new Claim(ClaimTypes.Role, role, ClaimValueTypes.String, issuer));
        }

        return new JwtCaller(
            claims,
            NullIfEmpty(token.Subject),
            NullIfEmpty(issuer),
            NullIfEmpty(token.Kid),
            NullIfEmpty(token.Id),
            roleArray,
            scopes?.ToArray() ?? [],
            new DateTimeOffset(DateTime.SpecifyKind(token.ValidTo, DateTimeKind.Utc)),
            issuerName);
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
