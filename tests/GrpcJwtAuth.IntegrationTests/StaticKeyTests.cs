using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>Authentication against keys configured in place (PEM and symmetric secrets).</summary>
public class StaticKeyTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static readonly Dictionary<string, object> AdminClaims = new()
    {
        ["roles"] = new[] { "admin", "ops" },
        ["scope"] = "probe.read probe.write",
    };

    [Fact]
    public async Task Valid_token_is_accepted_on_a_unary_call_and_the_handler_sees_the_caller()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary, subject: "alice", claims: AdminClaims);

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(token), "hello");

        Assert.Equal("hello", reply.Message);
        AssertCaller(reply, "alice");
        Assert.Equal(1, server.Entries["Unary"]);
    }

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task Valid_token_is_accepted_on_every_call_kind_with_the_caller_visible_to_the_handler(CallKind kind)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary, subject: "alice", claims: AdminClaims);

        var replies = await server.Probe.CallAsync(kind, Auth.Bearer(token));

        var expected = kind switch
        {
            CallKind.ServerStream => ["stream 0", "stream 1", "stream 2"],
            CallKind.ClientStream => ["3"],
            CallKind.Duplex => ["one", "two", "three"],
            _ => new[] { "one" },
        };
        Assert.Equal(expected, replies.Select(reply => reply.Message));
        Assert.All(replies, reply => AssertCaller(reply, "alice"));
        Assert.Equal(1, server.Entries[kind.Method()]);
    }

    [Theory]
    [InlineData("RSA public key PEM")]
    [InlineData("EC public key PEM")]
    [InlineData("HMAC secret")]
    public async Task Token_signed_with_each_kind_of_static_key_is_accepted(string keyKind)
    {
        var key = keyKind switch
        {
            "RSA public key PEM" => TestKeys.Primary,
            "EC public key PEM" => TestKeys.Ec,
            _ => TestKeys.Hmac,
        };
        var server = await StartServerAsync(TestKeys.StaticOptions(key));

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Tokens.Create(key, subject: "bob")));

        Assert.Equal("bob", reply.Subject);
        Assert.True(reply.PrincipalAuthenticated);
        Assert.False(reply.IsInRoleAdmin);
        Assert.Empty(reply.Roles);
    }

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task Call_of_every_kind_without_token_is_rejected_before_its_handler_is_entered(CallKind kind)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        await Rejection.AssertAsync(
            () => server.Probe.CallAsync(kind, Auth.None), StatusCode.Unauthenticated, Details.MissingToken);

        Assert.Equal(0, server.Entries.Total);
    }

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task Call_of_every_kind_with_an_expired_token_is_rejected_before_its_handler_is_entered(CallKind kind)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary, lifetime: TimeSpan.FromMinutes(-5));

        await Rejection.AssertAsync(
            () => server.Probe.CallAsync(kind, Auth.Bearer(token)), StatusCode.Unauthenticated, Details.TokenExpired, token);

        Assert.Equal(0, server.Entries.Total);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNzd29yZA==", Details.NotBearer)]
    [InlineData("Bearer", Details.MissingBearerToken)]
    [InlineData("Bearer two tokens", Details.MalformedAuthorization)]
    [InlineData("Bearer not-a-jwt", Details.MalformedToken)]
    [InlineData("Bearer abc.def", Details.MalformedToken)]
    [InlineData("", Details.EmptyAuthorization)]
    public async Task Malformed_authorization_metadata_is_rejected_with_Unauthenticated(string header, string detail)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Header(header)), StatusCode.Unauthenticated, detail);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Two_authorization_entries_are_rejected_even_when_both_hold_valid_tokens()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary);

        // HttpClient joins repeated request headers into one field ("Bearer a, Bearer b") on HTTP/2, so the server
        // sees a single malformed value rather than two entries; either way the call must not get through.
        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Header("Bearer " + token, "Bearer " + token)),
            StatusCode.Unauthenticated, Details.MalformedAuthorization, token);
        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Token_longer_than_MaxTokenLength_is_rejected_before_it_is_parsed()
    {
        var server = await StartServerAsync(options =>
        {
            TestKeys.StaticOptions(TestKeys.Primary)(options);
            options.MaxTokenLength = 1024;
        });
        var token = Tokens.Create(TestKeys.Primary, claims: new Dictionary<string, object> { ["pad"] = new string('x', 1024) });

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.TokenTooLarge, token);
    }

    [Theory]
    [InlineData("expired", Details.TokenExpired)]
    [InlineData("expired beyond the clock skew", Details.TokenExpired)]
    [InlineData("not yet valid", Details.TokenNotYetValid)]
    [InlineData("without exp", Details.NoExpiration)]
    [InlineData("for another audience", Details.AudienceNotAccepted)]
    [InlineData("from another issuer", Details.IssuerNotAccepted)]
    [InlineData("with a bad signature", Details.InvalidSignature)]
    [InlineData("with an unknown kid", Details.KeyNotFound)]
    [InlineData("unsigned (alg none)", Details.MalformedToken)]
    public async Task Invalid_token_is_rejected_with_Unauthenticated_and_its_reason(string tokenCase, string detail)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = tokenCase switch
        {
            "expired" => Tokens.Create(TestKeys.Primary, lifetime: TimeSpan.FromMinutes(-5)),
            "expired beyond the clock skew" => Tokens.Create(TestKeys.Primary, lifetime: TimeSpan.FromSeconds(-31)),
            "not yet valid" => Tokens.Create(TestKeys.Primary, notBeforeOffset: TimeSpan.FromMinutes(5), lifetime: TimeSpan.FromMinutes(10)),
            "without exp" => Tokens.Create(TestKeys.Primary, includeExpiry: false),
            "for another audience" => Tokens.Create(TestKeys.Primary, audience: "api://someone-else"),
            "from another issuer" => Tokens.Create(TestKeys.Primary, issuer: "https://evil.test"),
            "with a bad signature" => Tokens.Create(TestKeys.Impostor),
            "with an unknown kid" => Tokens.Create(TestKeys.Next),
            "unsigned (alg none)" => TestTokenFactory.Raw(
                """{"alg":"none","typ":"JWT","kid":"rsa-1"}""",
                $$"""{"sub":"mallory","iss":"{{TestTokenFactory.DefaultIssuer}}","aud":"{{TestTokenFactory.DefaultAudience}}","exp":{{DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds()}}}"""),
            _ => throw new ArgumentOutOfRangeException(nameof(tokenCase)),
        };

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, detail, token);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Token_issued_in_the_future_is_rejected_with_Unauthenticated_and_says_by_how_much()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        // Two hours and some minutes ahead, so that the detail reads "2 h" however long the call takes.
        var issuedAt = DateTimeOffset.UtcNow.AddHours(2).AddMinutes(10).ToUnixTimeSeconds();
        var token = IssuedAt(issuedAt);

        var rejection = await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.TokenIssuedInFuture, token);

        Assert.Equal(
            "token not valid: its iat is 2 h in the future by the server's clock (allowed skew 30 s); check clock synchronisation",
            rejection.Status.Detail);
        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Token_issued_within_the_clock_skew_ahead_or_without_iat_is_accepted()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        var ahead = await server.Probe.CallUnaryAsync(Auth.Bearer(IssuedAt(DateTimeOffset.UtcNow.AddSeconds(10).ToUnixTimeSeconds())));
        var without = await server.Probe.CallUnaryAsync(Auth.Bearer(IssuedAt(issuedAt: null)));

        Assert.True(ahead.PrincipalAuthenticated);
        Assert.True(without.PrincipalAuthenticated);
    }

    [Fact]
    public async Task Token_expired_less_than_the_clock_skew_ago_is_accepted()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary, lifetime: TimeSpan.FromSeconds(-10));

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(token));

        Assert.True(reply.PrincipalAuthenticated);
    }

    /// <summary>A token valid for an hour after <paramref name="issuedAt"/> (or from now, without iat when null).</summary>
    private static string IssuedAt(long? issuedAt)
    {
        var iat = issuedAt is { } seconds ? $",\"iat\":{seconds}" : string.Empty;
        var expires = (issuedAt ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()) + 3600;
        return TestTokenFactory.SignRaw(
            """{"alg":"RS256","typ":"JWT","kid":"rsa-1"}""",
            $$"""{"sub":"alice","iss":"{{TestTokenFactory.DefaultIssuer}}","aud":"{{TestTokenFactory.DefaultAudience}}","exp":{{expires}}{{iat}}}""",
            TestKeys.Primary);
    }

    private static void AssertCaller(Protos.ProbeReply reply, string subject)
    {
        Assert.Equal(subject, reply.Subject);
        Assert.Equal(["admin", "ops"], reply.Roles);
        Assert.Equal(["probe.read", "probe.write"], reply.Scopes);
        Assert.True(reply.PrincipalAuthenticated);
        Assert.True(reply.IsInRoleAdmin);
    }
}
