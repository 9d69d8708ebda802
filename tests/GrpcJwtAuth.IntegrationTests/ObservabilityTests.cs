using System.Diagnostics;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// What operators see of every decision, over TLS: a metric, activity tags and a log line for each rejection with
/// its reason, one burst warning for a peer that keeps failing, and the token in none of them.
/// </summary>
public class ObservabilityTests : IntegrationTest
{
    private const string Decisions = "grpcjwtauth.server.decisions";

    [Fact]
    public async Task Every_rejection_is_counted_tagged_and_logged_with_its_reason_and_no_metric_activity_log_or_status_quotes_a_token()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RejectionPaths.Options(keys), keys);
        using var metrics = new MetricCapture(server.Services);
        using var activities = new ActivityCapture(server.Services);
        var accepted = RejectionPaths.Accepted(keys);
        var paths = RejectionPaths.Create(keys);

        await RejectionPaths.RunAsync(server, accepted, paths);

        // Keys unavailable: a second server whose key source has never answered.
        var downKeys = await StartKeyServerAsync(TestKeys.Primary);
        downKeys.SetBehavior(KeyServerBehavior.Fail);
        var down = await StartServerAsync(RejectionPaths.Options(downKeys), downKeys, expectedErrors: ["KeyRefreshFailedNoKeys"]);
        using var downMetrics = new MetricCapture(down.Services);
        var unavailable = new TestTokenFactory(TimeProvider.System).Create(TestKeys.Primary, issuer: downKeys.Issuer);
        await Rejection.AssertAsync(
            () => down.Probe.CallUnaryAsync(Auth.Bearer(unavailable)), StatusCode.Unavailable, Details.KeysUnavailable, unavailable);

        // Metrics: one decision per call, by outcome, error type and method (rpc.method: package.Service/Method).
        string[] expected =
        [
            $"allowed/none/{RejectionPaths.Unary[1..]}",
            .. paths.Select(path => $"{Outcome(path.Code)}/{path.Reason}/{path.Method[1..]}"),
        ];
        Assert.Equal(expected.Order(), Decided(metrics).Order());
        Assert.Equal([$"unavailable/keys_unavailable/{RejectionPaths.Unary[1..]}"], Decided(downMetrics));
        Assert.All(metrics.Of(Decisions), m => Assert.Equal(
            m.Tag("grpcjwtauth.outcome") == "allowed" ? ["grpcjwtauth.outcome", "rpc.method"] : ["error.type", "grpcjwtauth.outcome", "rpc.method"],
            m.Tags.Keys.Order()));

        // Activities: the request activity of each call says how it was decided; never who the caller is, unless the
        // app opts in (RecordUserId), since that is personal data.
        await activities.WaitForCountAsync(paths.Count + 1).DefaultTimeout();
        var decided = activities.Activities.Where(a => a.GetTagItem("grpcjwtauth.outcome") is not null).ToList();
        Assert.Equal(
            expected.Select(e => string.Join('/', e.Split('/')[..2])).Order(),
            decided.Select(a => $"{a.GetTagItem("grpcjwtauth.outcome")}/{a.GetTagItem("error.type") ?? "none"}").Order());
        Assert.All(decided, a => Assert.Null(a.GetTagItem("user.id")));
        Assert.All(decided, a => Assert.Null(a.GetTagItem("enduser.id")));

        // Logs: a Debug line per rejection with its reason, and one Warning for the peer that caused them all.
        var lines = server.Logs.WithEvent("CallRejected").Concat(server.Logs.WithEvent("CallDenied")).ToList();
        Assert.Equal(paths.Select(path => path.Reason).Order(), lines.Select(line => line.GetStructuredStateValue("Reason")).Order());
        Assert.All(lines, line => Assert.Equal(LogLevel.Debug, line.Level));
        var burst = Assert.Single(server.Logs.WithEvent("RejectionBurst"));
        Assert.Equal(LogLevel.Warning, burst.Level);
        Assert.Equal("ipv4:127.0.0.1", burst.GetStructuredStateValue("Peer"));

        // And the tokens are nowhere: not in any metric tag, activity, log record (framework ones included) or, as
        // RunAsync checked call by call, in any status the clients got.
        var used = RejectionPaths.Tokens(accepted, paths).Append(unavailable).ToList();
        Assert.Empty(SecretScan.Leaks(metrics.Measurements.Concat(downMetrics.Measurements).Select(m => m.ToString()), used));
        Assert.Empty(SecretScan.Leaks(activities.Activities.Select(ActivityCapture.Describe), used));
        Assert.Empty(SecretScan.Leaks(server.Logs, used));
        Assert.Empty(SecretScan.Leaks(down.Logs, used));
        Assert.Empty(SecretScan.Leaks(keys.Logs, used));
    }

    [Fact]
    public async Task Key_refreshes_and_key_gauges_are_measured_on_the_GrpcJwtAuth_meter()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(RejectionPaths.Options(keys), keys);
        using var metrics = new MetricCapture(server.Services);
        await server.Logs.WaitForEventCountAsync("KeysRefreshed", 1).DefaultTimeout();

        // A token with a kid the server has not seen makes it fetch the key set again.
        keys.Publish(TestKeys.Primary, TestKeys.Next);
        var token = new TestTokenFactory(TimeProvider.System).Create(TestKeys.Next, issuer: keys.Issuer);
        await server.Probe.CallUnaryAsync(Auth.Bearer(token));
        metrics.RecordObservableInstruments();

        var refresh = Assert.Single(metrics.Of("grpcjwtauth.keys.refreshes"), m => m.Tag("grpcjwtauth.keys.trigger") == "unknown_key");
        Assert.Equal("success", refresh.Tag("grpcjwtauth.outcome"));
        Assert.Equal("default", refresh.Tag("grpcjwtauth.issuer"));
        Assert.Equal("s", Assert.Single(metrics.Of("grpcjwtauth.keys.refresh.duration"), m => m.Tag("grpcjwtauth.keys.trigger") == "unknown_key").Unit);
        Assert.Equal(2, Assert.Single(metrics.Of("grpcjwtauth.keys.held")).Value);
        Assert.InRange(Assert.Single(metrics.Of("grpcjwtauth.keys.age")).Value, 0, 60);
        Assert.Empty(SecretScan.Leaks(metrics.Measurements.Select(m => m.ToString()), [token]));
    }

    private static string Outcome(StatusCode code) => code switch
    {
        StatusCode.Unauthenticated => "unauthenticated",
        StatusCode.PermissionDenied => "permission_denied",
        StatusCode.Unavailable => "unavailable",
        _ => throw new ArgumentOutOfRangeException(nameof(code)),
    };

    private static List<string> Decided(MetricCapture metrics) =>
        metrics.Of(Decisions).Select(m => $"{m.Tag("grpcjwtauth.outcome")}/{m.Tag("error.type") ?? "none"}/{m.Tag("rpc.method")}").ToList();
}
