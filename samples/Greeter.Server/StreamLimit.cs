using Microsoft.AspNetCore.Authorization;

namespace Greeter.Server;

/// <summary>
/// A resource-based policy: the request message decides. A caller may ask StreamHellos for at most
/// <see cref="MaxCount"/> replies; admins for more. GrpcJwtAuth hands the deserialized request to the handler before
/// the service method runs, and a failure reaches the caller as PermissionDenied "authorization policy 'bounded-stream' failed".
/// </summary>
public sealed class StreamLimitRequirement : IAuthorizationRequirement
{
    public const string PolicyName = "bounded-stream";

    public const int MaxCount = 1_000;
}

/// <summary>Succeeds when the requested count is within the limit, or the caller is an admin.</summary>
public sealed class StreamLimitHandler : AuthorizationHandler<StreamLimitRequirement, HelloRequest>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, StreamLimitRequirement requirement, HelloRequest resource)
    {
        if (resource.Count <= StreamLimitRequirement.MaxCount || context.User.IsInRole("admin"))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
