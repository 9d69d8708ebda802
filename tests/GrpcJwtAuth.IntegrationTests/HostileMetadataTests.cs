using System.Text;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// <c>authorization</c> metadata as a hostile or broken client sends it, through a real .NET client and Kestrel over
/// TLS: what reaches the server is what the HTTP/2 stack made of it, and the call must not get through.
/// </summary>
public class HostileMetadataTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    [Fact]
    public async Task Token_sent_as_authorization_bin_is_not_read_and_the_call_has_no_token()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary);
        var metadata = new Metadata { { "authorization-bin", Encoding.ASCII.GetBytes("Bearer " + token) } };

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(new CallOptions(metadata)), StatusCode.Unauthenticated, Details.MissingToken, token);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Authorization_bin_next_to_a_valid_authorization_entry_is_ignored()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var metadata = new Metadata
        {
            { "authorization-bin", Encoding.ASCII.GetBytes("Bearer " + Tokens.Create(TestKeys.Impostor)) },
            { "authorization", "Bearer " + Tokens.Create(TestKeys.Primary, subject: "alice") },
        };

        var reply = await server.Probe.CallUnaryAsync(new CallOptions(metadata));

        Assert.Equal("alice", reply.Subject);
    }

    public static TheoryData<string, string[], string> SeveralEntries() => new()
    {
        // HttpClient joins repeated request headers into one field ("a, b") on HTTP/2: the server sees one value with
        // a comma in it, which is no b64token.
        { "two valid tokens", ["Bearer {token}", "Bearer {token}"], Details.MalformedAuthorization },
        { "three valid tokens", ["Bearer {token}", "Bearer {token}", "Bearer {token}"], Details.MalformedAuthorization },
        { "a valid token and a forged one", ["Bearer {token}", "Bearer {forged}"], Details.MalformedAuthorization },
        { "a forged token and a valid one", ["Bearer {forged}", "Bearer {token}"], Details.MalformedAuthorization },
        { "a valid token and an empty entry", ["Bearer {token}", ""], Details.MalformedAuthorization },
        { "a valid token and another scheme", ["Bearer {token}", "Basic dXNlcjpwYXNz"], Details.MalformedAuthorization },
        { "already joined by the sender", ["Bearer {token}, Bearer {token}"], Details.MalformedAuthorization },
        { "joined without a space", ["Bearer {token},Bearer {token}"], Details.MalformedAuthorization },
    };

    [Theory]
    [MemberData(nameof(SeveralEntries))]
    public async Task Several_authorization_entries_are_rejected_even_when_one_is_valid(string description, string[] entries, string detail)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary);
        var forged = Tokens.Create(TestKeys.Impostor);
        var values = entries.Select(entry => entry.Replace("{token}", token, StringComparison.Ordinal).Replace("{forged}", forged, StringComparison.Ordinal)).ToArray();

        var exception = await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Header(values)), StatusCode.Unauthenticated, detail, token);

        Rejection.AssertNotQuoted(exception, forged);
        Assert.True(server.Entries.Total == 0, description);
    }

    public static TheoryData<string, string> Rejected() => new()
    {
        { "Bearer\t{token}", Details.MalformedAuthorization },
        { "Bearer \t{token}", Details.MalformedAuthorization },
        { "Bearer {token}\t{token}", Details.MalformedAuthorization },
        { "Bearer {token} {token}", Details.MalformedAuthorization },
        { "Bearer {token};{token}", Details.MalformedAuthorization },
        { "Bearer Bearer {token}", Details.MalformedAuthorization },
        { "Bearer \"{token}\"", Details.MalformedAuthorization },
        { "Bearer:{token}", Details.NotBearer },
        { "Token {token}", Details.NotBearer },
        { "DPoP {token}", Details.NotBearer },
        { "{token}", Details.NotBearer },
        { "Bearer", Details.MissingBearerToken },
        { "Bearer    ", Details.MissingBearerToken },
        { "\t", Details.EmptyAuthorization },
        { "   ", Details.EmptyAuthorization },
        { "", Details.EmptyAuthorization },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public async Task Malformed_authorization_value_is_rejected_with_its_reason(string value, string detail)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary);

        await Rejection.AssertAsync(
            () => server.Probe.CallUnaryAsync(Auth.Header(value.Replace("{token}", token, StringComparison.Ordinal))),
            StatusCode.Unauthenticated, detail, token);

        Assert.Equal(0, server.Entries.Total);
    }

    [Theory]
    [InlineData("Bearer {token}")]
    [InlineData("bearer {token}")]
    [InlineData("BEARER {token}")]
    [InlineData("Bearer    {token}")]
    [InlineData(" Bearer {token} ")]
    [InlineData("\tBearer {token}\t")]
    public async Task Authorization_value_with_spacing_the_header_grammar_allows_is_accepted(string value)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var token = Tokens.Create(TestKeys.Primary, subject: "alice");

        var reply = await server.Probe.CallUnaryAsync(Auth.Header(value.Replace("{token}", token, StringComparison.Ordinal)));

        Assert.Equal("alice", reply.Subject);
    }
}
