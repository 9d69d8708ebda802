using System.Text;
using Grpc.Core;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>The test service's methods, with UTF-8 string messages: no .proto needed.</summary>
internal static class TestMethods
{
    public const string ServiceName = "test.Probe";

    public static readonly Marshaller<string> Utf8 = Marshallers.Create(
        value => Encoding.UTF8.GetBytes(value),
        bytes => Encoding.UTF8.GetString(bytes));

    public static readonly Method<string, string> Unary = new(MethodType.Unary, ServiceName, "Unary", Utf8, Utf8);

    /// <summary>A unary method whose server sends response headers before it answers (see <c>GrpcTestServer.HoldAfterHeaders</c>).</summary>
    public static readonly Method<string, string> HeadersFirst = new(MethodType.Unary, ServiceName, "HeadersFirst", Utf8, Utf8);

    public static readonly Method<string, string> ServerStreaming = new(MethodType.ServerStreaming, ServiceName, "ServerStreaming", Utf8, Utf8);

    public static readonly Method<string, string> ClientStreaming = new(MethodType.ClientStreaming, ServiceName, "ClientStreaming", Utf8, Utf8);

    public static readonly Method<string, string> DuplexStreaming = new(MethodType.DuplexStreaming, ServiceName, "DuplexStreaming", Utf8, Utf8);

    public static Method<string, string> Get(MethodType type) => type switch
    {
        MethodType.Unary => Unary,
        MethodType.ServerStreaming => ServerStreaming,
        MethodType.ClientStreaming => ClientStreaming,
        _ => DuplexStreaming,
    };
}
