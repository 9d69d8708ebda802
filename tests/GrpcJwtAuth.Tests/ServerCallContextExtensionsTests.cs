using Grpc.Core;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Server;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Tests;

public class ServerCallContextExtensionsTests
{
    [Fact]
    public void GetJwtCaller_NoCaller_ReturnsNull()
    {
        Assert.Null(new TestServerCallContext("/a.B/C").GetJwtCaller());
    }

    [Fact]
    public void GetRequiredJwtCaller_NoCaller_ThrowsInvalidOperation()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new TestServerCallContext("/a.B/C").GetRequiredJwtCaller());

        Assert.Contains("AddGrpcJwtAuth()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetJwtCaller_UserIsTheCallersPrincipal_ReturnsIt()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
        var caller = GrpcJwtAuth.Tests.Claims.TestCallers.Create(new TestTokenFactory(time).Create(TestSigningKey.Ec()), time);
        var context = new TestServerCallContext("/a.B/C");
        context.HttpContext.User = GrpcJwtAuth.Authentication.JwtCallPrincipal.For(caller);

        Assert.Same(caller, context.GetJwtCaller());
        Assert.Same(caller, context.GetRequiredJwtCaller());
    }

    [Fact]
    public void GetJwtCaller_UserReplacedByAnotherPrincipal_ReturnsNull()
    {
        var context = new TestServerCallContext("/a.B/C");
        context.HttpContext.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity("Other"));

        Assert.Null(context.GetJwtCaller());
    }

    [Fact]
    public void GetJwtCaller_NullContext_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => GrpcJwtAuthServerCallContextExtensions.GetJwtCaller(null!));
    }
}
