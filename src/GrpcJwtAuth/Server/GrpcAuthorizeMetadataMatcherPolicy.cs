using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace GrpcJwtAuth.Server;

/// <summary>
/// ASP.NET Core's endpoint middleware refuses to run an endpoint carrying <c>[Authorize]</c> unless its
/// authorization middleware ran. For gRPC methods the GrpcJwtAuth interceptor is that authorization, so when every
/// candidate endpoint of a request that carries authorization metadata is a gRPC method this policy records that
/// authorization is handled. Endpoints that are not gRPC methods keep ASP.NET Core's check.
/// </summary>
internal sealed class GrpcAuthorizeMetadataMatcherPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // The key EndpointMiddleware looks for (see AuthorizationMiddleware in dotnet/aspnetcore).
    internal const string AuthorizationMiddlewareInvokedKey = "__AuthorizationMiddlewareWithEndpointInvoked";

    private static readonly object Handled = true;

    public override int Order => int.MaxValue;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not null
                && (endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null
                    || endpoint.Metadata.GetMetadata<AuthorizationPolicy>() is not null))
            {
                return true;
            }
        }

        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var anyValid = false;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }

            // grpc-dotnet's "unimplemented method/service" catch-all endpoints are valid candidates for every gRPC
            // path; they carry no authorization metadata, so EndpointMiddleware has nothing to check on them.
            var metadata = candidates[i].Endpoint.Metadata;
            if (metadata.GetMetadata<IAuthorizeData>() is null && metadata.GetMetadata<AuthorizationPolicy>() is null)
            {
                continue;
            }

            if (metadata.GetMetadata<GrpcMethodMetadata>() is null)
            {
                return Task.CompletedTask;
            }

            anyValid = true;
        }

        if (anyValid)
        {
            httpContext.Items[AuthorizationMiddlewareInvokedKey] = Handled;
        }

        return Task.CompletedTask;
    }
}
