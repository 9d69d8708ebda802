using System.Security.Claims;

namespace GrpcJwtAuth;

/// <summary>
/// The authenticated caller of a gRPC call: the validated token's principal, roles and scopes. Immutable; the raw
/// token is deliberately not kept here so that it cannot end up in a log by accident.
/// </summary>
public sealed class JwtCaller
{
    internal JwtCaller(
        JwtCallerIdentity identity,
        string? subject,
        string? issuer,
        string? keyId,
        string? tokenId,
        string[] roles,
        string[] scopes,
        DateTimeOffset expiresAt,
        string issuerName)
    {
        Principal = new JwtCallerPrincipal(identity, this);
        Subject = subject;
        Issuer = issuer;
        KeyId = keyId;
        TokenId = tokenId;
        RoleArray = roles;
        ScopeArray = scopes;
        ExpiresAt = expiresAt;
        IssuerName = issuerName;
    }

    /// <summary>
    /// The principal, also set as <c>HttpContext.User</c>. <c>IsInRole</c> works with the mapped roles. It is read-only:
    /// calls that bring the same token share it (the validated-token cache keeps it), so adding or removing claims or
    /// identities throws <see cref="InvalidOperationException"/>; <see cref="ClaimsPrincipal.Clone"/> gives a copy
    /// that can be changed.
    /// </summary>
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

    /// <summary>The name of the trusted issuer whose keys validated the token (see <see cref="Configuration.IssuerDefinition.Name"/>).</summary>
    internal string IssuerName { get; }

    internal string[] RoleArray { get; }

    internal string[] ScopeArray { get; }

    /// <summary>Whether the caller has <paramref name="role"/> (ordinal comparison).</summary>
    public bool IsInRole(string role) => Array.IndexOf(RoleArray, role) >= 0;

    /// <summary>Whether the caller has <paramref name="scope"/> (ordinal comparison).</summary>
    public bool HasScope(string scope) => Array.IndexOf(ScopeArray, scope) >= 0;
}

/// <summary>
/// The principal of a <see cref="JwtCaller"/>, pointing back at it, so no per-call feature is needed. Read-only,
/// because every call with the same token shares it: a handler that added an identity would otherwise hand it to the
/// next caller of that token.
/// </summary>
internal sealed class JwtCallerPrincipal(JwtCallerIdentity identity, JwtCaller caller) : ClaimsPrincipal(identity)
{
    public JwtCaller Caller { get; } = caller;

    public override void AddIdentity(ClaimsIdentity identity) => throw JwtCallerIdentity.ReadOnly();

    public override void AddIdentities(IEnumerable<ClaimsIdentity> identities) => throw JwtCallerIdentity.ReadOnly();

    /// <summary>A changeable copy: a plain <see cref="ClaimsPrincipal"/> over changeable copies of the identities.</summary>
    public override ClaimsPrincipal Clone()
    {
        var copies = new List<ClaimsIdentity>();
        foreach (var identity in Identities)
        {
            copies.Add(identity.Clone());
        }

        return new ClaimsPrincipal(copies);
    }
}

/// <summary>
/// The identity of a validated token: its claims as sent plus the mapped roles. Read-only for the same reason as
/// <see cref="JwtCallerPrincipal"/>; <see cref="Clone"/> returns a plain, changeable <see cref="ClaimsIdentity"/>.
/// </summary>
internal sealed class JwtCallerIdentity(IEnumerable<Claim> claims, string authenticationType, string nameType, string roleType)
    : ClaimsIdentity(claims, authenticationType, nameType, roleType)
{
    public override void AddClaim(Claim claim) => throw ReadOnly();

    public override void AddClaims(IEnumerable<Claim?> claims) => throw ReadOnly();

    public override void RemoveClaim(Claim? claim) => throw ReadOnly();

    /// <summary>Never removes anything: the identity is shared by every call with the same token.</summary>
    public override bool TryRemoveClaim(Claim? claim) => false;

    public override ClaimsIdentity Clone() => new(this);

    internal static InvalidOperationException ReadOnly() => new(
        "The principal of a validated JWT is shared by every call that brings the same token and cannot be changed. " +
        "Use HttpContext.User.Clone() and set the copy as HttpContext.User to change it for this call.");
}
