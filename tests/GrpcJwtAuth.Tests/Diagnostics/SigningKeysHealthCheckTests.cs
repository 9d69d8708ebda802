using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Keys;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcJwtAuth.Tests.Diagnostics;

public sealed class SigningKeysHealthCheckTests : IDisposable
{
    private static readonly TimeSpan AutomaticInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan MinimumInterval = TimeSpan.FromMinutes(5);
    private static readonly TestSigningKey KeyA = TestSigningKey.Ec("key-a");

    private readonly FakeRemoteKeySource _source = new();
    private readonly List<IDisposable> _owned = [];

    public void Dispose() => _owned.ForEach(owned => owned.Dispose());

    [Fact]
    public async Task Check_StaticKeysOnly_Healthy()
    {
        var harness = Harness(source: null, staticKey: true);

        var result = await CheckAsync(harness);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal("Validating with 1 static key.", result.Description);
        Assert.Equal(1, result.Data["keys"]);
        Assert.Equal(false, result.Data["remote_source"]);
    }

    [Fact]
    public async Task Check_RemoteSourceBeforeTheFirstFetch_Unhealthy()
    {
        var harness = Harness(_source, staticKey: false);

        var result = await CheckAsync(harness);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.StartsWith("No signing keys are held (the first fetch from the key source has not finished)", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_RemoteSourceAndStaticKeysBeforeTheFirstFetch_Degraded()
    {
        var harness = Harness(_source, staticKey: true);

        var result = await CheckAsync(harness);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal("The first fetch from the key source has not finished; validating with 1 static key only.", result.Description);
    }

    [Fact]
    public async Task Check_ThroughAKeySourceOutage_HealthyThenDegradedOnLastKnownGoodThenHealthyAgain()
    {
        _source.Returns(KeyA);
        var harness = Harness(_source, staticKey: false);
        var start = harness.Time.GetUtcNow();
        harness.Keys.Start();
        await harness.Time.NextRefreshScheduleAsync();

        var fresh = await CheckAsync(harness);
        Assert.Equal(HealthStatus.Healthy, fresh.Status);
        Assert.Equal($"Validating with 1 signing key fetched at {start:O}.", fresh.Description);

        // The key source goes down: the scheduled refresh fails, and so does the retry after the minimum interval.
        _source.Throws();
        harness.Time.Advance(AutomaticInterval);
        await harness.Time.NextRefreshScheduleAsync();
        var firstFailure = harness.Time.GetUtcNow();

        var degraded = await CheckAsync(harness);
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Equal(
            $"Fetching signing keys failed (1 in a row, the last at {firstFailure:O}); validating with the 1 last known good key loaded at {start:O}.",
            degraded.Description);
        Assert.Equal(1, degraded.Data["consecutive_failures"]);
        Assert.Equal(false, degraded.Data["last_refresh_succeeded"]);
        Assert.Equal("scheduled", degraded.Data["last_refresh_trigger"]);
        Assert.Equal("HttpRequestException", degraded.Data["last_error_type"]);
        Assert.Equal(AutomaticInterval.TotalSeconds, degraded.Data["age_seconds"]);

        harness.Time.Advance(MinimumInterval);
        await harness.Time.NextRefreshScheduleAsync();
        var stillDegraded = await CheckAsync(harness);
        Assert.Equal(HealthStatus.Degraded, stillDegraded.Status);
        Assert.Equal(2, stillDegraded.Data["consecutive_failures"]);

        // It comes back.
        _source.Returns(KeyA);
        harness.Time.Advance(MinimumInterval);
        await harness.Time.NextRefreshScheduleAsync();

        var recovered = await CheckAsync(harness);
        Assert.Equal(HealthStatus.Healthy, recovered.Status);
        Assert.Equal(0, recovered.Data["consecutive_failures"]);
        Assert.Equal(true, recovered.Data["last_refresh_succeeded"]);
    }

    [Fact]
    public async Task Check_KeySourceDownAtStartup_UnhealthyUntilItAnswers()
    {
        _source.Throws();
        var harness = Harness(_source, staticKey: false);
        harness.Keys.Start();
        var retry = await harness.Time.NextRefreshScheduleAsync();

        var down = await CheckAsync(harness);
        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.Equal(
            $"No signing keys are held (1 fetch from the key source failed, the last at {harness.Time.GetUtcNow():O}): calls that need a token are rejected with Unavailable.",
            down.Description);
        Assert.Equal("startup", down.Data["last_refresh_trigger"]);

        _source.Returns(KeyA);
        harness.Time.Advance(retry);
        await harness.Time.NextRefreshScheduleAsync();

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(harness)).Status);
    }

    [Fact]
    public async Task Check_StaticKeysAndKeySourceDown_DegradedOnStaticKeysOnly()
    {
        _source.Throws();
        var harness = Harness(_source, staticKey: true);
        harness.Keys.Start();
        await harness.Time.NextRefreshScheduleAsync();

        var result = await CheckAsync(harness);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.EndsWith("validating with 1 static key only.", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_NoKeysAndTheRegistrationsFailureStatusIsDegraded_ReportsDegraded()
    {
        var harness = Harness(_source, staticKey: false);

        var result = await CheckAsync(harness, HealthStatus.Degraded);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.StartsWith("No signing keys are held", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OneOfTwoIssuersWithoutKeys_DegradedNotFailedAndEachIssuerReported()
    {
        var time = new RefreshRecordingTimeProvider(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
        var options = new GrpcJwtAuthOptions { Authority = "https://idp.test" };
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "key-a", Pem = KeyA.PublicPem, Issuer = "https://services.test" });
        var compiled = CompiledAuthOptions.Create(options, time);
        var idp = new SigningKeyManager(compiled.Issuers[0], _source, time, NullLogger<SigningKeyManager>.Instance);
        var services = new SigningKeyManager(compiled.Issuers[1], null, time, NullLogger<SigningKeyManager>.Instance);
        _owned.Add(idp);
        _owned.Add(services);
        var check = new SigningKeysHealthCheck(new TrustedIssuers([idp, services], validateIssuer: true), time);

        var result = check.Check(HealthStatus.Unhealthy);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal(
            "Issuer default: No signing keys are held (the first fetch from the key source has not finished): calls that need a token are rejected with Unavailable. " +
            "Issuer https://services.test: Validating with 1 static key.",
            result.Description);
        Assert.Equal(0, result.Data["default.keys"]);
        Assert.Equal(1, result.Data["https://services.test.keys"]);
    }

    [Fact]
    public async Task AddGrpcJwtAuthKeys_WithAddGrpcJwtAuth_IsRunByTheHealthCheckService()
    {
        var services = Services();
        services.AddGrpcJwtAuth(options =>
        {
            options.StaticKeys.Add(KeyA.ToStaticKey());
            options.Issuers.Add(TestTokenFactory.DefaultIssuer);
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
        });
        services.AddHealthChecks().AddGrpcJwtAuthKeys(tags: ["ready"]);
        using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = Assert.Single(report.Entries);
        Assert.Equal(GrpcJwtAuthDefaults.KeysHealthCheckName, entry.Key);
        Assert.Equal(HealthStatus.Healthy, entry.Value.Status);
        Assert.Equal(new[] { "ready" }, entry.Value.Tags);
    }

    [Fact]
    public async Task AddGrpcJwtAuthKeys_WithoutAddGrpcJwtAuth_UnhealthySayingWhatToCall()
    {
        var services = Services();
        services.AddHealthChecks().AddGrpcJwtAuthKeys("keys");
        using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["keys"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal("GrpcJwtAuth is not registered: call services.AddGrpcJwtAuth() as well as AddGrpcJwtAuthKeys().", entry.Description);
    }

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        return services;
    }

    private static Task<HealthCheckResult> CheckAsync(DiagnosticsHarness harness, HealthStatus failureStatus = HealthStatus.Unhealthy)
    {
        var check = new SigningKeysHealthCheck(harness.Issuers, harness.Time);
        return check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("keys", check, failureStatus, null) });
    }

    private DiagnosticsHarness Harness(FakeRemoteKeySource? source, bool staticKey)
    {
        var harness = new DiagnosticsHarness(
            options =>
            {
                options.JwksAutomaticRefreshInterval = AutomaticInterval;
                options.JwksMinimumRefreshInterval = MinimumInterval;
            },
            source,
            staticKey);
        _owned.Add(harness);
        return harness;
    }
}
