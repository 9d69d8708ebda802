using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Diagnostics;

public class RejectedTokenClaimsTests
{
    private static readonly TestSigningKey Key = TestSigningKey.Ec("ec-1");

    private readonly TestTokenFactory _tokens = new(new FakeTimeProvider(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero)));

    [Fact]
    public void Read_TokenRejectedAfterParsing_ReturnsIssSubAndJti()
    {
        var token = _tokens.Create(Key, subject: "alice", claims: new Dictionary<string, object> { ["jti"] = "id-7" });

        var claims = RejectedTokenClaims.Read(token, AuthFailure.TokenExpired);

        Assert.Equal(new RejectedTokenClaims(TestTokenFactory.DefaultIssuer, "alice", "id-7"), claims);
    }

    [Theory]
    [InlineData(nameof(AuthFailure.TokenNotYetValid))]
    [InlineData(nameof(AuthFailure.TokenIssuedInFuture))]
    public void Read_TokenRejectedForItsTimesBeforeTheSignature_ReturnsIssSubAndJti(string failure)
    {
        var token = _tokens.Create(Key, subject: "alice", claims: new Dictionary<string, object> { ["jti"] = "id-7" });

        var claims = RejectedTokenClaims.Read(token, Enum.Parse<AuthFailure>(failure));

        Assert.Equal(new RejectedTokenClaims(TestTokenFactory.DefaultIssuer, "alice", "id-7"), claims);
    }

    [Theory]
    [InlineData(nameof(AuthFailure.MalformedToken))]
    [InlineData(nameof(AuthFailure.EncryptedToken))]
    [InlineData(nameof(AuthFailure.TokenTooLarge))]
    [InlineData(nameof(AuthFailure.MalformedBearerValue))]
    [InlineData(nameof(AuthFailure.TokenInvalid))]
    public void Read_TokenRefusedBeforeParsing_ReadsNothing(string failure)
    {
        var token = _tokens.Create(Key, subject: "alice");

        Assert.Equal(default, RejectedTokenClaims.Read(token, Enum.Parse<AuthFailure>(failure)));
    }

    [Fact]
    public void Read_NoToken_ReadsNothing()
    {
        Assert.Equal(default, RejectedTokenClaims.Read(null, AuthFailure.TokenExpired));
    }

    [Fact]
    public void Read_Garbage_ReadsNothingAndDoesNotThrow()
    {
        Assert.Equal(default, RejectedTokenClaims.Read("not.a.jwt", AuthFailure.InvalidSignature));
    }

    [Fact]
    public void Read_ClaimsOfTheWrongType_ReadsNothingAndDoesNotThrow()
    {
        var token = TestTokenFactory.Raw("""{"alg":"ES256","kid":"ec-1"}""", """{"sub":42,"iss":["a","b"],"jti":"j"}""", "c2ln");

        Assert.Equal(default, RejectedTokenClaims.Read(token, AuthFailure.InvalidSignature));
    }

    [Fact]
    public void Read_MissingClaims_AreNull()
    {
        var token = _tokens.Create(Key, subject: null, issuer: null);

        Assert.Equal(default, RejectedTokenClaims.Read(token, AuthFailure.IssuerNotAccepted));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "")]
    [InlineData("alice", "alice")]
    [InlineData("line\nbreak\r\tand\u0007bell", "line?break??and?bell")]
    public void Sanitize_ShortValues_KeptWithControlCharactersReplaced(string? value, string? expected)
    {
        Assert.Equal(expected, RejectedTokenClaims.Sanitize(value));
    }

    [Theory]
    [InlineData("a\\u2028b", "line separator")]
    [InlineData("a\\u2029b", "paragraph separator")]
    [InlineData("a\\u202Eb", "right-to-left override")]
    [InlineData("a\\u2066b", "left-to-right isolate")]
    [InlineData("a\\u200Bb", "zero-width space")]
    [InlineData("a\\u200Db", "zero-width joiner")]
    [InlineData("a\\uFEFFb", "byte order mark")]
    [InlineData("a\\u00ADb", "soft hyphen")]
    [InlineData("a\\u0085b", "next line")]
    [InlineData("a\\u009Bb", "C1 control sequence introducer")]
    [InlineData("a\\u001Bb", "escape")]
    [InlineData("a\\uE000b", "private use")]
    [InlineData("a\\uD800b", "lone high surrogate")]
    [InlineData("a\\uDC00b", "lone low surrogate")]
    [InlineData("a\\u0378b", "unassigned")]
    public void Sanitize_CharacterThatCouldChangeHowALineReads_IsReplaced(string escaped, string name)
    {
        var value = System.Text.RegularExpressions.Regex.Unescape(escaped);

        Assert.True(RejectedTokenClaims.Sanitize(value) == "a?b", name);
    }

    [Theory]
    [InlineData("caf\\u00e9")]
    [InlineData("\\u5f20\\u4f1f")]
    [InlineData("\\uD83D\\uDE00 smile")]
    [InlineData("\\u0645\\u062D\\u0645\\u062F")]
    public void Sanitize_PrintableTextInAnyScript_IsKeptAsItIs(string escaped)
    {
        var value = System.Text.RegularExpressions.Regex.Unescape(escaped);

        Assert.Equal(value, RejectedTokenClaims.Sanitize(value));
    }

    [Fact]
    public void Sanitize_CutInsideASurrogatePair_DropsTheHalfPair()
    {
        var value = new string('s', 63) + char.ConvertFromUtf32(0x1F600) + "tail";

        Assert.Equal(new string('s', 63) + "…", RejectedTokenClaims.Sanitize(value));
    }

    [Fact]
    public void Sanitize_LongValue_CutTo64CharactersAndAnEllipsis()
    {
        var value = new string('s', 63) + "\n" + new string('x', 500);

        Assert.Equal(new string('s', 63) + "?…", RejectedTokenClaims.Sanitize(value));
    }

    [Fact]
    public void Sanitize_CleanValue_ReturnsTheSameString()
    {
        var value = new string('a', 64);

        Assert.Same(value, RejectedTokenClaims.Sanitize(value));
    }
}
