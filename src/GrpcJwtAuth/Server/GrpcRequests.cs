using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Server;

/// <summary>Whether a request is a gRPC call: routed to a gRPC method, or sent with a gRPC content type.</summary>
internal static class GrpcRequests
{
    public static bool IsGrpc(HttpContext httpContext) =>
        RequestFeatures.EndpointOf(httpContext)?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null
        || httpContext.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;
}
