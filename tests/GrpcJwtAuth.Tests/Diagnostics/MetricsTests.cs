using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Keys;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcJwtAuth.Tests.Diagnostics;

public sealed class MetricsTests : IDisposable
{
    private const string Method = DiagnosticsHarness.Method;
    private const string RpcMethod = "greet.Greeter/SayHello";

    private readonly List<IDisposable> _owned = [];

    public void Dispose() => _owned.ForEach(owned => owned.Dispose());

    [Theory]
    [InlineData("valid", "allowed", "none")]
    [InlineData("anonymous", "anonymous", "none")]
    [InlineData("no header", "unauthenticated", "missing_token")]
    [InlineData("basic", "unauthenticated", "not_bearer")]
    [InlineData("two tokens", "unauthenticated", "malformed_authorization")]
    [InlineData("not a jwt", "unauthenticated", "malformed_token")]
    [InlineData("expired", "unauthenticated", "token_expired")]
    [InlineData("forged", "unauthenticated", "invalid_signature")]
    [InlineData("unknown kid", "unauthenticated", "key_not_found")]
    [InlineData("other audience", "unauthenticated", "audience_not_accepted")]
    [InlineData("missing role", "permission_denied", "missing_role")]
    public async Task Decision_EachCase_CountedOnceWithOutcomeReasonAndMethod(string call, string outcome, string reason)
    {
        var harness = Own(new DiagnosticsHarness(options =>
        {
            if (call == "anonymous")
            {
                options.Rules.Add(new GrpcJwtAuthRule { Prefix = Method, AllowAnonymous = true });
            }
        }));
        using var decisions = harness.Collect<long>(Metrics.DecisionsName);
        var tokens = harness.Tokens;
        var key = DiagnosticsHarness.Key;

        var failure = call switch
        {
            "valid" or "anonymous" => await harness.AuthenticateAsync("Bearer " + tokens.Create(key)),
            "no header" => await harness.AuthenticateAsync(null),
            "basic" => await harness.AuthenticateAsync("Basic dXNlcjpwYXNz"),
            "two tokens" => await harness.AuthenticateAsync($"Bearer {tokens.Create(key)} {tokens.Create(key)}"),
            "not a jwt" => await harness.AuthenticateAsync("Bearer not-a-jwt"),
            "expired" => await harness.AuthenticateAsync("Bearer " + tokens.Create(key, lifetime: TimeSpan.FromMinutes(-5))),
            "forged" => await harness.AuthenticateAsync("Bearer " + tokens.Create(TestSigningKey.Ec("ec-1"))),
            "unknown kid" => await harness.AuthenticateAsync("Bearer " + tokens.Create(TestSigningKey.Ec("ec-2"))),
            "other audience" => await harness.AuthenticateAsync("Bearer " + tokens.Create(key, audience: "api://other")),
            "missing role" => await harness.AuthenticateAsync("Bearer " + tokens.Create(key), new AuthorizeAttribute { Roles = "admin" }),
            _ => throw new ArgumentOutOfRangeException(nameof(call)),
        };

        var measurement = Assert.Single(decisions.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.Equal(outcome, measurement.Tags[Metrics.OutcomeTag]);
        Assert.Equal(reason, ErrorType(measurement.Tags));
        Assert.Equal(RpcMethod, measurement.Tags[Metrics.MethodTag]);
        Assert.Equal(reason == "none" ? 2 : 3, measurement.Tags.Count);
        Assert.Equal(reason, AuthFailures.Get(failure).Tag);
    }

    [Fact]
    public async Task Decision_MixedCalls_CountsAddUpPerOutcomeAndReason()
    {
        var harness = Own(new DiagnosticsHarness());
        using var decisions = harness.Collect<long>(Metrics.DecisionsName);
        var valid = "Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key);

        for (var i = 0; i < 3; i++)
        {
            await harness.AuthenticateAsync(valid);
        }

        await harness.AuthenticateAsync("Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key, lifetime: TimeSpan.FromMinutes(-1)));
        await harness.AuthenticateAsync("Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key, lifetime: TimeSpan.FromMinutes(-2)));
        await harness.AuthenticateAsync(null);

        var counts = decisions.GetMeasurementSnapshot()
            .GroupBy(m => $"{m.Tags[Metrics.OutcomeTag]}/{ErrorType(m.Tags)}")
            .ToDictionary(group => group.Key, group => group.Sum(m => m.Value));
        Assert.Equal(
            new Dictionary<string, long>
            {
                ["allowed/none"] = 3,
                ["unauthenticated/token_expired"] = 2,
                ["unauthenticated/missing_token"] = 1,
            },
            counts);
    }

    [Fact]
    public async Task Decision_NoKeysHeld_CountedAsUnavailable()
    {
        var source = new FakeRemoteKeySource();
        source.Throws();
        var harness = Own(new DiagnosticsHarness(source: source, staticKey: false));
        using var decisions = harness.Collect<long>(Metrics.DecisionsName);

        var failure = await harness.AuthenticateAsync("Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key));

        Assert.Equal(AuthFailure.KeysUnavailable, failure);
        var measurement = Assert.Single(decisions.GetMeasurementSnapshot());
        Assert.True(measurement.MatchesTags(
            new KeyValuePair<string, object?>(Metrics.OutcomeTag, "unavailable"),
            new KeyValuePair<string, object?>(Metrics.ErrorTypeTag, "keys_unavailable"),
            new KeyValuePair<string, object?>(Metrics.MethodTag, RpcMethod)));
    }

    [Fact]
    public async Task TokenCache_SameTokenThreeTimes_TwoMissesOneHitAndTwoValidationsTimed()
    {
        var harness = Own(new DiagnosticsHarness());
        using var lookups = harness.Collect<long>(Metrics.TokenCacheLookupsName);
        using var durations = harness.Collect<double>(Metrics.ValidationDurationName);
        var token = "Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(AuthFailure.None, await harness.AuthenticateAsync(token));
        }

        // The cache admits a token on its second validation, so the third call is the first hit.
        Assert.Equal(["miss", "miss", "hit"], lookups.GetMeasurementSnapshot().Select(m => m.Tags[Metrics.ResultTag]));
        var timed = durations.GetMeasurementSnapshot();
        Assert.Equal(2, timed.Count);
        Assert.All(timed, duration =>
        {
            Assert.Equal("none", ErrorType(duration.Tags));
            Assert.InRange(duration.Value, 0, 10);
        });
    }

    [Fact]
    public async Task TokenCache_RejectedToken_IsAMissAndItsValidationIsTimedWithTheReason()
    {
        var harness = Own(new DiagnosticsHarness());
        using var lookups = harness.Collect<long>(Metrics.TokenCacheLookupsName);
        using var durations = harness.Collect<double>(Metrics.ValidationDurationName);
        var expired = "Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key, lifetime: TimeSpan.FromMinutes(-5));

        await harness.AuthenticateAsync(expired);
        await harness.AuthenticateAsync(expired);

        Assert.Equal(["miss", "miss"], lookups.GetMeasurementSnapshot().Select(m => m.Tags[Metrics.ResultTag]));
        Assert.Equal(["token_expired", "token_expired"], durations.GetMeasurementSnapshot().Select(m => ErrorType(m.Tags)));
    }

    [Fact]
    public async Task TokenCache_Disabled_NoLookupsCountedAndEveryValidationTimed()
    {
        var harness = Own(new DiagnosticsHarness(options => options.TokenCacheSize = 0));
        using var lookups = harness.Collect<long>(Metrics.TokenCacheLookupsName);
        using var durations = harness.Collect<double>(Metrics.ValidationDurationName);
        var token = "Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key);

        await harness.AuthenticateAsync(token);
        await harness.AuthenticateAsync(token);

        Assert.Empty(lookups.GetMeasurementSnapshot());
        Assert.Equal(2, durations.GetMeasurementSnapshot().Count);
    }

    [Fact]
    public async Task TokenCache_HeaderRejectedBeforeTheCache_NoLookupAndNoValidationTimed()
    {
        var harness = Own(new DiagnosticsHarness());
        using var lookups = harness.Collect<long>(Metrics.TokenCacheLookupsName);
        using var durations = harness.Collect<double>(Metrics.ValidationDurationName);

        await harness.AuthenticateAsync("Basic dXNlcjpwYXNz");

        Assert.Empty(lookups.GetMeasurementSnapshot());
        Assert.Empty(durations.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task KeyRefreshes_StartupScheduledAndUnknownKey_CountedByTriggerAndOutcome()
    {
        var keyA = TestSigningKey.Ec("key-a");
        var keyB = TestSigningKey.Ec("key-b");
        var source = new FakeRemoteKeySource();
        source.Returns(keyA);
        var harness = Own(new DiagnosticsHarness(
            options =>
            {
                options.JwksAutomaticRefreshInterval = TimeSpan.FromHours(1);
                options.JwksMinimumRefreshInterval = TimeSpan.FromMinutes(5);
            },
            source,
            staticKey: false));
        using var refreshes = harness.Collect<long>(Metrics.KeyRefreshesName);
        using var durations = harness.Collect<double>(Metrics.KeyRefreshDurationName);

        harness.Keys.Start();
        await harness.Time.NextRefreshScheduleAsync();
        source.Throws();
        harness.Time.Advance(TimeSpan.FromHours(1));
        await harness.Time.NextRefreshScheduleAsync();
        source.Returns(keyA, keyB);
        harness.Time.Advance(TimeSpan.FromMinutes(5));
        await harness.Time.NextRefreshScheduleAsync();
        await harness.Keys.RefreshForUnknownKeyAsync(harness.Keys.Current, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(
            ["startup/success", "scheduled/failure", "scheduled/success", "unknown_key/success"],
            refreshes.GetMeasurementSnapshot().Select(m => $"{m.Tags[Metrics.TriggerTag]}/{m.Tags[Metrics.OutcomeTag]}"));
        Assert.All(refreshes.GetMeasurementSnapshot(), m => Assert.Equal(1, m.Value));
        Assert.All(refreshes.GetMeasurementSnapshot(), m => Assert.Equal("default", m.Tags[Metrics.IssuerTag]));
        Assert.Equal(
            [null, "HttpRequestException", null, null],
            refreshes.GetMeasurementSnapshot().Select(m => m.Tags.GetValueOrDefault(Metrics.ErrorTypeTag)));
        Assert.Equal(4, durations.GetMeasurementSnapshot().Count);
    }

    [Fact]
    public async Task KeyGauges_KeysHeldAndKeySetAge_FollowTheKeySet()
    {
        var source = new FakeRemoteKeySource();
        source.Returns(TestSigningKey.Ec("key-a"), TestSigningKey.Ec("key-b"));
        var harness = Own(new DiagnosticsHarness(source: source));
        using var held = harness.Collect<long>(Metrics.KeysHeldName);
        using var age = harness.Collect<double>(Metrics.KeySetAgeName);

        held.RecordObservableInstruments();
        age.RecordObservableInstruments();
        Assert.Equal(1, held.LastMeasurement?.Value);
        Assert.Empty(age.GetMeasurementSnapshot());

        harness.Keys.Start();
        await harness.Time.NextRefreshScheduleAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(90));
        held.RecordObservableInstruments();
        age.RecordObservableInstruments();

        Assert.Equal(3, held.LastMeasurement?.Value);
        Assert.Equal("default", held.LastMeasurement?.Tags[Metrics.IssuerTag]);
        Assert.Equal(90, age.LastMeasurement?.Value);
    }

    [Fact]
    public async Task StreamExpiry_TokenExpiresDuringTheCall_CountedAsARejection()
    {
        var harness = Own(new DiagnosticsHarness());
        using var decisions = harness.Collect<long>(Metrics.DecisionsName);
        var context = DiagnosticsHarness.Call("Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key, lifetime: TimeSpan.FromMinutes(1)));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = harness.Interceptor.ServerStreamingServerHandler<string, string>("hi", new NullWriter(), context, async (_, _, ctx) =>
        {
            var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var registration = ctx.CancellationToken.Register(() => cancelled.TrySetResult());
            started.SetResult();
            await cancelled.Task;
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        harness.Time.Advance(TimeSpan.FromMinutes(2));
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => call).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(
            ["allowed/none", "unauthenticated/token_expired_during_call"],
            decisions.GetMeasurementSnapshot().Select(m => $"{m.Tags[Metrics.OutcomeTag]}/{ErrorType(m.Tags)}"));
        var record = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "StreamTokenExpired");
        Assert.Equal(105, record.Id.Id);
        Assert.Equal(LogLevel.Debug, record.Level);
        Assert.Contains("user-1", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddGrpcJwtAuth_MeterComesFromTheHostsMeterFactory()
    {
        var key = DiagnosticsHarness.Key;
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddLogging();
        services.AddGrpcJwtAuth(options =>
        {
            options.StaticKeys.Add(key.ToStaticKey());
            options.Issuers.Add(TestTokenFactory.DefaultIssuer);
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
        });
        using var provider = services.BuildServiceProvider();
        using var decisions = new MetricCollector<long>(
            provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), GrpcJwtAuthDefaults.MeterName, Metrics.DecisionsName);

        var decision = await provider.GetRequiredService<CallAuthorizer>().AuthorizeAsync(DiagnosticsHarness.Call(null), resource: null);

        Assert.Equal(AuthFailure.MissingAuthorization, decision.Failure);
        Assert.Equal("missing_token", ErrorType(Assert.Single(decisions.GetMeasurementSnapshot()).Tags));
    }

    [Fact]
    public void Outcome_EveryFailure_MapsToOneOfTheDocumentedOutcomes()
    {
        string[] documented = ["allowed", "unauthenticated", "permission_denied", "unavailable"];

        Assert.All(Enum.GetValues<AuthFailure>(), failure => Assert.Contains(Metrics.Outcome(failure), documented));
        Assert.All(Enum.GetValues<RefreshTrigger>(), trigger => Assert.NotEqual("other", Metrics.TriggerName(trigger)));
    }

    private T Own<T>(T owned)
        where T : IDisposable
    {
        _owned.Add(owned);
        return owned;
    }

    private sealed class NullWriter : Grpc.Core.IServerStreamWriter<string>
    {
        public Grpc.Core.WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(string message) => Task.CompletedTask;
    }

    /// <summary>The <c>error.type</c> of a measurement, or "none" when it has none (an allowed call, a valid token).</summary>
    private static string ErrorType(IReadOnlyDictionary<string, object?> tags) =>
        tags.TryGetValue(Metrics.ErrorTypeTag, out var value) ? (string)value! : "none";
}
