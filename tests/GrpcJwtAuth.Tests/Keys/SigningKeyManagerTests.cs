using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace GrpcJwtAuth.Tests.Keys;

public sealed class SigningKeyManagerTests : IDisposable
{
    private static readonly DateTimeOffset StartTime = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly TimeSpan AutomaticInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan MinimumInterval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);

    private static readonly TestSigningKey KeyA = TestSigningKey.Ec("key-a");
    private static readonly TestSigningKey KeyB = TestSigningKey.Ec("key-b");
    private static readonly TestSigningKey StaticKey = TestSigningKey.Ec("static-1");

    private readonly RefreshRecordingTimeProvider _time = new(StartTime);
    private readonly FakeRemoteKeySource _source = new();
    private readonly FakeLogger<SigningKeyManager> _logger = new();
    private readonly List<SigningKeyManager> _managers = [];

    public void Dispose()
    {
        foreach (var manager in _managers)
        {
            manager.Dispose();
        }
    }

    [Fact]
    public void Constructor_DoesNotFetch_CurrentHoldsStaticKeysAtVersionZero()
    {
        var manager = Create(options => options.StaticKeys.Add(StaticKey.ToStaticKey()));

        Assert.Equal(0, _source.Calls);
        Assert.Equal(0, manager.Current.Version);
        Assert.Equal(["static-1"], KeyIds(manager.Current));
        Assert.Null(manager.Current.RefreshedAt);
        Assert.True(manager.HasRemoteSource);
    }

    [Fact]
    public async Task Start_CalledTwice_FetchesOnce()
    {
        _source.Returns(KeyA);
        var manager = Create();

        manager.Start();
        manager.Start();
        await _time.NextRefreshScheduleAsync();

        Assert.Equal(1, _source.Calls);
        Assert.Equal(1, _time.RefreshTimers);
        Assert.Equal(1, manager.Current.Version);
        Assert.Equal(["key-a"], KeyIds(manager.Current));
        Assert.Equal(StartTime, manager.Current.RefreshedAt);
        Assert.Contains(_logger.Collector.GetSnapshot(), record => record.Id.Name == "KeysRefreshed");
    }

    [Fact]
    public async Task Start_WithStaticKeys_CurrentHoldsStaticAndRemoteKeys()
    {
        _source.Returns(KeyA, KeyB);
        var manager = Create(options => options.StaticKeys.Add(StaticKey.ToStaticKey()));

        manager.Start();
        await _time.NextRefreshScheduleAsync();

        Assert.Equal(["static-1", "key-a", "key-b"], KeyIds(manager.Current));
        Assert.Equal(KeyMatch.Found, manager.Current.Find("key-b", "ES256", out var keys));
        Assert.Same(KeyB.PublicKey, Assert.Single(keys));
    }

    [Fact]
    public void Start_AfterDispose_DoesNothing()
    {
        _source.Returns(KeyA);
        var manager = Create();

        manager.Dispose();
        manager.Start();

        Assert.Equal(0, _time.RefreshTimers);
        Assert.Equal(0, manager.Current.Version);
    }

    [Fact]
    public async Task Dispose_AfterStart_DisposesTheRefreshTimer()
    {
        _source.Returns(KeyA);
        var manager = Create();
        manager.Start();
        await _time.NextRefreshScheduleAsync();

        manager.Dispose();

        Assert.Equal(1, _time.DisposedRefreshTimers);
    }

    [Fact]
    public async Task ScheduledRefresh_AfterAutomaticInterval_FetchesAgain()
    {
        _source.Returns(KeyA);
        var manager = Create();
        manager.Start();
        await _time.NextRefreshScheduleAsync();
        _source.Returns(KeyB);

        // Whatever the jitter, the whole interval always reaches the timer.
        _time.Advance(AutomaticInterval);
        await _time.NextRefreshScheduleAsync();

        Assert.Equal(2, _source.Calls);
        Assert.Equal(2, manager.Current.Version);
        Assert.Equal(["key-b"], KeyIds(manager.Current));
        Assert.Equal(StartTime + AutomaticInterval, manager.Current.RefreshedAt);
    }

    [Fact]
    public async Task ScheduledRefresh_Delay_IsTheAutomaticIntervalLessAtMostFivePercent()
    {
        _source.Returns(KeyA);
        var manager = Create();
        manager.Start();

        for (var refresh = 1; refresh <= 5; refresh++)
        {
            var delay = await _time.NextRefreshScheduleAsync();

            Assert.InRange(delay, AutomaticInterval * 0.95, AutomaticInterval);
            Assert.Equal(refresh, _source.Calls);
            Assert.Equal(refresh, manager.Current.Version);
            _time.Advance(delay);
        }
    }

    [Fact]
    public async Task ScheduledRefresh_Failing_KeepsLastKnownGoodAndRetriesAfterMinimumInterval()
    {
        _source.Returns(KeyA);
        var manager = Create();
        manager.Start();
        var delay = await _time.NextRefreshScheduleAsync();
        var good = manager.Current;
        _source.Throws();

        _time.Advance(delay);
        var retry = await _time.NextRefreshScheduleAsync();

        Assert.Equal(2, _source.Calls);
        Assert.Same(good, manager.Current);
        Assert.Equal(1, manager.Current.Version);
        Assert.Equal(["key-a"], KeyIds(manager.Current));
        Assert.Equal(MinimumInterval, retry);
        var warning = Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "KeyRefreshFailedUsingLastKnownGood");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.IsType<HttpRequestException>(warning.Exception);
    }

    [Fact]
    public async Task ScheduledRefresh_RecoversAfterFailure_ReplacesTheKeys()
    {
        _source.Returns(KeyA);
        var manager = Create();
        manager.Start();
        _time.Advance(await _time.NextRefreshScheduleAsync());
        _source.Throws();
        _time.Advance(await _time.NextRefreshScheduleAsync());
        var retry = await _time.NextRefreshScheduleAsync();
        _source.Returns(KeyB);

        _time.Advance(retry);
        var next = await _time.NextRefreshScheduleAsync();

        Assert.Equal(["key-b"], KeyIds(manager.Current));
        Assert.InRange(next, AutomaticInterval * 0.95, AutomaticInterval);
    }

    [Fact]
    public async Task RefreshAsync_Failing_ReturnsThePreviousSet()
    {
        _source.Returns(KeyA);
        var manager = Create();
        var good = await manager.RefreshAsync(RefreshTrigger.Scheduled).WaitAsync(TestTimeout);
        _source.Throws();

        var result = await manager.RefreshAsync(RefreshTrigger.Scheduled).WaitAsync(TestTimeout);

        Assert.Same(good, result);
        Assert.Same(good, manager.Current);
        Assert.Equal(2, _source.Calls);
    }

    [Fact]
    public async Task Start_FailingWithoutKeys_RetriesAfterOneTwoFourSecondsUpToMinimumInterval()
    {
        _source.Throws();
        var manager = Create(options => options.JwksMinimumRefreshInterval = TimeSpan.FromSeconds(10));
        manager.Start();

        foreach (var expected in new[] { 1, 2, 4, 8, 10, 10, 10 })
        {
            var delay = await _time.NextRefreshScheduleAsync();
            Assert.Equal(TimeSpan.FromSeconds(expected), delay);
            Assert.True(manager.Current.IsEmpty);
            _time.Advance(delay);
        }

        await _time.NextRefreshScheduleAsync();
        Assert.Equal(8, _source.Calls);
        var error = Assert.IsType<FakeLogRecord>(_logger.Collector.GetSnapshot().First(record => record.Id.Name == "KeyRefreshFailedNoKeys"));
        Assert.Equal(LogLevel.Error, error.Level);
    }

    [Fact]
    public async Task Start_FailingWithoutKeys_RecoversOnTheNextRetry()
    {
        _source.Throws();
        var manager = Create();
        manager.Start();
        var retry = await _time.NextRefreshScheduleAsync();
        _source.Returns(KeyA);

        _time.Advance(retry);
        var next = await _time.NextRefreshScheduleAsync();

        Assert.Equal(TimeSpan.FromSeconds(1), retry);
        Assert.Equal(1, manager.Current.Version);
        Assert.Equal(["key-a"], KeyIds(manager.Current));
        Assert.InRange(next, AutomaticInterval * 0.95, AutomaticInterval);
    }

    [Fact]
    public async Task Start_FailingWithStaticKeysHeld_RetriesAfterMinimumInterval()
    {
        _source.Throws();
        var manager = Create(options => options.StaticKeys.Add(StaticKey.ToStaticKey()));
        manager.Start();

        var retry = await _time.NextRefreshScheduleAsync();

        Assert.Equal(MinimumInterval, retry);
        Assert.Equal(0, manager.Current.Version);
        Assert.Equal(["static-1"], KeyIds(manager.Current));
    }

    [Fact]
    public async Task RefreshAsync_WhileAFetchRuns_JoinsIt()
    {
        _source.Blocks();
        var manager = Create();

        var first = manager.RefreshAsync(RefreshTrigger.Scheduled);
        var second = manager.RefreshAsync(RefreshTrigger.Startup);
        var call = await _source.NextCallAsync();
        call.Complete(KeyA);

        Assert.Same(first, second);
        Assert.Same(await first.WaitAsync(TestTimeout), manager.Current);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task RefreshForUnknownKeyAsync_HundredConcurrentCallers_ShareOneFetch()
    {
        _source.Blocks();
        var manager = Create();
        var seen = manager.Current;
        using var joined = new CountdownEvent(100);
        using var go = new ManualResetEventSlim();

        var callers = Enumerable.Range(0, 100).Select(_ => Task.Run(() =>
        {
            go.Wait(TestTimeout);
            var pending = manager.RefreshForUnknownKeyAsync(seen, CancellationToken.None).AsTask();
            joined.Signal();
            return pending;
        })).ToArray();
        go.Set();
        var call = await _source.NextCallAsync();
        Assert.True(joined.Wait(TestTimeout), "Not every caller joined.");

        Assert.Equal(1, _source.Calls);
        Assert.All(callers, caller => Assert.False(caller.IsCompleted));
        call.Complete(KeyA);
        var results = await Task.WhenAll(callers).WaitAsync(TestTimeout);

        Assert.Equal(1, _source.Calls);
        Assert.All(results, result => Assert.Same(manager.Current, result));
        Assert.Equal(1, manager.Current.Version);
    }

    [Fact]
    public async Task RefreshForUnknownKeyAsync_AgainWithinMinimumInterval_DoesNotFetch()
    {
        _source.Returns(KeyA);
        var manager = Create();
        var first = await manager.RefreshForUnknownKeyAsync(manager.Current, CancellationToken.None).AsTask().WaitAsync(TestTimeout);
        _source.Returns(KeyB);

        _time.Advance(MinimumInterval - TimeSpan.FromSeconds(1));
        var pending = manager.RefreshForUnknownKeyAsync(first, CancellationToken.None);

        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Same(first, await pending);
        Assert.Equal(1, _source.Calls);
        Assert.Contains(_logger.Collector.GetSnapshot(), record => record.Id.Name == "UnknownKeyRefreshSuppressed");
    }

    [Fact]
    public async Task RefreshForUnknownKeyAsync_AfterMinimumInterval_FetchesAgain()
    {
        _source.Returns(KeyA);
        var manager = Create();
        var first = await manager.RefreshForUnknownKeyAsync(manager.Current, CancellationToken.None).AsTask().WaitAsync(TestTimeout);
        _source.Returns(KeyB);

        _time.Advance(MinimumInterval);
        var second = await manager.RefreshForUnknownKeyAsync(first, CancellationToken.None).AsTask().WaitAsync(TestTimeout);

        Assert.Equal(2, _source.Calls);
        Assert.Equal(2, second.Version);
        Assert.Equal(["key-b"], KeyIds(second));
    }

    [Fact]
    public async Task RefreshForUnknownKeyAsync_SnapshotOlderThanCurrent_ReturnsCurrentWithoutFetch()
    {
        _source.Returns(KeyA);
        var manager = Create();
        var old = manager.Current;
        await manager.RefreshAsync(RefreshTrigger.Scheduled).WaitAsync(TestTimeout);

        var pending = manager.RefreshForUnknownKeyAsync(old, CancellationToken.None);

        Assert.True(pending.IsCompletedSuccessfully);
        var result = await pending;
        Assert.Same(manager.Current, result);
        Assert.Equal(1, result.Version);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task RefreshForUnknownKeyAsync_WhileScheduledFetchRuns_JoinsIt()
    {
        _source.Blocks();
        var manager = Create();
        var scheduled = manager.RefreshAsync(RefreshTrigger.Scheduled);
        var call = await _source.NextCallAsync();

        var pending = manager.RefreshForUnknownKeyAsync(manager.Current, CancellationToken.None).AsTask();
        call.Complete(KeyA);

        Assert.Same(await scheduled.WaitAsync(TestTimeout), await pending.WaitAsync(TestTimeout));
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task RefreshForUnknownKeyAsync_FetchHangs_ReturnsOldSetAfterWaitTimeout()
    {
        _source.Returns(KeyA);
        var manager = Create();
        var old = await manager.RefreshAsync(RefreshTrigger.Scheduled).WaitAsync(TestTimeout);
        await _source.NextCallAsync();
        _source.Blocks();

        var pending = manager.RefreshForUnknownKeyAsync(old, CancellationToken.None).AsTask();
        var call = await _source.NextCallAsync();
        _time.Advance(WaitTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(pending.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var result = await pending.WaitAsync(TestTimeout);

        Assert.Same(old, result);
        Assert.False(call.Task.IsCompleted);
        Assert.Contains(_logger.Collector.GetSnapshot(), record => record.Id.Name == "KeyRefreshWaitTimedOut");

        // The refresh goes on in the background. RefreshAsync joins it, or fetches again when it is already done.
        _source.Returns(KeyB);
        call.Complete(KeyB);
        var after = await manager.RefreshAsync(RefreshTrigger.Scheduled).WaitAsync(TestTimeout);
        Assert.Equal(["key-b"], KeyIds(after));
    }

    [Fact]
    public async Task RefreshForUnknownKeyAsync_CallerCancelled_StopsWaitingButNotTheFetch()
    {
        _source.Blocks();
        var manager = Create();
        using var cancellation = new CancellationTokenSource();

        var pending = manager.RefreshForUnknownKeyAsync(manager.Current, cancellation.Token).AsTask();
        var call = await _source.NextCallAsync();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TestTimeout));
        Assert.False(call.CancellationToken.IsCancellationRequested);
    }

    [Fact]
    public async Task Fetch_LongerThanKeyFetchTimeout_FailsAndKeepsTheOldSet()
    {
        _source.Returns(KeyA);
        var manager = Create();
        manager.Start();
        await _time.NextRefreshScheduleAsync();
        var old = manager.Current;
        await _source.NextCallAsync();
        _source.Blocks();

        var refresh = manager.RefreshAsync(RefreshTrigger.Scheduled);
        var call = await _source.NextCallAsync();
        _time.Advance(FetchTimeout);
        var result = await refresh.WaitAsync(TestTimeout);

        Assert.True(call.CancellationToken.IsCancellationRequested);
        Assert.Same(old, result);
        Assert.Same(old, manager.Current);
        Assert.Equal(MinimumInterval, await _time.NextRefreshScheduleAsync());
        var warning = Assert.Single(_logger.Collector.GetSnapshot(), record => record.Id.Name == "KeyRefreshFailedUsingLastKnownGood");
        Assert.IsType<TimeoutException>(warning.Exception);
    }

    [Fact]
    public async Task Fetch_WithinKeyFetchTimeout_IsNotCancelled()
    {
        _source.Blocks();
        var manager = Create();

        var refresh = manager.RefreshAsync(RefreshTrigger.Scheduled);
        var call = await _source.NextCallAsync();
        _time.Advance(FetchTimeout - TimeSpan.FromMilliseconds(1));
        call.Complete(KeyA);

        Assert.Equal(1, (await refresh.WaitAsync(TestTimeout)).Version);
        Assert.False(call.CancellationToken.IsCancellationRequested);
    }

    [Fact]
    public async Task RefreshAsync_StaticKeysOnly_ReturnsThemWithoutFetching()
    {
        var manager = Create(options => options.StaticKeys.Add(StaticKey.ToStaticKey()), remote: false);
        var current = manager.Current;

        manager.Start();
        var refreshed = manager.RefreshAsync(RefreshTrigger.Scheduled);
        var unknown = manager.RefreshForUnknownKeyAsync(current, CancellationToken.None);

        Assert.False(manager.HasRemoteSource);
        Assert.Equal(["static-1"], KeyIds(current));
        Assert.Equal(0, current.Version);
        Assert.True(refreshed.IsCompletedSuccessfully);
        Assert.Same(current, await refreshed);
        Assert.True(unknown.IsCompletedSuccessfully);
        Assert.Same(current, await unknown);
        Assert.Same(current, manager.Current);
        Assert.Equal(0, _time.RefreshTimers);
        Assert.Equal(0, _source.Calls);
    }

    private SigningKeyManager Create(Action<GrpcJwtAuthOptions>? configure = null, bool remote = true)
    {
        var options = new GrpcJwtAuthOptions
        {
            JwksUri = remote ? _source.Address : null,
            JwksAutomaticRefreshInterval = AutomaticInterval,
            JwksMinimumRefreshInterval = MinimumInterval,
            KeyFetchTimeout = FetchTimeout,
            KeyRefreshWaitTimeout = WaitTimeout,
        };
        configure?.Invoke(options);

        var manager = new SigningKeyManager(CompiledAuthOptions.Create(options, _time).Issuers[0], remote ? _source : null, _time, _logger);
        _managers.Add(manager);
        return manager;
    }

    private static string[] KeyIds(SigningKeySet set) => set.Keys.Select(key => key.KeyId!).ToArray();
}
