using System.Collections.Concurrent;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Rules;

/// <summary>
/// Resolves each method's <see cref="MethodPolicy"/> once, on its first call, and serves it from a dictionary after
/// that. Keys are the method names of routed gRPC endpoints, so the dictionary is bounded by the service definitions.
/// </summary>
internal sealed class MethodPolicyProvider(CompiledAuthOptions options, ILogger<MethodPolicyProvider> logger)
{
    private readonly ConcurrentDictionary<string, MethodPolicy> _policies = new(StringComparer.Ordinal);

    public MethodPolicy Get(string method, HttpContext httpContext)
    {
        if (_policies.TryGetValue(method, out var policy))
        {
            return policy;
        }

        return Add(method, httpContext);
    }

    private MethodPolicy Add(string method, HttpContext httpContext)
    {
        var policy = MethodPolicy.Create(options.Rules.Match(method), httpContext.GetEndpoint()?.Metadata);
        if (_policies.TryAdd(method, policy))
        {
            if (policy.HasUnsupportedMetadata)
            {
                Log.UnsupportedAuthorizeMetadata(logger, method);
            }

            Log.MethodPolicyResolved(logger, method, policy.Rule?.Prefix ?? "(none)", policy.AllowAnonymous, policy.Requirements.Length);
            return policy;
        }

        return _policies[method];
    }
}
