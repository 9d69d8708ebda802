using GrpcJwtAuth.Testing;

namespace Greeter.Sample.Tests.Infrastructure;

/// <summary>Starts sample servers that <see cref="OwningTest"/> disposes after the test, newest first.</summary>
public abstract class SampleTest : OwningTest
{
    protected async Task<SampleServer> StartServerAsync(IEnumerable<string>? arguments = null, IEnumerable<string>? expectedErrors = null) =>
        Own(await SampleServer.StartAsync(arguments, expectedErrors));
}
