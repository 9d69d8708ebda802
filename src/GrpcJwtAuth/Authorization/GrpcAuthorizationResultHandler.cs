using Grpc.AspNetCore.Server;
using GrpcJwtAuth.Authentication;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Authorization;

/// <summary>
/// ASP.NET Core's authorization middleware hands every result to this seam. On gRPC methods GrpcJwtAuth's interceptor
/// decides (it knows the rules, authenticates with GrpcJwtAuth's scheme, passes the request message to resource-based
/// handlers, and answers with gRPC statuses), so a call to one always goes on (<see cref="GrpcPolicyEvaluator"/> leaves
/// its policy to the interceptor; should an app's own evaluator fail it here, the interceptor decides again, and a
/// refusal becomes <c>Unauthenticated</c> or <c>PermissionDenied</c> with its reason instead of an HTTP 401/403 a gRPC
/// client cannot read). A gRPC request that reached no method (an unknown path under a <c>FallbackPolicy</c>) is refused here, by
/// GrpcJwtAuth's scheme, as a gRPC status. Every other endpoint gets the app's handler (ASP.NET Core's by default).
/// </summary>
internal sealed class GrpcAuthorizationResultHandler(IAuthorizationMiddlewareResultHandler inner, IOptions<GrpcServiceOptions> grpcOptions)
    : IAuthorizationMiddlewareResultHandler
{
    public IAuthorizationMiddlewareResultHandler Inner => inner;

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!Server.GrpcRequests.IsGrpc(context))
        {
            return inner.HandleAsync(next, context, policy, authorizeResult);
        }

        if (authorizeResult.Succeeded)
        {
            return next(context);
        }

        // Without the interceptor (an app removed it from the global interceptors) nothing would decide again: refuse here.
        if (Server.GrpcRequests.IsGrpcMethod(context)
            && GrpcPolicyEvaluator.InterceptorIsInstalled(grpcOptions.Value))
        {
            return next(context);
        }

        return authorizeResult.Forbidden
            ? context.ForbidAsync(GrpcJwtAuthDefaults.AuthenticationScheme)
            : context.ChallengeAsync(GrpcJwtAuthDefaults.AuthenticationScheme);
    }
}
