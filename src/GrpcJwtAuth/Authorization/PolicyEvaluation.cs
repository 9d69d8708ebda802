using System.Security.Claims;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Shared;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Authorization;

/// <summary>
/// Evaluates a method's policy for a caller. When every requirement is one of ASP.NET Core's built-in kinds (or a
/// scope) and the app registered no authorization handler, service or evaluator of its own, the requirements are
/// checked here exactly as ASP.NET Core's handlers check them, without the per-call objects of
/// <see cref="IAuthorizationService"/>; otherwise <see cref="IAuthorizationService"/> decides, with the request message
/// as the resource where there is one.
/// </summary>
internal sealed class PolicyEvaluation(bool exposeFailureReasons)
{
    // 0: not looked at yet; 1: only the framework's own authorization services; 2: the app added some.
    private volatile int _defaults;

    /// <summary>A failed policy: why, and the status detail that says it.</summary>
    public readonly record struct Denial(AuthFailure Failure, string? Detail);

    /// <summary>
    /// Evaluates <paramref name="policy"/> for the request's user (<c>HttpContext.User</c>). While GrpcJwtAuth's
    /// principal for the request is untouched (<see cref="JwtCallUserFeature"/>), the requirements a token decides are
    /// checked on its <see cref="JwtCaller"/> (<paramref name="untouchedCaller"/>) without creating the principal.
    /// </summary>
    public ValueTask<Denial?> EvaluateAsync(
        EndpointAuthorization authorization, AuthorizationPolicy policy, HttpContext httpContext, JwtCaller? untouchedCaller, object? resource)
    {
        var services = httpContext.RequestServices;
        if (!authorization.IsNative || !UsesFrameworkDefaults(services))
        {
            return AuthorizeAsync(authorization, policy, httpContext.User, resource, services);
        }

        var requirements = policy.Requirements;
        for (var i = 0; i < requirements.Count; i++)
        {
            var requirement = requirements[i];
            var met = untouchedCaller is not null && IsMet(requirement, untouchedCaller) is { } byCaller ? byCaller : IsMet(requirement, httpContext.User);
            if (!met)
            {
                return ValueTask.FromResult<Denial?>(Describe(authorization, policy, requirement, failure: null));
            }
        }

        return ValueTask.FromResult<Denial?>(null);
    }

    private async ValueTask<Denial?> AuthorizeAsync(
        EndpointAuthorization authorization, AuthorizationPolicy policy, ClaimsPrincipal user, object? resource, IServiceProvider services)
    {
        var result = await services.GetRequiredService<IAuthorizationService>().AuthorizeAsync(user, resource, policy).ConfigureAwait(false);
        if (result.Succeeded)
        {
            return null;
        }

        IAuthorizationRequirement? failed = null;
        foreach (var requirement in result.Failure?.FailedRequirements ?? [])
        {
            failed = requirement;
            break;
        }

        return Describe(authorization, policy, failed, result.Failure);
    }

    /// <summary>
    /// Whether <paramref name="requirement"/> holds for the unchanged principal of <paramref name="caller"/>, decided
    /// from the caller alone; <see langword="null"/> when that takes the principal's claims. The principal is
    /// authenticated, its roles are exactly the caller's (<see cref="Claims.CallerFactory"/>), and so are its scopes.
    /// </summary>
    internal static bool? IsMet(IAuthorizationRequirement requirement, JwtCaller caller)
    {
        switch (requirement)
        {
            case DenyAnonymousAuthorizationRequirement:
                return true;
            case RolesAuthorizationRequirement roles:
                foreach (var role in roles.AllowedRoles)
                {
                    if (caller.IsInRole(role))
                    {
                        return true;
                    }
                }

                return false;
            case ScopeAuthorizationRequirement scopes:
                return scopes.IsMet(caller);
            case IssuerAuthorizationRequirement issuers:
                return issuers.IsMet(caller);
            default:
                return null;
        }
    }

    /// <summary>Whether <paramref name="requirement"/> holds for <paramref name="user"/>, as its ASP.NET Core handler decides.</summary>
    internal static bool IsMet(IAuthorizationRequirement requirement, ClaimsPrincipal user)
    {
        switch (requirement)
        {
            case DenyAnonymousAuthorizationRequirement:
                return IsAuthenticated(user);
            case RolesAuthorizationRequirement roles:
                foreach (var role in roles.AllowedRoles)
                {
                    if (user.IsInRole(role))
                    {
                        return true;
                    }
                }

                return false;
            case ScopeAuthorizationRequirement scopes:
                return scopes.IsMet(user);
            case IssuerAuthorizationRequirement issuers:
                return issuers.IsMet(user);
            case ClaimsAuthorizationRequirement claims:
                foreach (var claim in user.Claims)
                {
                    if (string.Equals(claim.Type, claims.ClaimType, StringComparison.OrdinalIgnoreCase)
                        && (claims.AllowedValues is null || !claims.AllowedValues.Any() || claims.AllowedValues.Contains(claim.Value, StringComparer.Ordinal)))
                    {
                        return true;
                    }
                }

                return false;
            case NameAuthorizationRequirement name:
                foreach (var identity in user.Identities)
                {
                    if (string.Equals(identity.Name, name.RequiredName, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>As ASP.NET Core's <see cref="DenyAnonymousAuthorizationRequirement"/> decides: some identity is authenticated.</summary>
    internal static bool IsAuthenticated(ClaimsPrincipal? user)
    {
        if (user?.Identity is null)
        {
            return false;
        }

        foreach (var identity in user.Identities)
        {
            if (identity.IsAuthenticated)
            {
                return true;
            }
        }

        return false;
    }

    private Denial Describe(
        EndpointAuthorization authorization, AuthorizationPolicy policy, IAuthorizationRequirement? failed, AuthorizationFailure? failure)
    {
        // A handler that called context.Fail() leaves no failed requirement: name what failed if only one thing was in play.
        failed ??= OnlyRequirement(authorization, policy);

        if (failed is DenyAnonymousAuthorizationRequirement)
        {
            return new Denial(AuthFailure.MissingAuthorization, null);
        }

        string? detail = null;
        var kind = AuthFailure.PolicyFailed;
        if (failed is not null && authorization.PolicyNames.TryGetValue(failed, out var name))
        {
            detail = $"authorization policy '{name}' failed";
        }
        else if (failed is RolesAuthorizationRequirement)
        {
            kind = AuthFailure.MissingRole;
        }
        else if (failed is ScopeAuthorizationRequirement)
        {
            kind = AuthFailure.MissingScope;
        }
        else if (failed is IssuerAuthorizationRequirement)
        {
            kind = AuthFailure.IssuerNotAllowed;
        }
        else if (failed is not null)
        {
            detail = $"authorization requirement {failed.GetType().Name} failed";
        }

        if (exposeFailureReasons)
        {
            detail = WithReason(detail ?? AuthFailures.Get(kind).Status.Detail, failure);
        }

        return new Denial(kind, detail);
    }

    /// <summary>The status of a failed check of the policy named <paramref name="policyName"/>, made by a service method.</summary>
    public static Grpc.Core.Status Denied(IServiceProvider services, string policyName, AuthorizationFailure? failure)
    {
        if (failure is not null && failure.FailedRequirements.Any(requirement => requirement is DenyAnonymousAuthorizationRequirement))
        {
            return AuthFailures.Get(AuthFailure.MissingAuthorization).Status;
        }

        var detail = $"authorization policy '{policyName}' failed";
        if (services.GetService<Configuration.CompiledAuthOptions>() is { ExposeAuthorizationFailureReasons: true })
        {
            detail = WithReason(detail, failure);
        }

        return new Grpc.Core.Status(Grpc.Core.StatusCode.PermissionDenied, detail);
    }

    /// <summary>The first custom <see cref="AuthorizationFailureReason"/>'s message after <paramref name="detail"/>, made safe for a status.</summary>
    private static string WithReason(string detail, AuthorizationFailure? failure)
    {
        foreach (var reason in failure?.FailureReasons ?? [])
        {
            return $"{detail}: {SafeText.Sanitize(reason.Message, 256)}";
        }

        return detail;
    }

    /// <summary>
    /// The requirement a bare <c>context.Fail()</c> failed, when that is unambiguous: every requirement in play (beside
    /// "authenticated") belongs to one named policy (its first stands for the policy), or there is only one.
    /// </summary>
    private static IAuthorizationRequirement? OnlyRequirement(EndpointAuthorization authorization, AuthorizationPolicy policy)
    {
        IAuthorizationRequirement? first = null;
        string? name = null;
        var count = 0;
        var oneNamedPolicy = true;
        foreach (var requirement in policy.Requirements)
        {
            if (requirement is DenyAnonymousAuthorizationRequirement)
            {
                continue;
            }

            count++;
            first ??= requirement;
            if (!authorization.PolicyNames.TryGetValue(requirement, out var owner) || (name is not null && owner != name))
            {
                oneNamedPolicy = false;
            }

            name ??= owner;
        }

        return oneNamedPolicy || count == 1 ? first : null;
    }

    private bool UsesFrameworkDefaults(IServiceProvider services)
    {
        var known = _defaults;
        if (known == 0)
        {
            var handlers = services.GetServices<IAuthorizationHandler>();
            var onlyPassThrough = handlers.All(handler => handler is PassThroughAuthorizationHandler);
            known = onlyPassThrough
                && services.GetService<IAuthorizationService>() is DefaultAuthorizationService
                && services.GetService<IAuthorizationHandlerProvider>() is DefaultAuthorizationHandlerProvider
                && services.GetService<IAuthorizationEvaluator>() is DefaultAuthorizationEvaluator
                ? 1
                : 2;
            _defaults = known;
        }

        return known == 1;
    }
}
