using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcJwtAuth.Tests.Keys;

public class KeyRefreshHostedServiceTests
{
    [Fact]
    public async Task StartAsync_RemoteSource_StartsTheFirstFetchWithoutWaitingForIt()
    {
        var time = new RefreshRecordingTimeProvider(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
        var source = new FakeRemoteKeySource();
        source.Blocks();
        var options = CompiledAuthOptions.Create(new GrpcJwtAuthOptions { JwksUri = source.Address, Issuers = { "https://keys.test" } }, time);
        using var manager = new SigningKeyManager(options.Issuers[0], source, time, NullLogger<SigningKeyManager>.Instance);
        var service = new KeyRefreshHostedService(new TrustedIssuers([manager], options.ValidateIssuer));

        var started = service.StartAsync(CancellationToken.None);

        Assert.True(started.IsCompletedSuccessfully);
        var call = await source.NextCallAsync();
        call.Complete(TestSigningKey.Ec("ec-1"));
        await time.NextRefreshScheduleAsync();
        Assert.Equal(1, manager.Current.Version);
        Assert.True(service.StopAsync(CancellationToken.None).IsCompletedSuccessfully);
    }
}
