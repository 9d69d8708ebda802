using System.Security.Claims;

namespace GrpcJwtAuth;

/// <summary>
/// The authenticated caller of a gRPC call: the validated token's principal, roles and scopes. Immutable; the raw
/// token is deliberately not kept here so that it cannot end up in a log by accident.
/// </summary>
public sealed class JwtCaller
{
    internal JwtCaller(
        ClaimsIdentity identity,
        string? subject,
        string? issuer,
        string? keyId,
        string? tokenId,
        string[] roles,
        string[] scopes,
        DateTimeOffset expiresAt)
    {
        Principal = new JwtCallerPrincipal(identity, this);
        Subject = subject;
        Issuer = issuer;
        KeyId = keyId;
        TokenId = tokenId;
        RoleArray = roles;
        ScopeArray = scopes;
        ExpiresAt = expiresAt;
    }

    /// <summary>The principal, also set as <c>HttpContext.User</c>. <c>IsInRole</c> works with the mapped roles.</summary>
    public ClaimsPrincipal Principal { get; }

    /// <summary>The <c>sub</c> claim, if any.</summary>
    public string? Subject { get; }

    /// <summary>The <c>iss</c> claim.</summary>
    public string? Issuer { get; }

    /// <summary>The <c>kid</c> of the key that signed the token, if the token named one.</summary>
    public string? KeyId { get; }

    /// <summary>The <c>jti</c> claim, if any.</summary>
    public string? TokenId { get; }

    /// <summary>The roles mapped from the configured role claim types, without duplicates.</summary>
    public IReadOnlyList<string> Roles => RoleArray;

    /// <summary>The scopes mapped from the configured scope claim types, without duplicates.</summary>
    public IReadOnlyList<string> Scopes => ScopeArray;

    /// <summary>When the token expires (its <c>exp</c> claim; clock skew not included).</summary>
    public DateTimeOffset ExpiresAt { get; }

    internal string[] RoleArray { get; }

    internal string[] ScopeArray { get; }

    /// <summary>Whether the caller has <paramref name="role"/> (ordinal comparison).</summary>
    public bool IsInRole(string role) => Array.IndexOf(RoleArray, role) >= 0;

    /// <summary>Whether the caller has <paramref name="scope"/> (ordinal comparison).</summary>
    public bool HasScope(string scope) => Array.IndexOf(ScopeArray, scope) >= 0;
}

/// <summary>The principal of a <see cref="JwtCaller"/>, pointing back at it, so no per-call feature is needed.</summary>
internal sealed class JwtCallerPrincipal(ClaimsIdentity identity, JwtCaller caller) : ClaimsPrincipal(identity)
{
    public JwtCaller Caller { get; } = caller;
}
