using GrpcJwtAuth.Configuration;
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
        var options = CompiledAuthOptions.Create(new GrpcJwtAuthOptions { JwksUri = source.Address }, time);
        using var manager = new SigningKeyManager(options, source, time, NullLogger<SigningKeyManager>.Instance);
        var service = new KeyRefreshHostedService(manager);

        var started = service.StartAsync(CancellationToken.None);

        Assert.True(started.IsCompletedSuccessfully);
        var call = await source.NextCallAsync();
        call.Complete(TestSigningKey.Ec("ec-1"));
        await time.NextRefreshScheduleAsync();
        Assert.Equal(1, manager.Current.Version);
        Assert.True(service.StopAsync(CancellationToken.None).IsCompletedSuccessfully);
    }
}
