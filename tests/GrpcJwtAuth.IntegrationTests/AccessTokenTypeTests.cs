using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// Only access tokens are accepted: a correctly signed token of another kind (a logout token, a security event, a
/// DPoP proof, an ID token) is refused by its <c>typ</c> (RFC 8725 section 3.11, RFC 9068 section 4), and an
/// audience must match exactly (RFC 7519 section 4.1.3).
/// </summary>
public class AccessTokenTypeTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static string Typed(object? typ) => Tokens.Create(
        TestKeys.Primary, headers: typ is null ? null : new Dictionary<string, object> { ["typ"] = typ });

    [Theory]
    [InlineData("at+jwt")]
    [InlineData("application/at+jwt")]
    [InlineData("AT+JWT")]
    [InlineData("JWT")]
    [InlineData("jwt")]
    [InlineData("application/jwt")]
    [InlineData(null)]
    public async Task Access_token_types_are_accepted(string? typ)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(Typed(typ)))).PrincipalAuthenticated);
    }

    [Theory]
    [InlineData("secevent+jwt")]
    [InlineData("application/secevent+jwt")]
    [InlineData("logout+jwt")]
    [InlineData("dpop+jwt")]
    [InlineData("id_token+jwt")]
    [InlineData("JOSE")]
    [InlineData("")]
    public async Task Tokens_of_other_types_are_rejected_with_their_reason(string typ)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Typed(typ);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.TokenTypeNotAccepted, token);
    }

    [Fact]
    public async Task Typ_that_is_not_a_string_is_rejected_as_malformed()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Typed(5);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.MalformedToken, token);
    }

    [Fact]
    public async Task ValidTypes_and_RequireTokenType_narrow_what_is_accepted()
    {
        var server = await StartServerAsync(options =>
        {
            TestKeys.StaticOptions(TestKeys.Primary)(options);
            options.ValidTypes.Add("at+jwt");
            options.RequireTokenType = true;
        });
        var plain = Typed("JWT");
        var untyped = Typed(null);

        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(Typed("application/at+jwt")))).PrincipalAuthenticated);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(plain)), StatusCode.Unauthenticated, Details.TokenTypeNotAccepted, plain);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(untyped)), StatusCode.Unauthenticated, Details.TokenTypeNotAccepted, untyped);
    }

    [Theory]
    [InlineData(TestTokenFactory.DefaultAudience + "/")]
    [InlineData("API://GREETER")]
    [InlineData(" " + TestTokenFactory.DefaultAudience)]
    [InlineData("api://greete")]
    public async Task Audience_must_match_exactly(string audience)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary, audience: audience);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.AudienceNotAccepted, token);
    }
}
