using System.Diagnostics.Metrics;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests.Internal;

/// <summary>The client's token metrics, as <see cref="CachingAccessTokenProvider"/> records them, on a fake clock.</summary>
public sealed class MetricsTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeTokenSource _source;
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MetricCollector<long> _acquisitions;
    private readonly MetricCollector<double> _durations;

    public MetricsTests()
    {
        _source = new FakeTokenSource(_time);
        var factory = _meters.GetRequiredService<IMeterFactory>();
        _acquisitions = new MetricCollector<long>(factory, Metrics.MeterName, Metrics.AcquisitionsName, _time);
        _durations = new MetricCollector<double>(factory, Metrics.MeterName, Metrics.AcquisitionDurationName, _time);
    }

    public void Dispose()
    {
        _acquisitions.Dispose();
        _durations.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public async Task Acquisition_FirstTokenThenCachedOnes_CountedOnceAsSuccessNotForced()
    {
        var cache = CreateCache();

        for (var i = 0; i < 3; i++)
        {
            await cache.GetTokenAsync().DefaultTimeout();
        }

        var acquisition = Assert.Single(_acquisitions.GetMeasurementSnapshot());
        Assert.Equal(1, acquisition.Value);
        Assert.True(acquisition.MatchesTags(
            new KeyValuePair<string, object?>(Metrics.OutcomeTag, "success"),
            new KeyValuePair<string, object?>(Metrics.ForcedTag, false)));
    }

    [Fact]
    public async Task Acquisition_SlowSource_DurationOnTheCachesClock()
    {
        _source.Blocks();
        var cache = CreateCache();
        var waiting = cache.GetTokenAsync().AsTask();
        var fetch = await _source.WaitForCallAsync(1);

        _time.Advance(TimeSpan.FromSeconds(2.5));
        fetch.Complete(FakeTokenSource.DefaultLifetime);
        await waiting.DefaultTimeout();

        var duration = Assert.Single(_durations.GetMeasurementSnapshot());
        Assert.Equal(2.5, duration.Value);
        Assert.Equal("success", duration.Tags[Metrics.OutcomeTag]);
    }

    [Fact]
    public async Task Acquisition_ServerRejectedTheToken_CountedAsForced()
    {
        var cache = CreateCache();
        var first = await cache.GetTokenAsync().DefaultTimeout();

        await cache.GetFreshTokenAsync(first).DefaultTimeout();

        Assert.Equal([false, true], _acquisitions.GetMeasurementSnapshot().Select(m => m.Tags[Metrics.ForcedTag]));
    }

    [Fact]
    public async Task Acquisition_SourceThrows_CountedAsFailureWithTheExceptionType()
    {
        _source.Throws(new HttpRequestException("token endpoint down"));
        var cache = CreateCache();

        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask().DefaultTimeout());

        var failure = Assert.Single(_acquisitions.GetMeasurementSnapshot());
        Assert.True(failure.MatchesTags(
            new KeyValuePair<string, object?>(Metrics.OutcomeTag, "failure"),
            new KeyValuePair<string, object?>(Metrics.ForcedTag, false),
            new KeyValuePair<string, object?>(Metrics.ErrorTypeTag, "System.Net.Http.HttpRequestException")));
    }

    [Fact]
    public async Task Acquisition_SourcePastFetchTimeout_CountedAsTimeout()
    {
        _source.Blocks();
        var cache = CreateCache(options => options.FetchTimeout = TimeSpan.FromSeconds(30));
        var waiting = cache.GetTokenAsync().AsTask();
        await _source.WaitForCallAsync(1);

        _time.Advance(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<AccessTokenException>(() => waiting.DefaultTimeout());

        Assert.Equal("timeout", Assert.Single(_acquisitions.GetMeasurementSnapshot()).Tags[Metrics.ErrorTypeTag]);
        Assert.Equal(30, Assert.Single(_durations.GetMeasurementSnapshot()).Value);
    }

    [Fact]
    public async Task Acquisition_SourceReturnsAnExpiredToken_CountedAsUnusableToken()
    {
        _source.Returns(call => new AccessToken("secret-token-value", call.StartedAt - TimeSpan.FromMinutes(1)));
        var cache = CreateCache();

        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask().DefaultTimeout());

        var failure = Assert.Single(_acquisitions.GetMeasurementSnapshot());
        Assert.Equal("unusable_token", failure.Tags[Metrics.ErrorTypeTag]);
        Assert.DoesNotContain(failure.Tags.Values, value => value is string text && text.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Acquisition_CallsRefusedDuringBackoff_AreNotCounted()
    {
        _source.Throws(new HttpRequestException("token endpoint down"));
        var cache = CreateCache();
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask().DefaultTimeout());

        // Within the retry delay the cache refuses at once, without asking the source.
        await Assert.ThrowsAsync<AccessTokenException>(() => cache.GetTokenAsync().AsTask().DefaultTimeout());

        Assert.Single(_acquisitions.GetMeasurementSnapshot());
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task AddAccessTokenProvider_UsesTheHostsMeterFactory()
    {
        var services = new ServiceCollection().AddMetrics().AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddAccessTokenProvider((_, _) => ValueTask.FromResult(new AccessToken("t", Start + TimeSpan.FromHours(1))));
        using var provider = services.BuildServiceProvider();
        using var acquisitions = new MetricCollector<long>(
            provider.GetRequiredService<IMeterFactory>(), Metrics.MeterName, Metrics.AcquisitionsName, _time);

        await provider.GetRequiredService<IAccessTokenProvider>().GetTokenAsync().DefaultTimeout();

        Assert.Equal("success", Assert.Single(acquisitions.GetMeasurementSnapshot()).Tags[Metrics.OutcomeTag]);
        Assert.Empty(_acquisitions.GetMeasurementSnapshot());
    }

    private CachingAccessTokenProvider CreateCache(Action<TokenCacheOptions>? configure = null)
    {
        var options = new TokenCacheOptions { RefreshJitter = TimeSpan.Zero };
        configure?.Invoke(options);
        return new CachingAccessTokenProvider(_source, options, _time, logger: null, _meters.GetRequiredService<IMeterFactory>());
    }
}

/// <summary>
/// Caches made without a meter factory share one static meter; this class runs alone (no other test class at the same
/// time), so the measurements it sees are its own.
/// </summary>
[Collection(nameof(SharedMeterCollection))]
public sealed class SharedMeterTests
{
    [Fact]
    public async Task Acquisition_CacheWithoutAMeterFactory_RecordsOnTheSharedGrpcJwtAuthClientMeter()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var acquisitions = new MetricCollector<long>(meterScope: null, Metrics.MeterName, Metrics.AcquisitionsName, time);
        var cache = new CachingAccessTokenProvider(new FakeTokenSource(time), timeProvider: time);

        await cache.GetTokenAsync().DefaultTimeout();

        var acquisition = Assert.Single(acquisitions.GetMeasurementSnapshot());
        Assert.Equal("success", acquisition.Tags[Metrics.OutcomeTag]);
    }
}

[CollectionDefinition(nameof(SharedMeterCollection), DisableParallelization = true)]
public sealed class SharedMeterCollection;
