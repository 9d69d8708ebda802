using Greeter.Sample.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Health.V1;
using GrpcJwtAuth.IntegrationTests.Infrastructure;

namespace Greeter.Sample.Tests;

/// <summary>The gRPC health service, open to anonymous callers by a rule in the sample's appsettings.json.</summary>
public class HealthTests : SampleTest
{
    [Fact]
    public async Task Health_check_answers_SERVING_without_a_token()
    {
        var server = await StartServerAsync();
        var health = new Health.HealthClient(server.CreateChannel());

        var reply = await health.CheckAsync(new HealthCheckRequest()).ResponseAsync.DefaultTimeout();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Health_check_needs_a_token_once_configuration_turns_its_AllowAnonymous_rule_off()
    {
        var server = await StartServerAsync(["--GrpcJwtAuth:Rules:1:AllowAnonymous", "false"]);
        var health = new Health.HealthClient(server.CreateChannel());

        var rejection = await Assert.ThrowsAsync<RpcException>(() => health.CheckAsync(new HealthCheckRequest()).ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unauthenticated, rejection.StatusCode);
        Assert.Equal("missing token: send 'authorization: Bearer <token>' metadata", rejection.Status.Detail);
    }
}
