using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Tests.Server;

/// <summary>Endpoints as grpc-dotnet maps them: a gRPC method's declared name in <see cref="GrpcMethodMetadata"/>, plus test metadata.</summary>
internal static class TestEndpoints
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static value => value, static value => value);

    /// <summary>The endpoint of the method declared as <paramref name="path"/> (<c>/package.Service/Method</c>).</summary>
    public static Endpoint ForMethod(string path, params object[] metadata)
    {
        var separator = path.LastIndexOf('/');
        var method = new Method<byte[], byte[]>(MethodType.Unary, path[1..separator], path[(separator + 1)..], Bytes, Bytes);
        return new Endpoint(null, new EndpointMetadataCollection([new GrpcMethodMetadata(typeof(TestEndpoints), method), .. metadata]), path);
    }

    /// <summary>Request services as a host with ASP.NET Core's default authorization has them.</summary>
    public static IServiceProvider Services { get; } = new ServiceCollection().AddLogging().AddAuthorization().BuildServiceProvider();

    /// <summary>A request routed to the method declared as <paramref name="path"/>.</summary>
    public static DefaultHttpContext Request(string path, string? authorization = null, params object[] metadata)
    {
        var httpContext = new DefaultHttpContext { RequestServices = Services };
        if (authorization is not null)
        {
            httpContext.Request.Headers.Authorization = authorization;
        }

        httpContext.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        httpContext.Connection.RemotePort = 5555;
        httpContext.SetEndpoint(ForMethod(path, metadata));
        return httpContext;
    }
}
