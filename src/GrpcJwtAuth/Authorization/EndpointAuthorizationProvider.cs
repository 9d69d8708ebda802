using System.Collections.Concurrent;
using Grpc.AspNetCore.Server;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Rules;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Authorization;

/// <summary>
/// Resolves the <see cref="EndpointAuthorization"/> of the gRPC method a call was routed to, once per endpoint, and
/// serves it from a dictionary after that. It comes from the endpoint, never from the path as the caller spelled it:
/// ASP.NET Core routes gRPC paths whatever their case, so <c>/PKG.SERVICE/METHOD</c> runs <c>/pkg.Service/Method</c>
/// and gets exactly its requirements. Rules are matched against the method's declared name (<see cref="GrpcMethodMetadata"/>),
/// and the dictionary is keyed by endpoint, so it is bounded by the routes the application mapped, whatever callers
/// send. Policies come from the app's <see cref="IAuthorizationPolicyProvider"/>; when it does not allow caching
/// them, they are resolved on every call, as ASP.NET Core's middleware does.
/// </summary>
internal sealed class EndpointAuthorizationProvider(CompiledAuthOptions options, ILogger<EndpointAuthorizationProvider> logger)
{
    /// <summary>More endpoints than any application maps; past this, requirements are resolved per call instead of kept.</summary>
    internal const int MaxEndpoints = 10_000;

    // Keyed by reference (Endpoint does not override Equals), without the virtual calls of the default comparer.
    private readonly ConcurrentDictionary<Endpoint, EndpointAuthorization> _resolved = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<string, byte> _reportedUndefined = new(StringComparer.Ordinal);

    /// <summary>How many endpoints have resolved requirements.</summary>
    public int Count => _resolved.Count;

    /// <summary>The requirements of the method <paramref name="httpContext"/> was routed to; <see cref="EndpointAuthorization.Unresolved"/> when none.</summary>
    public ValueTask<EndpointAuthorization> GetAsync(HttpContext httpContext)
    {
        var endpoint = Server.RequestFeatures.EndpointOf(httpContext);
        if (endpoint is null)
        {
            return ValueTask.FromResult(EndpointAuthorization.Unresolved);
        }

        if (_resolved.TryGetValue(endpoint, out var resolved))
        {
            return ValueTask.FromResult(resolved);
        }

        if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not { } grpcMethod)
        {
            return ValueTask.FromResult(EndpointAuthorization.Unresolved);
        }

        var method = grpcMethod.Method.FullName;
        return ResolveAsync(httpContext.RequestServices, endpoint, method, options.Rules.Match(method), cache: true);
    }

    /// <summary>
    /// Resolves a mapped gRPC method's requirements before its first call (at startup), so a policy name the application
    /// does not define is reported then. Not kept: the endpoints a data source lists need not be the instances routing
    /// selects.
    /// </summary>
    public async ValueTask PrepareAsync(IServiceProvider services, Endpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpcMethod)
        {
            var method = grpcMethod.Method.FullName;
            await ResolveAsync(services, endpoint, method, options.Rules.Match(method), cache: false).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The requirements of an endpoint that is no declared method (grpc-dotnet's "unimplemented" catch-all): no rule,
    /// only the metadata the application gave it; named <see cref="EndpointAuthorization.OtherMethod"/>.
    /// </summary>
    public ValueTask<EndpointAuthorization> GetForUnknownMethodAsync(HttpContext httpContext, Endpoint endpoint) =>
        _resolved.TryGetValue(endpoint, out var resolved)
            ? ValueTask.FromResult(resolved)
            : ResolveAsync(httpContext.RequestServices, endpoint, EndpointAuthorization.OtherMethod, rule: null, cache: true);

    private async ValueTask<EndpointAuthorization> ResolveAsync(
        IServiceProvider services, Endpoint endpoint, string method, CompiledRule? rule, bool cache)
    {
        var policies = services.GetRequiredService<IAuthorizationPolicyProvider>();
        EndpointAuthorization resolved;
        try
        {
            resolved = await BuildAsync(policies, endpoint.Metadata, method, rule).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            // AuthorizationPolicy.CombineAsync (and ours) throw this for a policy name the provider does not know.
            // Reported once per method (the names are the mapped methods' declared names, never a caller's).
            if (_reportedUndefined.Count < MaxEndpoints && _reportedUndefined.TryAdd(method, 0))
            {
                Log.UndefinedAuthorizationPolicy(logger, method, ex.Message);
            }

            resolved = EndpointAuthorization.UndefinedPolicy(method);
        }

        if (!cache || !policies.AllowsCachingPolicies || _resolved.Count >= MaxEndpoints)
        {
            return resolved;
        }

        if (_resolved.TryAdd(endpoint, resolved))
        {
            Log.MethodPolicyResolved(
                logger, method, rule?.Prefix ?? "(none)", resolved.IsAnonymous, resolved.Policy?.Requirements.Count ?? 0);
            return resolved;
        }

        return _resolved[endpoint];
    }

    internal static async Task<EndpointAuthorization> BuildAsync(
        IAuthorizationPolicyProvider policies, EndpointMetadataCollection metadata, string method, CompiledRule? rule)
    {
        var names = new Dictionary<IAuthorizationRequirement, string>(ReferenceEqualityComparer.Instance);
        var authorizeData = metadata.GetOrderedMetadata<IAuthorizeData>();
        var attached = metadata.GetOrderedMetadata<AuthorizationPolicy>();
        var anonymousByMetadata = metadata.GetMetadata<IAllowAnonymous>() is not null;
        var hasMetadata = authorizeData.Count > 0 || attached.Count > 0;

        AuthorizationPolicy? metadataPolicy = null;
        if (hasMetadata && !anonymousByMetadata)
        {
            foreach (var data in authorizeData)
            {
                if (!string.IsNullOrEmpty(data.Policy))
                {
                    await NameAsync(policies, data.Policy, names).ConfigureAwait(false);
                }
            }

            metadataPolicy = await AuthorizationPolicy.CombineAsync(policies, authorizeData, attached).ConfigureAwait(false);
        }

        AuthorizationPolicy? rulePolicy = null;
        if (rule is { AllowAnonymous: false })
        {
            // A rule always requires an authenticated caller, and then its roles, scopes and policies.
            var builder = new AuthorizationPolicyBuilder().RequireAuthenticatedUser();
            if (rule.Roles.Length > 0)
            {
                builder.RequireRole(rule.Roles);
            }

            if (rule.Scopes.Length > 0)
            {
                builder.AddRequirements(new ScopeAuthorizationRequirement(rule.Scopes));
            }

            if (rule.Issuers is { Length: > 0 } issuers)
            {
                builder.AddRequirements(new IssuerAuthorizationRequirement(issuers));
            }

            foreach (var name in rule.Policies)
            {
                builder.Combine(await NameAsync(policies, name, names).ConfigureAwait(false));
            }

            rulePolicy = builder.Build();
        }

        AuthorizationPolicy? policy;
        if (metadataPolicy is not null || rulePolicy is not null)
        {
            policy = metadataPolicy is null ? rulePolicy : rulePolicy is null ? metadataPolicy : AuthorizationPolicy.Combine(metadataPolicy, rulePolicy);
        }
        else if (anonymousByMetadata || (rule is { AllowAnonymous: true } && !hasMetadata))
        {
            policy = null;
        }
        else
        {
            // Neither metadata nor a rule: the app's fallback policy, or GrpcJwtAuth's gate (an authenticated caller).
            policy = await policies.GetFallbackPolicyAsync().ConfigureAwait(false)
                ?? new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        }

        return new EndpointAuthorization(method, rule, policy, metadataPolicy, rulePolicy, names);
    }

    private static async Task<AuthorizationPolicy> NameAsync(
        IAuthorizationPolicyProvider policies, string name, Dictionary<IAuthorizationRequirement, string> names)
    {
        var policy = await policies.GetPolicyAsync(name).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The AuthorizationPolicy named '{name}' was not found.");
        foreach (var requirement in policy.Requirements)
        {
            names.TryAdd(requirement, name);
        }

        return policy;
    }
}
