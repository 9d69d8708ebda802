using Grpc.Core;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Tests.Server;

public class GrpcStatusResponseTests
{
    [Theory]
    [InlineData("token expired", "token expired")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("caf\u00e9", "caf%C3%A9")]
    [InlineData("\u2028", "%E2%80%A8")]
    [InlineData("", "")]
    public void MessageHeader_EncodesWhatTheGrpcProtocolRequires(string detail, string expected)
    {
        Assert.Equal(expected, GrpcStatusResponse.MessageHeader(detail));
    }

    [Fact]
    public void Write_IsATrailersOnlyResponseWithTheStatus()
    {
        var context = new DefaultHttpContext();

        GrpcStatusResponse.Write(context, new Status(StatusCode.Unauthenticated, "missing token"));

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("application/grpc", context.Response.ContentType);
        Assert.Equal("16", context.Response.Headers["grpc-status"]);
        Assert.Equal("missing token", context.Response.Headers["grpc-message"]);
    }

    [Fact]
    public void WriteResponse_OfAFailure_UsesItsStatusAndDetail()
    {
        var context = new DefaultHttpContext();

        AuthFailures.Get(AuthFailure.MissingRole).WriteResponse(context);

        Assert.Equal("7", context.Response.Headers["grpc-status"]);
        Assert.Equal("missing required role", context.Response.Headers["grpc-message"]);
    }
}
