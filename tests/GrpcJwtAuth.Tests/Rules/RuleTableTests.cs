using GrpcJwtAuth.Rules;

namespace GrpcJwtAuth.Tests.Rules;

public class RuleTableTests
{
    private const string Method = "/greet.Greeter/SayHello";

    public static TheoryData<int[]> Orders() => new()
    {
        new[] { 0, 1, 2 },
        new[] { 0, 2, 1 },
        new[] { 1, 0, 2 },
        new[] { 1, 2, 0 },
        new[] { 2, 0, 1 },
        new[] { 2, 1, 0 },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public void Match_SeveralPrefixesMatch_LongestWinsWhateverTheOrder(int[] order)
    {
        string[] prefixes = ["/", "/greet.Greeter/", "/greet.Greeter/SayHello"];
        var table = Compile(order.Select(index => prefixes[index]).ToArray());

        Assert.Equal("/greet.Greeter/SayHello", table.Match(Method)?.Prefix);
        Assert.Equal("/greet.Greeter/", table.Match("/greet.Greeter/SayGoodbye")?.Prefix);
        Assert.Equal("/", table.Match("/other.Service/Call")?.Prefix);
    }

    [Theory]
    [InlineData("/greet.Greeter/SayHello", "/greet.Greeter/SayHello")]
    [InlineData("/greet.Greeter/Other", "/greet.Greeter/")]
    [InlineData("/greet.Greeter2/SayHello", "/greet.")]
    public void Match_NestedPrefixes_ExactMethodBeatsServiceBeatsPackage(string method, string expected)
    {
        var table = Compile("/greet.", "/greet.Greeter/", "/greet.Greeter/SayHello");

        Assert.Equal(expected, table.Match(method)?.Prefix);
    }

    [Theory]
    [InlineData("/other.Service/Call")]
    [InlineData("/Greet.Greeter/SayHello")]
    [InlineData("greet.Greeter/SayHello")]
    [InlineData("/greet.Greeter")]
    [InlineData("")]
    public void Match_NoPrefixMatches_ReturnsNull(string method)
    {
        var table = Compile("/greet.Greeter/", "/health.Health/Check");

        Assert.Null(table.Match(method));
    }

    [Theory]
    [InlineData("/greet.Greeter/SayHello")]
    [InlineData("/grpc.health.v1.Health/Check")]
    [InlineData("/")]
    public void Match_RootPrefix_MatchesEverything(string method)
    {
        Assert.Equal("/", Compile("/").Match(method)?.Prefix);
    }

    [Fact]
    public void Match_MethodPrefix_DoesNotMatchLongerMethodNames()
    {
        // A rule for one method must not open (or close) another whose name merely starts the same way.
        var table = Compile("/greet.Greeter/SayHello");

        Assert.Null(table.Match("/greet.Greeter/SayHelloStream"));
        Assert.Equal("/greet.Greeter/SayHello", table.Match("/greet.Greeter/SayHello")?.Prefix);
    }

    [Theory]
    [InlineData("/", "/greet.Greeter/SayHello", true)]
    [InlineData("/greet.", "/greet.Greeter/SayHello", true)]
    [InlineData("/greet.", "/greetings.Greeter/SayHello", false)]
    [InlineData("/greet.Greeter/", "/greet.Greeter/SayHello", true)]
    [InlineData("/greet.Greeter", "/greet.Greeter/SayHello", true)]
    [InlineData("/greet.Greeter", "/greet.GreeterAdmin/SayHello", false)]
    [InlineData("/greet.Greeter/SayHello", "/greet.Greeter/SayHello", true)]
    [InlineData("/greet.Greeter/SayHello", "/greet.Greeter/SayHelloAdmin", false)]
    [InlineData("/greet.Gre", "/greet.Greeter/SayHello", false)]
    [InlineData("/grpc.health.v1.Health/", "/grpc.health.v1.Health/Check", true)]
    [InlineData("/grpc.health.v1.Health/", "/grpc.health.v1.HealthAdmin/Check", false)]
    public void Matches_PrefixEndsAtANameBoundary_Only(string prefix, string method, bool expected)
    {
        Assert.Equal(expected, RuleTable.Matches(prefix, method));
    }

    [Fact]
    public void Match_EmptyTable_ReturnsNull()
    {
        Assert.Null(RuleTable.Empty.Match(Method));
        Assert.Equal(0, RuleTable.Empty.Count);
    }

    [Fact]
    public void Compile_DuplicateRolesAndScopes_AreRemoved()
    {
        var rule = new GrpcJwtAuthRule { Prefix = "/greet.Greeter/" };
        rule.Roles.Add("admin");
        rule.Roles.Add("admin");
        rule.Roles.Add("Admin");
        rule.Scopes.Add("greet.read");
        rule.Scopes.Add("greet.read");
        var anonymous = new GrpcJwtAuthRule { Prefix = "/health/", AllowAnonymous = true };

        var table = RuleTable.Compile([rule, anonymous]);

        var compiled = table.Match(Method)!;
        Assert.Equal(["admin", "Admin"], compiled.Roles);
        Assert.Equal(["greet.read"], compiled.Scopes);
        Assert.False(compiled.AllowAnonymous);
        Assert.True(table.Match("/health/Check")!.AllowAnonymous);
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void Compile_LaterChangesToTheOptions_AreNotSeen()
    {
        var rule = new GrpcJwtAuthRule { Prefix = "/" };
        rule.Roles.Add("admin");
        var table = RuleTable.Compile([rule]);

        rule.Roles.Add("other");
        rule.Prefix = "/x";

        Assert.Equal(["admin"], table.Match(Method)!.Roles);
    }

    private static RuleTable Compile(params string[] prefixes) =>
        RuleTable.Compile(prefixes.Select(prefix => new GrpcJwtAuthRule { Prefix = prefix }));
}
