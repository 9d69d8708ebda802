using GrpcJwtAuth;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace Grpc.Core;

/// <summary>Access to the caller GrpcJwtAuth authenticated, and authorization checks, from a gRPC service method.</summary>
public static class GrpcJwtAuthServerCallContextExtensions
{
    /// <summary>
    /// The caller authenticated for this call, or <see langword="null"/> when the method allows anonymous callers
    /// and none was authenticated (or the call was authenticated by another scheme). The call's principal, with any
    /// claims added by events or transformations, is <c>context.GetHttpContext().User</c>.
    /// </summary>
    public static JwtCaller? GetJwtCaller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return JwtCallUserFeature.CallerOf(context.GetHttpContext());
    }

    /// <summary>
    /// The caller authenticated for this call.
    /// </summary>
    /// <exception cref="InvalidOperationException">No caller was authenticated: the method allows anonymous callers,
    /// or GrpcJwtAuth is not registered.</exception>
    public static JwtCaller GetRequiredJwtCaller(this ServerCallContext context) =>
        context.GetJwtCaller() ?? throw new InvalidOperationException(
            "No authenticated caller: the method allows anonymous calls, or AddGrpcJwtAuth() was not called.");

    /// <summary>
    /// Checks the policy named <paramref name="policyName"/> for this call's principal, with <paramref name="resource"/>
    /// (such as one message of a client or duplex stream) as the resource its handlers see, and throws
    /// <see cref="RpcException"/> with <c>PermissionDenied</c> naming the policy when it fails: the same answer a
    /// failed policy gets before the call starts, <see cref="GrpcJwtAuthEvents.OnForbidden"/> included. Cancels nothing
    /// by itself; the exception ends the call.
    /// </summary>
    /// <exception cref="RpcException">The policy failed (<c>PermissionDenied</c>; <c>Unauthenticated</c> when it
    /// requires an authenticated caller and there is none).</exception>
    /// <exception cref="InvalidOperationException">No policy has that name.</exception>
    public static async Task AuthorizeAsync(this ServerCallContext context, object? resource, string policyName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);

        var httpContext = context.GetHttpContext();
        var services = httpContext.RequestServices;
        var result = await services.GetRequiredService<IAuthorizationService>()
            .AuthorizeAsync(httpContext.User, resource, policyName).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var status = PolicyEvaluation.Denied(services, policyName, result.Failure);
            if (services.GetService<GrpcJwtAuth.Server.CallAuthorizer>() is { } authorizer)
            {
                status = await authorizer.RespondAsync(httpContext, status).ConfigureAwait(false);
            }

            throw new RpcException(status);
        }
    }
}
