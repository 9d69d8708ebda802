using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GrpcJwtAuth.Server;
using Microsoft.Extensions.Primitives;

namespace GrpcJwtAuth.Tests.Server;

public class BearerHeaderParserTests
{
    private const int Limit = 64;
    private const string Token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";

    [Fact]
    public void TryGetToken_NoEntries_ReturnsMissingAuthorization()
    {
        var failure = BearerHeaderParser.TryGetToken(StringValues.Empty, Limit, out var value, out var start, out var length);

        Assert.Equal(AuthFailure.MissingAuthorization, failure);
        Assert.Equal(string.Empty, value);
        Assert.Equal(0, start);
        Assert.Equal(0, length);
    }

    [Fact]
    public void TryGetToken_NullString_ReturnsMissingAuthorization()
    {
        var failure = BearerHeaderParser.TryGetToken(new StringValues((string?)null), Limit, out _, out _, out _);

        Assert.Equal(AuthFailure.MissingAuthorization, failure);
    }

    [Fact]
    public void TryGetToken_TwoEntries_ReturnsMultipleAuthorization()
    {
        var entries = new StringValues(["Bearer " + Token, "Bearer " + Token]);

        var failure = BearerHeaderParser.TryGetToken(entries, Limit, out var value, out _, out _);

        Assert.Equal(AuthFailure.MultipleAuthorization, failure);
        Assert.Equal(string.Empty, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void TryGetToken_OneEmptyEntry_ReturnsEmptyAuthorization(string? entry)
    {
        var failure = BearerHeaderParser.TryGetToken(new StringValues([entry]), Limit, out _, out _, out _);

        Assert.Equal(AuthFailure.EmptyAuthorization, failure);
    }

    [Fact]
    public void TryGetToken_OneValidEntry_ReturnsEntryAndSlice()
    {
        var entry = "  Bearer  " + Token + " ";

        var failure = BearerHeaderParser.TryGetToken(new StringValues(entry), Limit, out var value, out var start, out var length);

        Assert.Equal(AuthFailure.None, failure);
        Assert.Same(entry, value);
        Assert.Equal(Token, value.Substring(start, length));
    }

    [Fact]
    public void TryGetToken_InvalidEntry_LeavesValueEmpty()
    {
        var failure = BearerHeaderParser.TryGetToken(new StringValues("Basic dXNlcjpwYXNz"), Limit, out var value, out var start, out var length);

        Assert.Equal(AuthFailure.NotBearerScheme, failure);
        Assert.Equal(string.Empty, value);
        Assert.Equal(0, start);
        Assert.Equal(0, length);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("   ")]
    [InlineData("\t")]
    [InlineData(" \t \t")]
    public void TryGetToken_WhitespaceOnly_ReturnsEmptyAuthorization(string entry)
    {
        Assert.Equal(AuthFailure.EmptyAuthorization, Parse(entry, out _));
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("bearer")]
    [InlineData("BEARER")]
    [InlineData("BeArEr")]
    [InlineData("bEARER")]
    public void TryGetToken_SchemeInAnyCase_ReturnsToken(string scheme)
    {
        Assert.Equal(AuthFailure.None, Parse(scheme + " " + Token, out var token));
        Assert.Equal(Token, token);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearerx " + Token)]
    [InlineData("Beare " + Token)]
    [InlineData("xBearer " + Token)]
    [InlineData("Bearer:" + Token)]
    [InlineData("Bearer," + Token)]
    [InlineData("Bearer=" + Token)]
    [InlineData("Bearer" + Token)]
    [InlineData(Token)]
    [InlineData("Digest realm=x")]
    public void TryGetToken_OtherScheme_ReturnsNotBearerScheme(string entry)
    {
        Assert.Equal(AuthFailure.NotBearerScheme, Parse(entry, out _));
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer     ")]
    [InlineData("Bearer \t ")]
    [InlineData("  Bearer\t")]
    public void TryGetToken_SchemeWithoutToken_ReturnsMissingBearerToken(string entry)
    {
        Assert.Equal(AuthFailure.MissingBearerToken, Parse(entry, out _));
    }

    [Theory]
    [InlineData("Bearer\t" + Token)]
    [InlineData("Bearer \t" + Token)]
    [InlineData("Bearer  \t " + Token)]
    public void TryGetToken_TabBetweenSchemeAndToken_ReturnsMalformedBearerValue(string entry)
    {
        Assert.Equal(AuthFailure.MalformedBearerValue, Parse(entry, out _));
    }

    [Theory]
    [InlineData("Bearer  " + Token)]
    [InlineData("Bearer     " + Token)]
    public void TryGetToken_SeveralSpacesBeforeToken_ReturnsToken(string entry)
    {
        Assert.Equal(AuthFailure.None, Parse(entry, out var token));
        Assert.Equal(Token, token);
    }

    [Theory]
    [InlineData(" Bearer " + Token)]
    [InlineData("Bearer " + Token + " ")]
    [InlineData("\tBearer " + Token + "\t")]
    [InlineData(" \t Bearer " + Token + " \t ")]
    public void TryGetToken_SurroundingSpacesAndTabs_AreTrimmed(string entry)
    {
        Assert.Equal(AuthFailure.None, Parse(entry, out var token));
        Assert.Equal(Token, token);
    }

    [Theory]
    [InlineData("Bearer abc def")]
    [InlineData("Bearer abc  def")]
    [InlineData("Bearer abc\tdef")]
    [InlineData("Bearer abc= def")]
    public void TryGetToken_TwoTokens_ReturnsMalformedBearerValue(string entry)
    {
        Assert.Equal(AuthFailure.MalformedBearerValue, Parse(entry, out _));
    }

    [Theory]
    [InlineData("Bearer abc!def")]
    [InlineData("Bearer abc,def")]
    [InlineData("Bearer abc\"")]
    [InlineData("Bearer \"abc\"")]
    [InlineData("Bearer abc;def")]
    [InlineData("Bearer abc\ndef")]
    [InlineData("Bearer abc\u00e9")]
    [InlineData("Bearer abc\0")]
    [InlineData("Bearer !")]
    public void TryGetToken_NonB64TokenCharacters_ReturnsMalformedBearerValue(string entry)
    {
        Assert.Equal(AuthFailure.MalformedBearerValue, Parse(entry, out _));
    }

    [Theory]
    [InlineData("Bearer ABCXYZabcxyz0189-._~+/")]
    [InlineData("Bearer abc=")]
    [InlineData("Bearer abc==")]
    [InlineData("Bearer a.b.c===")]
    public void TryGetToken_AllB64TokenCharactersAndTrailingPadding_ReturnsToken(string entry)
    {
        Assert.Equal(AuthFailure.None, Parse(entry, out var token));
        Assert.Equal(entry["Bearer ".Length..], token);
    }

    [Theory]
    [InlineData("Bearer =")]
    [InlineData("Bearer =abc")]
    [InlineData("Bearer ab=c")]
    [InlineData("Bearer a.b=.c")]
    [InlineData("Bearer abc=!")]
    public void TryGetToken_PaddingNotAtEnd_ReturnsMalformedBearerValue(string entry)
    {
        Assert.Equal(AuthFailure.MalformedBearerValue, Parse(entry, out _));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(10)]
    public void TryGetToken_SeveralValidEntries_ReturnsMultipleAuthorization(int count)
    {
        var entries = new StringValues(Enumerable.Repeat("Bearer " + Token, count).ToArray());

        Assert.Equal(AuthFailure.MultipleAuthorization, BearerHeaderParser.TryGetToken(entries, Limit, out _, out _, out _));
    }

    [Theory]
    [InlineData("Bearer " + Token, "")]
    [InlineData("", "Bearer " + Token)]
    [InlineData(null, "Bearer " + Token)]
    [InlineData("Bearer " + Token, "Basic dXNlcjpwYXNz")]
    public void TryGetToken_ValidEntryNextToAnother_ReturnsMultipleAuthorization(string? first, string? second)
    {
        Assert.Equal(AuthFailure.MultipleAuthorization, BearerHeaderParser.TryGetToken(new StringValues([first, second]), Limit, out _, out _, out _));
    }

    public static TheoryData<string, string> HostileValues() => new()
    {
        // Two entries as an HTTP/2 HttpClient sends them: joined into one field with ", ".
        { "Bearer " + Token + ", Bearer " + Token, nameof(AuthFailure.MalformedBearerValue) },
        { "Bearer " + Token + ",Bearer " + Token, nameof(AuthFailure.MalformedBearerValue) },
        { "Bearer " + Token + ", " + Token, nameof(AuthFailure.MalformedBearerValue) },
        { "Bearer " + Token + " Bearer " + Token, nameof(AuthFailure.MalformedBearerValue) },
        { "Bearer Bearer " + Token, nameof(AuthFailure.MalformedBearerValue) },

        // Whitespace that is not HTTP's optional whitespace (space and tab).
        { "Bearer\u00a0" + Token, nameof(AuthFailure.NotBearerScheme) },
        { "Bearer\u3000" + Token, nameof(AuthFailure.NotBearerScheme) },
        { "Bearer\v" + Token, nameof(AuthFailure.NotBearerScheme) },
        { "Bearer\f" + Token, nameof(AuthFailure.NotBearerScheme) },
        { "Bearer\0" + Token, nameof(AuthFailure.NotBearerScheme) },
        { "Bearer\r\n " + Token, nameof(AuthFailure.NotBearerScheme) },
        { "\r\nBearer " + Token, nameof(AuthFailure.NotBearerScheme) },
        { "\u00a0Bearer " + Token, nameof(AuthFailure.NotBearerScheme) },
        { "Bearer \u00a0" + Token, nameof(AuthFailure.MalformedBearerValue) },
        { "Bearer " + Token + "\r\n", nameof(AuthFailure.MalformedBearerValue) },
        { "Bearer " + Token + "\u200b", nameof(AuthFailure.MalformedBearerValue) },
        { "Bearer " + Token + "\v", nameof(AuthFailure.MalformedBearerValue) },

        // Look-alikes: a Cyrillic e in the scheme, a fullwidth letter in the token.
        { "B\u0435arer " + Token, nameof(AuthFailure.NotBearerScheme) },
        { "Bearer \uff45" + Token, nameof(AuthFailure.MalformedBearerValue) },
    };

    [Theory]
    [MemberData(nameof(HostileValues))]
    public void TryGetToken_HostileValue_ReturnsItsReason(string entry, string expected)
    {
        // A limit well above two tokens, so that only the shape of the value decides.
        Assert.Equal(Enum.Parse<AuthFailure>(expected), BearerHeaderParser.TryGetToken(new StringValues(entry), 1024, out var value, out _, out var length));
        Assert.Equal(string.Empty, value);
        Assert.Equal(0, length);
    }

    [Theory]
    [InlineData(Limit + 1)]
    [InlineData(Limit * 10)]
    public void TryGetToken_TokenLongerThanLimit_ReturnsTokenTooLarge(int tokenLength)
    {
        Assert.Equal(AuthFailure.TokenTooLarge, Parse("Bearer " + new string('a', tokenLength), out _));
    }

    [Fact]
    public void TryGetToken_OversizedTokenWithBadCharacters_ReturnsTokenTooLargeBeforeParsing()
    {
        Assert.Equal(AuthFailure.TokenTooLarge, Parse("Bearer " + new string('!', Limit + 1), out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(Limit - 1)]
    [InlineData(Limit)]
    public void TryGetToken_TokenUpToLimit_ReturnsToken(int tokenLength)
    {
        var expected = new string('a', tokenLength);

        Assert.Equal(AuthFailure.None, Parse("Bearer " + expected + "  ", out var token));
        Assert.Equal(expected, token);
    }

    [Fact]
    public void TryGetToken_PaddingBeyondLimit_ReturnsTokenTooLarge()
    {
        Assert.Equal(AuthFailure.TokenTooLarge, Parse("Bearer " + new string('a', Limit) + "=", out _));
    }

    [Theory]
    [InlineData("Bearer " + Token, 7)]
    [InlineData("  Bearer " + Token, 9)]
    [InlineData("\t bearer   " + Token + " \t", 11)]
    public void TryGetToken_SpanWithToken_ReturnsSliceOfTheToken(string entry, int expectedStart)
    {
        var failure = BearerHeaderParser.TryGetToken(entry.AsSpan(), Limit, out var start, out var length);

        Assert.Equal(AuthFailure.None, failure);
        Assert.Equal(expectedStart, start);
        Assert.Equal(Token.Length, length);
        Assert.Equal(Token, entry.Substring(start, length));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Basic x")]
    [InlineData("Bearer")]
    [InlineData("Bearer a b")]
    public void TryGetToken_SpanFailure_ReturnsEmptySlice(string entry)
    {
        var failure = BearerHeaderParser.TryGetToken(entry.AsSpan(), Limit, out var start, out var length);

        Assert.NotEqual(AuthFailure.None, failure);
        Assert.Equal(0, start);
        Assert.Equal(0, length);
    }

    [Property(MaxTest = 500)]
    public void TryGetToken_AnyString_NeverThrowsAndSucceedsOnlyWithAValidSlice(string? entry) =>
        AssertWellBehaved(entry ?? string.Empty);

    [Property(MaxTest = 500, Arbitrary = [typeof(HeaderArbitrary)])]
    public void TryGetToken_BearerLikeString_NeverThrowsAndSucceedsOnlyWithAValidSlice(HeaderValue entry) =>
        AssertWellBehaved(entry.Value);

    [Property(MaxTest = 200, Arbitrary = [typeof(HeaderArbitrary)])]
    public void TryGetToken_WellFormedHeader_ReturnsExactlyTheToken(WellFormedHeader header)
    {
        var failure = BearerHeaderParser.TryGetToken(new StringValues(header.Value), Limit, out var value, out var start, out var length);

        Assert.Equal(AuthFailure.None, failure);
        Assert.Equal(header.Token, value.Substring(start, length));
    }

    private static AuthFailure Parse(string entry, out string token)
    {
        var failure = BearerHeaderParser.TryGetToken(entry.AsSpan(), Limit, out var start, out var length);
        token = entry.Substring(start, length);
        return failure;
    }

    private static void AssertWellBehaved(string entry)
    {
        var failure = BearerHeaderParser.TryGetToken(entry.AsSpan(), Limit, out var start, out var length);

        Assert.True(Enum.IsDefined(failure));
        if (failure != AuthFailure.None)
        {
            Assert.Equal(0, length);
            return;
        }

        Assert.InRange(start, 0, entry.Length);
        Assert.InRange(length, 1, Limit);
        Assert.InRange(start + length, 0, entry.Length);
        var token = entry.AsSpan(start, length);
        foreach (var c in token)
        {
            Assert.False(char.IsWhiteSpace(c), $"Whitespace in the token of '{entry}'.");
        }

        Assert.True(entry.AsSpan(0, start).Trim(" \t").Equals("Bearer", StringComparison.OrdinalIgnoreCase), $"Not 'Bearer' before the token of '{entry}'.");
        Assert.True(entry.AsSpan(start + length).Trim(" \t").IsEmpty, $"Something after the token of '{entry}'.");
    }

    public sealed record HeaderValue(string Value);

    public sealed record WellFormedHeader(string Value, string Token);

    public static class HeaderArbitrary
    {
        private const string TokenChars = "ABCXYZabcxyz0189-._~+/";

        private static Gen<string> Pieces() => Gen.Elements(
            "Bearer", "bearer", "BEARER", "Basic", " ", "  ", "\t", "=", "==", "a", "Zz9", "-._~+/", ".", "!", ",", "\"",
            "\u00e9", "\r\n", "\0", new string('a', Limit), "x=y");

        private static Gen<string> Ows() => Gen.Elements("", " ", "\t", " \t ", "  ");

        public static Arbitrary<HeaderValue> HeaderValue() =>
            Gen.ListOf(Pieces())
                .Select(pieces => new HeaderValue(string.Concat(pieces)))
                .ToArbitrary();

        public static Arbitrary<WellFormedHeader> WellFormedHeader() =>
            (from scheme in Gen.Elements("Bearer", "bearer", "BEARER", "bEaReR")
             from leading in Ows()
             from spaces in Gen.Choose(1, 4)
             from length in Gen.Choose(1, Limit - 2)
             from chars in Gen.ArrayOf(Gen.Elements(TokenChars.ToCharArray()), length)
             from padding in Gen.Elements("", "=", "==")
             from trailing in Ows()
             let token = new string(chars) + padding
             select new WellFormedHeader(leading + scheme + new string(' ', spaces) + token + trailing, token))
            .ToArbitrary();
    }
}
