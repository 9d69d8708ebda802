using GrpcJwtAuth.Authorization;

namespace Microsoft.AspNetCore.Authorization;

/// <summary>GrpcJwtAuth's requirements for ASP.NET Core authorization policies.</summary>
public static class GrpcJwtAuthAuthorizationPolicyBuilderExtensions
{
    /// <summary>
    /// Requires every one of <paramref name="scopes"/> among the scopes GrpcJwtAuth mapped from the caller's token
    /// (see <see cref="ScopeAuthorizationRequirement"/>).
    /// </summary>
    public static AuthorizationPolicyBuilder RequireScope(this AuthorizationPolicyBuilder builder, params string[] scopes)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddRequirements(new ScopeAuthorizationRequirement(scopes));
    }

    /// <summary>
    /// Requires the caller's token to come from one of the trusted issuers named <paramref name="issuerNames"/>
    /// (<c>default</c>, or names of <c>GrpcJwtAuthOptions.TrustedIssuers</c>; see <see cref="IssuerAuthorizationRequirement"/>).
    /// </summary>
    public static AuthorizationPolicyBuilder RequireIssuer(this AuthorizationPolicyBuilder builder, params string[] issuerNames)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddRequirements(new IssuerAuthorizationRequirement(issuerNames));
    }
}
