using System.Security.Claims;

namespace GrpcJwtAuth;

/// <summary>
/// The authenticated caller of a gRPC call: the validated token's claims, roles and scopes. Immutable and shared by
/// every call that brings the same token; the raw token is deliberately not kept here so that it cannot end up in a log
/// by accident. Each call's principal is <c>HttpContext.User</c>.
/// </summary>
public sealed class JwtCaller
{
    internal JwtCaller(
        IReadOnlyList<Claim> claims,
        string? subject,
        string? issuer,
        string? keyId,
        string? tokenId,
        string[] roles,
        string[] scopes,
        DateTimeOffset expiresAt,
        string issuerName,
        string? tenant = null,
        DateTimeOffset? acceptedUntil = null)
    {
        Claims = claims;
        Subject = subject;
        Issuer = issuer;
        KeyId = keyId;
        TokenId = tokenId;
        RoleArray = roles;
        ScopeArray = scopes;
        ExpiresAt = expiresAt;
        IssuerName = issuerName;
        Tenant = tenant;
        AcceptedUntil = acceptedUntil ?? expiresAt;
    }

    /// <summary>
    /// The token's claims as sent, plus one <see cref="ClaimTypes.Role"/> claim per mapped role. Shared by every call
    /// that brings the same token and never changed; each call's principal (<c>HttpContext.User</c>) starts from them
    /// and is that call's own to change.
    /// </summary>
    public IReadOnlyList<Claim> Claims { get; }

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

    /// <summary>
    /// The name of the trusted issuer that accepted the token: a name of <see cref="GrpcJwtAuthOptions.TrustedIssuers"/>,
    /// <c>default</c> for the top-level settings, or the <c>iss</c> of a top-level static key's own issuer.
    /// </summary>
    public string IssuerName { get; }

    /// <summary>The tenant a multi-tenant issuer's token belongs to (see <see cref="GrpcJwtAuthIssuerOptions.IssuerTemplate"/>); <see langword="null"/> otherwise.</summary>
    public string? Tenant { get; }

    /// <summary>Until when the token is accepted: its <c>exp</c> plus its issuer's clock skew.</summary>
    internal DateTimeOffset AcceptedUntil { get; }

    internal string[] RoleArray { get; }

    internal string[] ScopeArray { get; }

    /// <summary>Whether the caller has <paramref name="role"/> (ordinal comparison).</summary>
    public bool IsInRole(string role) => Array.IndexOf(RoleArray, role) >= 0;

    /// <summary>Whether the caller has <paramref name="scope"/> (ordinal comparison).</summary>
    public bool HasScope(string scope) => Array.IndexOf(ScopeArray, scope) >= 0;
}
