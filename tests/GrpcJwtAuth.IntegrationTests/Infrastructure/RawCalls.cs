using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.IntegrationTests.Protos;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// Unary calls to a method path spelled by the test, not by generated code: for paths a hostile caller writes, such as
/// another case of a real method or a method the server does not have.
/// </summary>
public static class RawCalls
{
    private static readonly Marshaller<ProbeRequest> RequestMarshaller =
        Marshallers.Create(request => request.ToByteArray(), ProbeRequest.Parser.ParseFrom);

    private static readonly Marshaller<ProbeReply> ReplyMarshaller =
        Marshallers.Create(reply => reply.ToByteArray(), ProbeReply.Parser.ParseFrom);

    /// <summary>Calls <paramref name="path"/> (<c>/service/method</c>, sent exactly as given) with a probe request.</summary>
    public static Task<ProbeReply> UnaryAsync(GrpcChannel channel, string path, CallOptions options)
    {
        var separator = path.LastIndexOf('/');
        var method = new Method<ProbeRequest, ProbeReply>(
            MethodType.Unary, path[1..separator], path[(separator + 1)..], RequestMarshaller, ReplyMarshaller);
        return channel.CreateCallInvoker()
            .AsyncUnaryCall(method, host: null, options, new ProbeRequest { Name = path })
            .ResponseAsync.DefaultTimeout();
    }
}
