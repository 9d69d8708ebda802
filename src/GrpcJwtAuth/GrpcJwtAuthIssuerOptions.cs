namespace GrpcJwtAuth;

/// <summary>
/// One named trust domain in <see cref="GrpcJwtAuthOptions.TrustedIssuers"/>: where its keys come from, which
/// <c>iss</c> values are its own, and what its tokens must satisfy. A token is routed to exactly one trusted issuer by
/// its <c>iss</c> before any key lookup, and validated with that issuer's keys and settings only. Bound from
/// <c>GrpcJwtAuth:TrustedIssuers:&lt;name&gt;</c>.
/// </summary>
/// <remarks>
/// Settings left unset here take the top-level value of <see cref="GrpcJwtAuthOptions"/>: an empty list
/// (<see cref="Audiences"/>, <see cref="ValidAlgorithms"/>, <see cref="RoleClaimTypes"/>, <see cref="ScopeClaimTypes"/>)
/// or a <see langword="null"/> value (<see cref="ClockSkew"/> and the key-fetching settings). Key sources
/// (<see cref="Authority"/>, <see cref="MetadataAddress"/>, <see cref="JwksUri"/>, <see cref="StaticKeys"/>) and the
/// accepted <c>iss</c> values are never inherited.
/// </remarks>
public sealed class GrpcJwtAuthIssuerOptions
{
    /// <summary>
    /// The placeholder for the tenant in <see cref="IssuerTemplate"/> and in a per-tenant <see cref="Authority"/>,
    /// <see cref="MetadataAddress"/> or <see cref="JwksUri"/>.
    /// </summary>
    public const string TenantPlaceholder = "{tenantid}";

    /// <summary>
    /// The identity provider's base address; its OpenID Connect discovery document (and the key set it names) is read
    /// from <c>{Authority}/.well-known/openid-configuration</c>, and the <c>issuer</c> it names is accepted. With an
    /// <see cref="IssuerTemplate"/> it may contain <see cref="TenantPlaceholder"/>: each listed tenant then has its own
    /// document and keys.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The full address of the discovery document, when it is not under <see cref="Authority"/>.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>The address of a JSON Web Key Set, for issuers without discovery.</summary>
    public string? JwksUri { get; set; }

    /// <summary>Keys configured in place (PEM or file, or an HMAC secret); they sign for this issuer only.</summary>
    public IList<GrpcJwtAuthStaticKey> StaticKeys { get; } = new List<GrpcJwtAuthStaticKey>();

    /// <summary>
    /// The exact <c>iss</c> values of this issuer's tokens. May be left empty with <see cref="Authority"/> (the
    /// discovery document names it) or with <see cref="IssuerTemplate"/>.
    /// </summary>
    public IList<string> Issuers { get; } = new List<string>();

    /// <summary>
    /// A multi-tenant issuer's <c>iss</c> with <see cref="TenantPlaceholder"/> where the tenant id goes, such as
    /// <c>https://login.microsoftonline.com/{tenantid}/v2.0</c>. A token's tenant must be in <see cref="Tenants"/> (or
    /// pass <see cref="TenantValidator"/>): any other tenant is rejected as "issuer not accepted", and nothing is
    /// fetched for it. The tenant becomes the caller's <see cref="JwtCaller.Tenant"/> and its
    /// <see cref="GrpcJwtAuthDefaults.TenantClaimType"/> claim.
    /// </summary>
    public string? IssuerTemplate { get; set; }

    /// <summary>The tenant ids <see cref="IssuerTemplate"/> accepts (compared exactly).</summary>
    public IList<string> Tenants { get; } = new List<string>();

    /// <summary>
    /// Decides in code whether a tenant id is accepted, for tenant lists that live elsewhere; consulted for tenants not
    /// in <see cref="Tenants"/>. Only with a key source shared by every tenant (one without <see cref="TenantPlaceholder"/>).
    /// Called on the request path with an id taken from an unvalidated token: keep it fast and free of I/O.
    /// </summary>
    public Func<string, bool>? TenantValidator { get; set; }

    /// <summary>The <c>aud</c> values this issuer's tokens may carry; empty takes <see cref="GrpcJwtAuthOptions.Audiences"/>.</summary>
    public IList<string> Audiences { get; } = new List<string>();

    /// <summary>The signing algorithms accepted from this issuer; empty takes <see cref="GrpcJwtAuthOptions.ValidAlgorithms"/>.</summary>
    public IList<string> ValidAlgorithms { get; } = new List<string>();

    /// <summary>Claims whose values are this issuer's roles; empty takes <see cref="GrpcJwtAuthOptions.RoleClaimTypes"/>.</summary>
    public IList<string> RoleClaimTypes { get; } = new List<string>();

    /// <summary>Claims whose values are this issuer's scopes; empty takes <see cref="GrpcJwtAuthOptions.ScopeClaimTypes"/>.</summary>
    public IList<string> ScopeClaimTypes { get; } = new List<string>();

    /// <summary>Tolerance for this issuer's <c>exp</c>/<c>nbf</c>/<c>iat</c>; unset takes <see cref="GrpcJwtAuthOptions.ClockSkew"/>.</summary>
    public TimeSpan? ClockSkew { get; set; }

    /// <summary>Unset takes <see cref="GrpcJwtAuthOptions.RequireHttpsMetadata"/>.</summary>
    public bool? RequireHttpsMetadata { get; set; }

    /// <summary>Unset takes <see cref="GrpcJwtAuthOptions.JwksAutomaticRefreshInterval"/>.</summary>
    public TimeSpan? JwksAutomaticRefreshInterval { get; set; }

    /// <summary>Unset takes <see cref="GrpcJwtAuthOptions.JwksMinimumRefreshInterval"/>.</summary>
    public TimeSpan? JwksMinimumRefreshInterval { get; set; }

    /// <summary>Unset takes <see cref="GrpcJwtAuthOptions.KeyFetchTimeout"/>.</summary>
    public TimeSpan? KeyFetchTimeout { get; set; }

    /// <summary>Unset takes <see cref="GrpcJwtAuthOptions.KeyRefreshWaitTimeout"/>.</summary>
    public TimeSpan? KeyRefreshWaitTimeout { get; set; }

    /// <summary>Unset takes <see cref="GrpcJwtAuthOptions.MaxKeyDocumentBytes"/>.</summary>
    public int? MaxKeyDocumentBytes { get; set; }
}
