using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace GrpcJwtAuth.Server;

/// <summary>
/// A request's features read and written through the collection's indexer: the same values as
/// <c>Features.Get&lt;T&gt;()</c>/<c>Set&lt;T&gt;()</c>, without a generic interface call on every gRPC call's path.
/// </summary>
internal static class RequestFeatures
{
    public static T? Get<T>(HttpContext httpContext)
        where T : class => httpContext.Features[typeof(T)] as T;

    public static void Set<T>(HttpContext httpContext, T? feature)
        where T : class => httpContext.Features[typeof(T)] = feature;

    /// <summary>The endpoint the request was routed to: <c>HttpContext.GetEndpoint()</c>, which asks for its feature through the generic interface call.</summary>
    public static Endpoint? EndpointOf(HttpContext httpContext) => Get<IEndpointFeature>(httpContext)?.Endpoint;
}
