using Microsoft.AspNetCore.Authorization;

namespace GrpcJwtAuth.Authorization;

/// <summary>
/// Requires every one of <see cref="Scopes"/> among the caller's scopes: those GrpcJwtAuth mapped from the token's
/// scope claims (<c>scope</c>, <c>scp</c> by default; space-separated strings or arrays). A caller GrpcJwtAuth did not
/// authenticate has no scopes. Handles itself, like ASP.NET Core's <see cref="Microsoft.AspNetCore.Authorization.Infrastructure.RolesAuthorizationRequirement"/>.
/// </summary>
public sealed class ScopeAuthorizationRequirement : AuthorizationHandler<ScopeAuthorizationRequirement>, IAuthorizationRequirement
{
    /// <summary>Creates a requirement for every one of <paramref name="scopes"/>.</summary>
    public ScopeAuthorizationRequirement(IEnumerable<string> scopes)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        ScopeArray = scopes.Distinct(StringComparer.Ordinal).ToArray();
        if (ScopeArray.Length == 0 || Array.Exists(ScopeArray, string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("At least one scope is required, and none may be empty.", nameof(scopes));
        }
    }

    /// <summary>The scopes the caller needs, every one of them.</summary>
    public IReadOnlyList<string> Scopes => ScopeArray;

    internal string[] ScopeArray { get; }

    /// <summary>Whether the caller of <paramref name="user"/> has every scope.</summary>
    internal bool IsMet(System.Security.Claims.ClaimsPrincipal user) =>
        Authentication.JwtCallPrincipal.CallerOf(user) is { } caller && IsMet(caller);

    /// <summary>Whether <paramref name="caller"/> was granted every one of the scopes.</summary>
    internal bool IsMet(JwtCaller caller)
    {
        foreach (var scope in ScopeArray)
        {
            if (!caller.HasScope(scope))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeAuthorizationRequirement requirement)
    {
        if (requirement.IsMet(context.User))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"{nameof(ScopeAuthorizationRequirement)}: the caller needs every one of the scopes ({string.Join("|", ScopeArray)})";
}
