using Greeter;
using Grpc.Core;

namespace GrpcJwtAuth.LoadServer;

/// <summary>
/// The sample's SayHello, made to work in every mode: the sample's GreeterService reads GetRequiredJwtCaller(), which
/// only GrpcJwtAuth sets, so this one reads the <c>sub</c> claim from <c>HttpContext.User</c>, which GrpcJwtAuth and
/// JwtBearer both set (and which is anonymous in mode <c>none</c>). The reply has the sample's shape.
/// </summary>
internal sealed class LoadGreeterService : Greeter.Greeter.GreeterBase
{
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
    {
        var subject = context.GetHttpContext().User.FindFirst("sub")?.Value ?? string.Empty;
        return Task.FromResult(new HelloReply { Message = $"Hello {request.Name}", Subject = subject });
    }
}
