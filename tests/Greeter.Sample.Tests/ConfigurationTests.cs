extern alias GreeterServer;

using System.Net;
using Greeter.Sample.Tests.Infrastructure;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GreeterClient = global::Greeter.Greeter.GreeterClient;
using GreeterServerApp = GreeterServer::Greeter.Server.GreeterServerApp;

namespace Greeter.Sample.Tests;

/// <summary>The sample server's behaviour comes from its configuration: rules, issuer, addresses.</summary>
public class ConfigurationTests : SampleTest
{
    private const string DevelopmentIssuerWarning = "DEVELOPMENT ISSUER ENABLED";
    private const string DevelopmentCertificateWarning = "Serving with a self-signed development certificate";

    [Fact]
    public async Task SayHelloAdmin_requires_the_admin_role_of_the_appsettings_rule()
    {
        var server = await StartServerAsync();
        var tokens = server.CreateDemoTokens();
        var greeter = new GreeterClient(server.CreateChannel());

        var admin = await SayHelloAdminAsync(greeter, await tokens.GetAsync("root", "admin"));
        var ops = await Assert.ThrowsAsync<RpcException>(async () => await SayHelloAdminAsync(greeter, await tokens.GetAsync("olga", "ops")));

        Assert.Equal("Hello admin Sam", admin.Message);
        Assert.Equal(StatusCode.PermissionDenied, ops.StatusCode);
        Assert.Equal("missing required role", ops.Status.Detail);
    }

    [Fact]
    public async Task SayHelloAdmin_requires_the_role_a_configuration_override_names_instead()
    {
        var server = await StartServerAsync(["--GrpcJwtAuth:Rules:0:Roles:0", "ops"]);
        var tokens = server.CreateDemoTokens();
        var greeter = new GreeterClient(server.CreateChannel());

        var admin = await Assert.ThrowsAsync<RpcException>(async () => await SayHelloAdminAsync(greeter, await tokens.GetAsync("root", "admin")));
        var ops = await SayHelloAdminAsync(greeter, await tokens.GetAsync("olga", "ops"));

        Assert.Equal(StatusCode.PermissionDenied, admin.StatusCode);
        Assert.Equal("missing required role", admin.Status.Detail);
        Assert.Equal("Hello admin Sam", ops.Message);
        Assert.Equal("olga", ops.Subject);
        Assert.Equal(["ops"], ops.Roles);
    }

    [Fact]
    public async Task Development_issuer_is_on_without_an_external_issuer_and_warns_at_startup()
    {
        var server = await StartServerAsync();
        var http = server.CreateHttpClient();

        using var response = await http.PostAsync("/connect/token", Form()).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var warning = Assert.Single(server.Logs.Records, record => record.Message.Contains(DevelopmentIssuerWarning, StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, warning.Level);
    }

    [Fact]
    public async Task Development_issuer_is_off_when_an_Authority_is_configured()
    {
        // Any https authority turns it off; nothing answers on port 1, so the key fetch fails and says so (an Error).
        var server = await StartServerAsync(
            ["--GrpcJwtAuth:Authority", "https://127.0.0.1:1"],
            expectedErrors: ["KeyRefreshFailedNoKeys"]);
        var http = server.CreateHttpClient();

        using var token = await http.PostAsync("/connect/token", Form()).DefaultTimeout();
        using var discovery = await http.GetAsync("/.well-known/openid-configuration").DefaultTimeout();
        using var jwks = await http.GetAsync("/.well-known/jwks.json").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, token.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, discovery.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, jwks.StatusCode);

        // The capture saw the startup warnings GreeterServerApp.Create logs: the certificate one, not the issuer one.
        Assert.Contains(server.Logs.Records, record => record.Message.Contains(DevelopmentCertificateWarning, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Records, record => record.Message.Contains(DevelopmentIssuerWarning, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("https://127.0.0.1:0;http://127.0.0.1:0")]
    public void Server_refuses_a_plaintext_address_at_startup(string urls)
    {
        var directory = Directory.CreateTempSubdirectory("greeter-sample-tests-");
        try
        {
            string[] arguments = [.. SampleServer.Arguments(directory, captureId: "none"), "--urls", urls];

            var refused = Assert.Throws<InvalidOperationException>(() => GreeterServerApp.Create(arguments));

            Assert.Contains("TLS only", refused.Message, StringComparison.Ordinal);
            Assert.Contains("http://127.0.0.1:0", refused.Message, StringComparison.Ordinal);
            Assert.Empty(directory.EnumerateFileSystemInfos());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static Task<HelloReply> SayHelloAdminAsync(GreeterClient greeter, string token) =>
        greeter.SayHelloAdminAsync(
            new HelloRequest { Name = "Sam" },
            new CallOptions(new Metadata { { "authorization", "Bearer " + token } })).ResponseAsync.DefaultTimeout();

    private static FormUrlEncodedContent Form() => new(new Dictionary<string, string>
    {
        ["grant_type"] = "client_credentials",
        ["client_id"] = "sample-tests",
    });
}
