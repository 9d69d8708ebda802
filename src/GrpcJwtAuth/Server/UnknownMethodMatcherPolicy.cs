using System.Collections.Concurrent;
using Grpc.AspNetCore.Server;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace GrpcJwtAuth.Server;

/// <summary>
/// grpc-dotnet answers a path that names no mapped method with <c>Unimplemented</c> from two catch-all endpoints
/// (<c>{service}/{unimplementedMethod}</c> per service, <c>{unimplementedService}/{unimplementedMethod}</c> once), which
/// run no interceptor: a caller without a token could tell the methods that exist (<c>Unauthenticated</c>) from those
/// that do not. When <see cref="GrpcJwtAuthOptions.AuthenticateUnknownMethods"/> is on, this policy swaps those
/// endpoints, as routing selects them, for ones that authenticate the caller first and answer with the rejection's
/// status when that fails; an authenticated caller then gets grpc-dotnet's own <c>Unimplemented</c>. Endpoints the
/// application marked anonymous (<c>MapGrpcService&lt;T&gt;().AllowAnonymous()</c>) are left alone. No rule applies to
/// an unknown method, and it is counted and logged as <see cref="EndpointAuthorization.OtherMethod"/>, never by its path.
/// </summary>
internal sealed class UnknownMethodMatcherPolicy(CompiledAuthOptions options, EndpointAuthorizationProvider endpoints, CallAuthorizer authorizer)
    : MatcherPolicy, IEndpointSelectorPolicy
{
    // The route parameter both catch-all patterns of grpc-dotnet's ServiceRouteBuilder end with.
    internal const string UnimplementedMethodParameter = "unimplementedMethod";

    private readonly ConcurrentDictionary<Endpoint, RouteEndpoint> _guarded = new();

    // After every other policy: only the endpoint routing finally chose is swapped.
    public override int Order => int.MaxValue;

    /// <summary>Whether <paramref name="endpoint"/> is one of grpc-dotnet's "unimplemented method or service" catch-alls.</summary>
    public static bool IsUnimplementedCatchAll(Endpoint endpoint) =>
        endpoint is RouteEndpoint route
        && route.RoutePattern.GetParameter(UnimplementedMethodParameter) is not null
        && route.Metadata.GetMetadata<GrpcMethodMetadata>() is null;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        if (!options.AuthenticateUnknownMethods)
        {
            return false;
        }

        // Routing asks once per node of its tree, with the endpoints that node's paths can reach. A node that also reaches
        // a declared method is one of its spellings: the method wins there, so the catch-all is never chosen and the
        // policy is left off (sparing every call to a known method routing's slower policy path).
        var catchAll = false;
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not null)
            {
                return false;
            }

            catchAll |= IsUnimplementedCatchAll(endpoint);
        }

        return catchAll;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i) && IsUnimplementedCatchAll(candidates[i].Endpoint))
            {
                candidates.ReplaceEndpoint(i, Guard((RouteEndpoint)candidates[i].Endpoint), candidates[i].Values);
            }
        }

        return Task.CompletedTask;
    }

    private RouteEndpoint Guard(RouteEndpoint original)
    {
        if (_guarded.TryGetValue(original, out var guarded))
        {
            return guarded;
        }

        var next = original.RequestDelegate!;
        guarded = new RouteEndpoint(
            httpContext => AuthenticateThenAsync(httpContext, original, next),
            original.RoutePattern,
            original.Order,
            original.Metadata,
            original.DisplayName);
        return _guarded.GetOrAdd(original, guarded);
    }

    private async Task AuthenticateThenAsync(HttpContext httpContext, Endpoint original, RequestDelegate next)
    {
        // No rule: rules name methods, and this one has no name but the caller's spelling.
        var authorization = await endpoints.GetForUnknownMethodAsync(httpContext, original).ConfigureAwait(false);
        var decision = await authorizer.AuthorizeAsync(httpContext, authorization, httpContext, httpContext.RequestAborted).ConfigureAwait(false);
        if (!decision.IsAllowed)
        {
            GrpcStatusResponse.Write(httpContext, decision.Status);
            return;
        }

        await next(httpContext).ConfigureAwait(false);
    }
}
