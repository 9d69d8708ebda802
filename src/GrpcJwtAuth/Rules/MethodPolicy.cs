using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Rules;

/// <summary>
/// Everything one method requires, combined from the matching rule and the <c>[Authorize]</c> /
/// <c>[AllowAnonymous]</c> attributes on its service and method. Every requirement must hold.
/// </summary>
internal sealed class MethodPolicy
{
    /// <summary>
    /// The name logs and metrics use for a call that reached no declared gRPC method: one fixed value, so the
    /// caller's spelling of a path never becomes a tag or a key.
    /// </summary>
    public const string OtherMethod = "_OTHER";

    private MethodPolicy(string method, bool allowAnonymous, Requirement[] requirements, bool unsupported, CompiledRule? rule)
    {
        Method = method;
        AllowAnonymous = allowAnonymous;
        Requirements = requirements;
        HasUnsupportedMetadata = unsupported;
        Rule = rule;
    }

    /// <summary>
    /// A call that could not be tied to a routed gRPC method (no endpoint, or one without gRPC method metadata). Its
    /// policy cannot be known, so it is denied: rules must never be matched on the caller's spelling of a path.
    /// </summary>
    public static MethodPolicy Unresolved { get; } = new(OtherMethod, false, [], unsupported: false, rule: null) { IsUnresolved = true };

    /// <summary>
    /// The method as declared (<c>/package.Service/Method</c>, from the endpoint's gRPC metadata), or
    /// <see cref="OtherMethod"/>: what logs and metrics name the call by.
    /// </summary>
    public string Method { get; }

    /// <summary>Whether the call could not be tied to a routed gRPC method; see <see cref="Unresolved"/>.</summary>
    public bool IsUnresolved { get; private init; }

    /// <summary>Whether the call goes through without a token (no token is validated).</summary>
    public bool AllowAnonymous { get; }

    public Requirement[] Requirements { get; }

    /// <summary>
    /// An <c>[Authorize]</c> names a policy or scheme, or a policy object is attached: this library cannot evaluate
    /// those, so every call is denied.
    /// </summary>
    public bool HasUnsupportedMetadata { get; }

    public CompiledRule? Rule { get; }

    /// <summary>Checks an authenticated caller against every requirement.</summary>
    public AuthFailure Authorize(JwtCaller caller)
    {
        if (IsUnresolved)
        {
            return AuthFailure.UnresolvedMethod;
        }

        if (HasUnsupportedMetadata)
        {
            return AuthFailure.UnsupportedAuthorizationMetadata;
        }

        foreach (var requirement in Requirements)
        {
            var failure = requirement.Check(caller);
            if (failure != AuthFailure.None)
            {
                return failure;
            }
        }

        return AuthFailure.None;
    }

    /// <summary>
    /// Combines a rule (or none) with endpoint metadata. The rule's requirements always hold; <c>[AllowAnonymous]</c>
    /// waives only the attributes' own requirements and the default "authenticated caller" one, never a rule's.
    /// </summary>
    public static MethodPolicy Create(CompiledRule? rule, EndpointMetadataCollection? metadata, string method = OtherMethod)
    {
        var requirements = new List<Requirement>();
        var attributeAnonymous = metadata?.GetMetadata<IAllowAnonymous>() is not null;
        var attributeRequiresAuthentication = false;
        var unsupported = false;

        if (metadata is not null && !attributeAnonymous)
        {
            // Policies attached as objects (RequireAuthorization(policy)) cannot be evaluated here either: deny.
            if (metadata.GetMetadata<AuthorizationPolicy>() is not null)
            {
                attributeRequiresAuthentication = true;
                unsupported = true;
            }

            foreach (var data in metadata.GetOrderedMetadata<IAuthorizeData>())
            {
                attributeRequiresAuthentication = true;
                if (!string.IsNullOrEmpty(data.Policy) || !string.IsNullOrEmpty(data.AuthenticationSchemes))
                {
                    unsupported = true;
                }

                var roles = SplitRoles(data.Roles);
                if (roles.Length > 0)
                {
                    requirements.Add(new Requirement(roles, []));
                }
            }
        }

        bool allowAnonymous;
        if (rule is null)
        {
            allowAnonymous = attributeAnonymous;
        }
        else
        {
            allowAnonymous = rule.AllowAnonymous && !attributeRequiresAuthentication;
            if (rule.Roles.Length > 0 || rule.Scopes.Length > 0)
            {
                requirements.Insert(0, new Requirement(rule.Roles, rule.Scopes));
            }
        }

        return new MethodPolicy(method, allowAnonymous && !unsupported, requirements.ToArray(), unsupported, rule);
    }

    private static string[] SplitRoles(string? roles) =>
        string.IsNullOrWhiteSpace(roles)
            ? []
            : roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>At least one of <see cref="AnyRole"/> (when any) and every one of <see cref="AllScopes"/>.</summary>
    internal sealed record Requirement(string[] AnyRole, string[] AllScopes)
    {
        public AuthFailure Check(JwtCaller caller)
        {
            if (AnyRole.Length > 0)
            {
                var found = false;
                foreach (var role in AnyRole)
                {
                    if (caller.IsInRole(role))
                    {
                        found = true;
                        break;
                    }
                }

                if (!found)
                {
                    return AuthFailure.MissingRole;
                }
            }

            foreach (var scope in AllScopes)
            {
                if (!caller.HasScope(scope))
                {
                    return AuthFailure.MissingScope;
                }
            }

            return AuthFailure.None;
        }
    }
}
