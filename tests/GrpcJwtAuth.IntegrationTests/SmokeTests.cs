namespace GrpcJwtAuth.IntegrationTests;

public class SmokeTests
{
    [Fact]
    public void Proto_compiles() => Assert.NotNull(Protos.Probe.Descriptor);
}
