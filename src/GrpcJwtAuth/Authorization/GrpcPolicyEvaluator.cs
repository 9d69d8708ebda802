using Grpc.AspNetCore.Server;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Authorization;

/// <summary>
/// The policy evaluator ASP.NET Core's authorization middleware uses, in front of the app's. On a gRPC method that
/// GrpcJwtAuth's interceptor gates, the middleware still authenticates (so <c>HttpContext.User</c>, the authenticate
/// result and <c>[AllowAnonymous]</c> behave as everywhere) but leaves the policy to the interceptor: there it is
/// evaluated once per call, with the request message as the resource for resource-based handlers, together with the
/// method's rule, and a failure becomes a gRPC status. Evaluating it here too would run the app's handlers twice per
/// call, the first time against the <c>HttpContext</c>. If the app removed the interceptor from the global
/// interceptors, nothing is left to it: every policy is evaluated here, as without GrpcJwtAuth.
/// </summary>
internal sealed class GrpcPolicyEvaluator(IPolicyEvaluator inner, IOptions<GrpcServiceOptions> grpcOptions) : IPolicyEvaluator
{
    private static readonly Task<PolicyAuthorizationResult> Deferred = Task.FromResult(PolicyAuthorizationResult.Success());

    public IPolicyEvaluator Inner => inner;

    public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context) =>
        inner.AuthenticateAsync(policy, context);

    public Task<PolicyAuthorizationResult> AuthorizeAsync(
        AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource) =>
        GrpcRequests.IsGrpcMethod(context) && InterceptorIsInstalled(grpcOptions.Value)
            ? Deferred
            : inner.AuthorizeAsync(policy, authenticationResult, context, resource);

    /// <summary>Whether the global interceptors, which run for every gRPC method, include GrpcJwtAuth's.</summary>
    internal static bool InterceptorIsInstalled(GrpcServiceOptions options)
    {
        foreach (var registration in options.Interceptors)
        {
            if (registration.Type == typeof(GrpcJwtAuthInterceptor))
            {
                return true;
            }
        }

        return false;
    }
}
