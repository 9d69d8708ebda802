using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Routing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// A caller without a valid token learns nothing about the API: calls to methods and services the server does not
/// have are rejected like calls to the ones it has, and only an authenticated caller is told Unimplemented.
/// </summary>
public class UnknownMethodTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    [Theory]
    [InlineData("/test.Probe/Nope")]
    [InlineData("/TEST.PROBE/NOPE")]
    [InlineData("/nope.Nope/Nope")]
    public async Task Unknown_method_without_a_token_is_Unauthenticated_like_a_known_one(string path)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        await Rejection.AssertAsync(() => RawCalls.UnaryAsync(server.Channel, path, Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Fact]
    public async Task Unknown_method_with_an_invalid_token_gets_the_token_reason()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var forged = Tokens.Create(TestKeys.Impostor);

        await Rejection.AssertAsync(
            () => RawCalls.UnaryAsync(server.Channel, "/test.Probe/Nope", Auth.Bearer(forged)), StatusCode.Unauthenticated, Details.InvalidSignature, forged);
    }

    [Theory]
    [InlineData("/test.Probe/Nope")]
    [InlineData("/nope.Nope/Nope")]
    public async Task Unknown_method_with_a_valid_token_is_Unimplemented(string path)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        var error = await Assert.ThrowsAsync<RpcException>(() => RawCalls.UnaryAsync(server.Channel, path, Auth.Bearer(Tokens.Create(TestKeys.Primary))));

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task With_AuthenticateUnknownMethods_off_unknown_methods_are_Unimplemented_without_a_token()
    {
        var server = await StartServerAsync(options =>
        {
            TestKeys.StaticOptions(TestKeys.Primary)(options);
            options.AuthenticateUnknownMethods = false;
        });

        var error = await Assert.ThrowsAsync<RpcException>(() => RawCalls.UnaryAsync(server.Channel, "/test.Probe/Nope", Auth.None));

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Fact]
    public async Task Unknown_method_of_a_service_mapped_AllowAnonymous_is_Unimplemented_without_a_token()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary), probeConventions: probe => probe.AllowAnonymous());

        var error = await Assert.ThrowsAsync<RpcException>(() => RawCalls.UnaryAsync(server.Channel, "/test.Probe/Nope", Auth.None));

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        await Rejection.AssertAsync(
            () => RawCalls.UnaryAsync(server.Channel, "/test.Attributed/Nope", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Fact]
    public async Task Grpc_dotnet_still_maps_the_catch_alls_GrpcJwtAuth_guards()
    {
        // GrpcJwtAuth recognises grpc-dotnet's "unimplemented" endpoints by their route parameter; if a new version
        // renames it, unknown methods would silently answer Unimplemented to anyone again.
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

        var catchAlls = endpoints
            .Where(endpoint => endpoint.RoutePattern.GetParameter("unimplementedMethod") is not null)
            .Select(endpoint => endpoint.RoutePattern.RawText)
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(
            ["test.Attributed/{unimplementedMethod:grpcunimplemented}", "test.Probe/{unimplementedMethod:grpcunimplemented}", "{unimplementedService}/{unimplementedMethod:grpcunimplemented}"],
            catchAlls);
    }

    [Fact]
    public async Task Unknown_paths_are_counted_and_logged_under_one_fixed_name()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        using var metrics = new MetricCapture(server.Services);

        for (var i = 0; i < 50; i++)
        {
            var path = $"/probe{i}.Scan/Method{i}\u2028";
            await Rejection.AssertAsync(() => RawCalls.UnaryAsync(server.Channel, path, Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        }

        var decisions = metrics.Of("grpcjwtauth.server.decisions");
        Assert.Equal(50, decisions.Count);
        Assert.All(decisions, decision => Assert.Equal("_OTHER", decision.Tag("rpc.method")));
        var lines = server.Logs.WithEvent("CallRejected");
        Assert.Equal(50, lines.Count);
        Assert.All(lines, line => Assert.Equal("_OTHER", line.GetStructuredStateValue("Method")));
    }
}
