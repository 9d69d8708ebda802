using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// ASP.NET Core routes gRPC paths whatever their case, so the caller's spelling of a method must never choose its
/// policy: every spelling that runs a method gets exactly that method's rules, and what is logged and counted names
/// the method as declared, never the spelling.
/// </summary>
public class MethodSpellingTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static Action<GrpcJwtAuthOptions> Options => options =>
    {
        TestKeys.StaticOptions(TestKeys.Primary)(options);
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Admin", Roles = { "admin" } });
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Public", AllowAnonymous = true });
    };

    private static string UserToken() =>
        Tokens.Create(TestKeys.Primary, subject: "mallory", claims: new Dictionary<string, object> { ["roles"] = new[] { "user" } });

    [Theory]
    [InlineData("/test.Probe/Admin")]
    [InlineData("/TEST.PROBE/ADMIN")]
    [InlineData("/test.Probe/admin")]
    [InlineData("/test.probe/Admin")]
    [InlineData("/Test.pRoBe/aDmIn")]
    public async Task Every_spelling_of_a_method_gets_its_rule(string path)
    {
        var server = await StartServerAsync(Options);
        var token = UserToken();

        await Rejection.AssertAsync(
            () => RawCalls.UnaryAsync(server.Channel, path, Auth.Bearer(token)), StatusCode.PermissionDenied, Details.MissingRole, token);

        Assert.Equal(0, server.Entries.Total);
    }

    [Theory]
    [InlineData("/TEST.PROBE/UNARY")]
    [InlineData("/test.probe/unary")]
    public async Task Every_spelling_of_a_method_without_a_rule_still_needs_a_token(string path)
    {
        var server = await StartServerAsync(Options);

        await Rejection.AssertAsync(
            () => RawCalls.UnaryAsync(server.Channel, path, Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Theory]
    [InlineData("/TEST.PROBE/PUBLIC")]
    [InlineData("/test.probe/public")]
    public async Task Every_spelling_of_an_anonymous_method_stays_anonymous(string path)
    {
        var server = await StartServerAsync(Options);

        var reply = await RawCalls.UnaryAsync(server.Channel, path, Auth.None);

        Assert.False(reply.PrincipalAuthenticated);
        Assert.Equal(1, server.Entries["Public"]);
    }

    [Fact]
    public async Task Spellings_are_logged_and_counted_as_the_declared_method_and_do_not_grow_any_table()
    {
        var server = await StartServerAsync(Options);
        using var metrics = new MetricCapture(server.Services);
        var token = UserToken();

        var spellings = Spellings("/test.Probe/Admin").Take(200).ToList();
        foreach (var spelling in spellings)
        {
            await Rejection.AssertAsync(
                () => RawCalls.UnaryAsync(server.Channel, spelling, Auth.Bearer(token)), StatusCode.PermissionDenied, Details.MissingRole);
        }

        foreach (var spelling in spellings.Take(50))
        {
            await Rejection.AssertAsync(
                () => RawCalls.UnaryAsync(server.Channel, spelling, Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        }

        Assert.Equal(200, spellings.Distinct(StringComparer.Ordinal).Count());
        var decisions = metrics.Of("grpcjwtauth.server.decisions");
        Assert.Equal(250, decisions.Count);
        Assert.All(decisions, decision => Assert.Equal("test.Probe/Admin", decision.Tag("rpc.method")));
        var lines = server.Logs.WithEvent("CallDenied").Concat(server.Logs.WithEvent("CallRejected")).ToList();
        Assert.Equal(250, lines.Count);
        Assert.All(lines, line => Assert.Equal("/test.Probe/Admin", line.GetStructuredStateValue("Method")));
        var resolved = server.Logs.WithEvent("MethodPolicyResolved").Select(line => line.GetStructuredStateValue("Method")).ToList();
        Assert.Equal(resolved.Distinct(StringComparer.Ordinal).Count(), resolved.Count);
        Assert.Single(resolved, method => method == "/test.Probe/Admin");
    }

    [Fact]
    public async Task A_rule_that_covers_no_mapped_method_is_reported_at_startup_with_the_method_it_nearly_names()
    {
        var server = await StartServerAsync(options =>
        {
            Options(options);
            options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.probe/Unary", Roles = { "admin" } });
            options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/billing.Billing/", Roles = { "admin" } });
        });

        var nearMiss = Assert.Single(server.Logs.WithEvent("RuleMatchesNoMethodButCaseDiffers"));
        Assert.Equal(LogLevel.Warning, nearMiss.Level);
        Assert.Equal("/test.probe/Unary", nearMiss.GetStructuredStateValue("Prefix"));
        Assert.Equal("/test.Probe/Unary", nearMiss.GetStructuredStateValue("Method"));
        var miss = Assert.Single(server.Logs.WithEvent("RuleMatchesNoMethod"));
        Assert.Equal("/billing.Billing/", miss.GetStructuredStateValue("Prefix"));
    }

    /// <summary>Distinct case variants of <paramref name="path"/>, the declared spelling not among them.</summary>
    private static IEnumerable<string> Spellings(string path)
    {
        var letters = path.Select((c, i) => (c, i)).Where(p => char.IsLetter(p.c)).Select(p => p.i).ToArray();
        for (long mask = 1; mask < 1L << Math.Min(letters.Length, 20); mask++)
        {
            var chars = path.ToCharArray();
            for (var bit = 0; bit < Math.Min(letters.Length, 20); bit++)
            {
                if ((mask & (1L << bit)) != 0)
                {
                    var index = letters[bit];
                    chars[index] = char.IsUpper(chars[index]) ? char.ToLowerInvariant(chars[index]) : char.ToUpperInvariant(chars[index]);
                }
            }

            yield return new string(chars);
        }
    }
}
