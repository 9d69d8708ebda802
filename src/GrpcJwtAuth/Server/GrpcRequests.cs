using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Server;

/// <summary>Whether a request is a gRPC call: routed to a gRPC method, or sent with a gRPC content type.</summary>
internal static class GrpcRequests
{
    public static bool IsGrpc(HttpContext httpContext) =>
        IsGrpcMethod(httpContext)
        || httpContext.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>Whether the request was routed to a gRPC method: its endpoint carries <see cref="GrpcMethodMetadata"/>.</summary>
    public static bool IsGrpcMethod(HttpContext httpContext) =>
        RequestFeatures.EndpointOf(httpContext)?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null;
}
