using Microsoft.AspNetCore.Authorization;

namespace GrpcJwtAuth.Authorization;

/// <summary>
/// Requires the caller's token to come from one of the named trusted issuers (<see cref="JwtCaller.IssuerName"/>:
/// <c>default</c> or a name of <see cref="GrpcJwtAuthOptions.TrustedIssuers"/>, compared ignoring case). Add it with
/// <c>AuthorizationPolicyBuilder.RequireIssuer(...)</c> or a rule's <see cref="GrpcJwtAuthRule.Issuers"/>. Also its own
/// handler, so it works wherever ASP.NET Core evaluates the policy; a caller authenticated by another scheme fails it.
/// </summary>
public sealed class IssuerAuthorizationRequirement : AuthorizationHandler<IssuerAuthorizationRequirement>, IAuthorizationRequirement
{
    /// <summary>Creates the requirement.</summary>
    /// <param name="issuerNames">The trusted issuers' names; at least one.</param>
    /// <exception cref="ArgumentException">No name, or an empty one.</exception>
    public IssuerAuthorizationRequirement(IEnumerable<string> issuerNames)
    {
        ArgumentNullException.ThrowIfNull(issuerNames);
        NameArray = issuerNames.Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        if (NameArray.Length == 0 || Array.Exists(NameArray, string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("At least one issuer name is required, and none may be empty.", nameof(issuerNames));
        }
    }

    /// <summary>The names of the issuers whose tokens pass.</summary>
    public IReadOnlyList<string> IssuerNames => NameArray;

    internal string[] NameArray { get; }

    /// <summary>Whether the caller of <paramref name="user"/> was authenticated by one of the issuers.</summary>
    internal bool IsMet(System.Security.Claims.ClaimsPrincipal user) =>
        Authentication.JwtCallPrincipal.CallerOf(user) is { } caller && IsMet(caller);

    /// <summary>Whether <paramref name="caller"/>'s token came from one of the issuers.</summary>
    internal bool IsMet(JwtCaller caller)
    {
        foreach (var name in NameArray)
        {
            if (string.Equals(name, caller.IssuerName, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, IssuerAuthorizationRequirement requirement)
    {
        if (requirement.IsMet(context.User))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{nameof(IssuerAuthorizationRequirement)}: the caller's token must come from one of the issuers ({string.Join("|", NameArray)})";
}
