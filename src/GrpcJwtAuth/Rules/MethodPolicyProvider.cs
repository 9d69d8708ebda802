using System.Collections.Concurrent;
using Grpc.AspNetCore.Server;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Rules;

/// <summary>
/// Resolves the <see cref="MethodPolicy"/> of the gRPC method a call was routed to, once per endpoint, and serves it
/// from a dictionary after that. The policy comes from the endpoint, never from the path as the caller spelled it:
/// ASP.NET Core routes gRPC paths whatever their case, so <c>/PKG.SERVICE/METHOD</c> runs <c>/pkg.Service/Method</c>
/// and must get exactly its rules. Rules are matched against the method's declared name
/// (<see cref="GrpcMethodMetadata"/>), and the dictionary is keyed by endpoint, so it is bounded by the routes the
/// application mapped, whatever callers send.
/// </summary>
internal sealed class MethodPolicyProvider(CompiledAuthOptions options, ILogger<MethodPolicyProvider> logger)
{
    /// <summary>More endpoints than any application maps; past this, policies are resolved per call instead of kept.</summary>
    internal const int MaxEndpoints = 10_000;

    // Keyed by reference (Endpoint does not override Equals), without the virtual calls of the default comparer.
    private readonly ConcurrentDictionary<Endpoint, MethodPolicy> _policies = new(ReferenceEqualityComparer.Instance);

    /// <summary>How many endpoints have a resolved policy.</summary>
    public int Count => _policies.Count;

    /// <summary>The policy of the method <paramref name="httpContext"/> was routed to; <see cref="MethodPolicy.Unresolved"/> when none.</summary>
    public MethodPolicy Get(HttpContext httpContext)
    {
        var endpoint = httpContext.GetEndpoint();
        if (endpoint is null)
        {
            return MethodPolicy.Unresolved;
        }

        return _policies.TryGetValue(endpoint, out var policy) ? policy : Add(endpoint);
    }

    private MethodPolicy Add(Endpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not { } grpcMethod)
        {
            return MethodPolicy.Unresolved;
        }

        var method = grpcMethod.Method.FullName;
        var policy = MethodPolicy.Create(options.Rules.Match(method), endpoint.Metadata, method);
        if (_policies.Count >= MaxEndpoints)
        {
            return policy;
        }

        if (!_policies.TryAdd(endpoint, policy))
        {
            return _policies[endpoint];
        }

        if (policy.HasUnsupportedMetadata)
        {
            Log.UnsupportedAuthorizeMetadata(logger, method);
        }

        Log.MethodPolicyResolved(logger, method, policy.Rule?.Prefix ?? "(none)", policy.AllowAnonymous, policy.Requirements.Length);
        return policy;
    }
}
