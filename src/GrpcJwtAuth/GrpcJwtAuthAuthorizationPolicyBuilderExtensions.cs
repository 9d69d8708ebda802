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
}
