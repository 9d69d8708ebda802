using Greeter.Client;
using Greeter.Sample.Tests.Infrastructure;
using Grpc.Core;

namespace Greeter.Sample.Tests;

/// <summary>
/// Runs the sample's demo once, as <c>run-demo.sh</c> does, against the sample server with its appsettings.json and
/// development issuer, and checks every case: its status and what the server said.
/// </summary>
public sealed class DemoRun : IAsyncLifetime
{
    // The demo takes about 7 s: 2 s for the stream-cut case (its token has about 2 s of clock skew left) and 4 to 5 s
    // for the renewed stream. Were the first stream not cut it would run for 20 s: the bound is above both, so a case
    // reports a mismatch instead of the whole run timing out.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);

    private SampleServer? _server;

    internal IReadOnlyList<DemoResult> Results { get; private set; } = [];

    /// <summary>What the demo printed.</summary>
    public string Output { get; private set; } = string.Empty;

    internal DemoResult this[string name] => Assert.Single(Results, result => result.Case == name);

    public async Task InitializeAsync()
    {
        _server = await SampleServer.StartAsync();
        using var output = new StringWriter();
        Results = await new Demo(_server.CreateChannel(), _server.CreateDemoTokens(), output).RunCasesAsync().WaitAsync(Bound);
        Output = output.ToString();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public class DemoTests(DemoRun demo) : IClassFixture<DemoRun>
{
    private const string MissingToken = "missing token: send 'authorization: Bearer <token>' metadata";
    private const string TokenExpiredDuringCall = "token expired during the call; start a new call with a fresh token";
    private const string RenewedStream = "long stream renewed 3 times";

    public static readonly TheoryData<string, StatusCode, string> Cases = new()
    {
        { "valid token", StatusCode.OK, "Hello Alice; subject alice; roles [user]" },
        { "admin role allowed", StatusCode.OK, "Hello admin Root" },
        { "admin role denied", StatusCode.PermissionDenied, "missing required role" },
        { "missing token", StatusCode.Unauthenticated, MissingToken },
        { "expired token", StatusCode.Unauthenticated, "token expired 10 min ago by the server's clock (allowed skew 30 s)" },
        { "wrong audience", StatusCode.Unauthenticated, "audience not accepted" },
        { "tampered signature", StatusCode.Unauthenticated, "signature invalid" },
        { "server stream", StatusCode.OK, "3 replies" },
        { "stream over the limit denied", StatusCode.PermissionDenied, "authorization policy 'bounded-stream' failed" },
        { "stream over the limit, admin", StatusCode.OK, "1500 replies" },
        { "bidi chat", StatusCode.OK, "Hello one / Hello two / Hello three" },
        { "stream cut when token expires", StatusCode.Unauthenticated, TokenExpiredDuringCall },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Demo_case_ends_with_the_expected_status_and_detail(string name, StatusCode expected, string detail)
    {
        var result = demo[name];

        Assert.True(result.Expected == expected, $"The demo itself expects {result.Expected} for '{name}', this test {expected}.");
        Assert.True(result.Actual == expected, $"'{name}' ended with {result.Actual?.ToString() ?? "an error outside gRPC"}: {result.Detail}");
        Assert.Equal(detail, result.Detail);
        Assert.True(result.AsExpected);
    }

    [Fact]
    public void Demo_runs_exactly_the_cases_checked_here_in_order()
    {
        Assert.Equal(Cases.Select(row => (string)row[0]).Append(RenewedStream), demo.Results.Select(result => result.Case));
    }

    [Fact]
    public void Long_stream_outlives_its_first_token_renewed_at_least_three_times_by_the_client()
    {
        var result = demo[RenewedStream];

        Assert.True(result.AsExpected, result.Detail);
        var match = System.Text.RegularExpressions.Regex.Match(
            result.Detail, @"^\d+ replies in \d+\.\d s, past its first token's end at \d+\.\d s; renewed (\d+) times$");
        Assert.True(match.Success, result.Detail);
        Assert.InRange(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 3, 4);
    }

    [Fact]
    public void Stream_whose_token_expires_is_cut_within_seconds_instead_of_running_its_twenty_seconds()
    {
        var result = demo["stream cut when token expires"];

        Assert.InRange(result.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Demo_prints_one_line_per_case_and_no_mismatch()
    {
        foreach (var result in demo.Results)
        {
            Assert.Contains(result.Case, demo.Output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("MISMATCH", demo.Output, StringComparison.Ordinal);
    }
}
