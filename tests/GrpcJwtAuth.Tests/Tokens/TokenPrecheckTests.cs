using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Tokens;

public partial class TokenPrecheckTests
{
    private const string Header = """{"alg":"RS256","typ":"JWT","kid":"rsa-1"}""";
    private const string Payload = """{"iss":"https://issuer.test","aud":"api://greeter","sub":"user-1","iat":1748856600,"exp":1748857200}""";
    private const string Signature = "c2lnbmF0dXJl";

    public static TheoryData<string, string, string> AcceptedShapes() => new()
    {
        { "typical", Header, Payload },
        { "whitespace and line breaks between members (RFC 7515 example)", "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}" },
        { "empty objects", "{}", "{}" },
        { "an escaped name that collides with nothing", """{"\u0061lg":"RS256"}""", Payload },
        { "names differing only in case", Header, """{"aud":"a","AUD":"b","Aud":"c","exp":1}""" },
        { "duplicates inside a nested object (only top-level names are checked)", Header, """{"cnf":{"jkt":"a","jkt":"b"},"exp":1}""" },
        { "duplicates inside an array of objects", Header, """{"acts":[{"sub":"a","sub":"b"}],"exp":1}""" },
        { "exp, nbf and iat at 0", Header, """{"exp":0,"nbf":0,"iat":0}""" },
        { "exp at the last second of 9999", Header, """{"exp":253402300799}""" },
        { "exp as negative zero", Header, """{"exp":-0}""" },
        { "no time claims at all", Header, """{"sub":"x"}""" },
        { "a time claim name nested, with any value", Header, """{"exp":1,"x":{"exp":"soon","nbf":1.5}}""" },
        { "other number formats in other claims", Header, """{"exp":1,"ratio":1.5e-3,"big":1e308,"neg":-7}""" },
        { "cty naming something other than a JWT", """{"alg":"RS256","cty":"json"}""", Payload },
        { "cty longer than any JWT media type", """{"alg":"RS256","cty":"application/jwt-but-much-longer-than-that"}""", Payload },
        { "crit, zip and cty as payload claims (they mean something in the header only)", Header, """{"crit":["x"],"zip":"DEF","cty":"JWT","exp":1}""" },
        { "typ at+jwt", """{"alg":"RS256","typ":"at+jwt"}""", Payload },
        { "crit-like names that are not crit", """{"alg":"RS256","Crit":[],"critical":1,"zipped":true}""", Payload },
        { "Unicode and escapes in values", Header, """{"name":"J\u00f6rg \ud83d\ude00 \"quoted\" \\ \/","emoji":"😀","exp":1}""" },
        { "an escaped NUL inside a value", Header, """{"sub":"a\u0000b","exp":1}""" },
        { "nested 60 deep", Header, $"{{\"exp\":1,\"deep\":{new string('[', 60)}{new string(']', 60)}}}" },
    };

    [Theory]
    [MemberData(nameof(AcceptedShapes))]
    public void Check_WellFormedShape_ReturnsNone(string description, string header, string payload)
    {
        Assert.True(AuthFailure.None == TokenPrecheck.Check(Token(header, payload)), description);
    }

    public static TheoryData<string, string, string> RejectedTokens() => new()
    {
        // Segments and dots.
        { "empty", "", nameof(AuthFailure.MalformedToken) },
        { "no dot", "abc", nameof(AuthFailure.MalformedToken) },
        { "one dot", $"{B64(Header)}.{B64(Payload)}", nameof(AuthFailure.MalformedToken) },
        { "three dots", $"{Token(Header, Payload)}.{Signature}", nameof(AuthFailure.MalformedToken) },
        { "five dots", $"{Token(Header, Payload)}.a.b.c", nameof(AuthFailure.MalformedToken) },
        { "empty header", $".{B64(Payload)}.{Signature}", nameof(AuthFailure.MalformedToken) },
        { "empty payload", $"{B64(Header)}..{Signature}", nameof(AuthFailure.MalformedToken) },
        { "empty signature", $"{B64(Header)}.{B64(Payload)}.", nameof(AuthFailure.MalformedToken) },
        { "dots only", "..", nameof(AuthFailure.MalformedToken) },
        { "signature of one character (no whole byte)", $"{B64(Header)}.{B64(Payload)}.A", nameof(AuthFailure.MalformedToken) },
        { "signature with padding", $"{B64(Header)}.{B64(Payload)}.QQ==", nameof(AuthFailure.MalformedToken) },
        { "signature with '+'", $"{B64(Header)}.{B64(Payload)}.ab+c", nameof(AuthFailure.MalformedToken) },
        { "signature with '/'", $"{B64(Header)}.{B64(Payload)}.ab/c", nameof(AuthFailure.MalformedToken) },
        { "header with '~'", $"{B64(Header)}~.{B64(Payload)}.{Signature}", nameof(AuthFailure.MalformedToken) },
        { "payload with a space", $"{B64(Header)}.{B64(Payload)[..8]} {B64(Payload)[8..]}.{Signature}", nameof(AuthFailure.MalformedToken) },
        { "non-ASCII letter", $"{B64(Header)}.{B64(Payload)}.{Signature}\u00e9", nameof(AuthFailure.MalformedToken) },
        { "non-canonical signature (QR for the byte 0x41)", $"{B64(Header)}.{B64(Payload)}.QR", nameof(AuthFailure.MalformedToken) },
        { "non-canonical signature (QUJ for 0x41 0x42)", $"{B64(Header)}.{B64(Payload)}.QUJ", nameof(AuthFailure.MalformedToken) },

        // JWE: five parts are encrypted only if the header says so.
        { "JWE", $"{B64("""{"alg":"RSA-OAEP","enc":"A256GCM"}""")}.a2V5.aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.EncryptedToken) },
        { "JWE with direct encryption (empty key part)", $"{B64("""{"alg":"dir","enc":"A128GCM"}""")}..aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.EncryptedToken) },
        { "five parts, header without enc", $"{B64(Header)}.a2V5.aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.MalformedToken) },
        { "five parts, header not JSON", $"{B64("enc")}.a2V5.aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.MalformedToken) },
        { "five parts, header not base64url", "a+b.a2V5.aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.MalformedToken) },
        { "five parts, empty header", ".a2V5.aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.MalformedToken) },
        { "five parts, enc named twice", $"{B64("""{"enc":"A256GCM","enc":"A128GCM"}""")}.a2V5.aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.MalformedToken) },
        { "five parts, enc nested only", $"{B64("""{"x":{"enc":"A256GCM"}}""")}.a2V5.aXY.Y2lwaGVy.dGFn", nameof(AuthFailure.MalformedToken) },

        // JSON shape.
        { "header not JSON", Token("alg", Payload), nameof(AuthFailure.MalformedToken) },
        { "payload an array", Token(Header, "[1,2]"), nameof(AuthFailure.MalformedToken) },
        { "payload a string", Token(Header, "\"sub\""), nameof(AuthFailure.MalformedToken) },
        { "payload a number", Token(Header, "1748857200"), nameof(AuthFailure.MalformedToken) },
        { "payload true", Token(Header, "true"), nameof(AuthFailure.MalformedToken) },
        { "payload an object then an array", Token(Header, Payload + "[]"), nameof(AuthFailure.MalformedToken) },
        { "payload an object then a closing brace", Token(Header, Payload + "}"), nameof(AuthFailure.MalformedToken) },
        { "payload with leading whitespace", Token(Header, " " + Payload), nameof(AuthFailure.MalformedToken) },
        { "payload with trailing whitespace", Token(Header, Payload + " "), nameof(AuthFailure.MalformedToken) },
        { "payload missing its closing brace", Token(Header, Payload[..^1]), nameof(AuthFailure.MalformedToken) },
        { "payload a bare brace", Token(Header, "{"), nameof(AuthFailure.MalformedToken) },
        { "payload with a dangling name", Token(Header, """{"sub":"a","exp"}"""), nameof(AuthFailure.MalformedToken) },
        { "payload with a single-quoted string", Token(Header, "{'sub':'a'}"), nameof(AuthFailure.MalformedToken) },
        { "payload with an unquoted name", Token(Header, "{sub:\"a\"}"), nameof(AuthFailure.MalformedToken) },
        { "payload with a raw control character in a string", Token(Header, "{\"sub\":\"a\u0001b\"}"), nameof(AuthFailure.MalformedToken) },
        { "payload with a bad escape", Token(Header, """{"sub":"\x41"}"""), nameof(AuthFailure.MalformedToken) },
        { "payload with a NaN", Token(Header, """{"exp":NaN}"""), nameof(AuthFailure.MalformedToken) },
        { "payload with a lone surrogate escaped in a name", Token(Header, """{"\udc00":1}"""), nameof(AuthFailure.MalformedToken) },
        { "payload nested 100 deep", Token(Header, $"{{\"deep\":{new string('[', 100)}{new string(']', 100)}}}"), nameof(AuthFailure.MalformedToken) },
        { "payload with an overlong UTF-8 slash", TokenBytes(Encoding.UTF8.GetBytes(Header), [.. "{\"sub\":\"a"u8, 0xC0, 0xAF, .. "\"}"u8]), nameof(AuthFailure.MalformedToken) },
        { "payload with a UTF-8 encoded surrogate", TokenBytes(Encoding.UTF8.GetBytes(Header), [.. "{\"sub\":\"a"u8, 0xED, 0xA0, 0x80, .. "\"}"u8]), nameof(AuthFailure.MalformedToken) },
        { "payload with a truncated UTF-8 sequence", TokenBytes(Encoding.UTF8.GetBytes(Header), [.. "{\"sub\":\"a"u8, 0xE2, 0x82, .. "\"}"u8]), nameof(AuthFailure.MalformedToken) },
        { "payload in UTF-16", TokenBytes(Encoding.UTF8.GetBytes(Header), Encoding.Unicode.GetBytes(Payload)), nameof(AuthFailure.MalformedToken) },

        // Duplicate names, however spelled.
        { "header alg twice", Token("""{"alg":"RS256","alg":"none"}""", Payload), nameof(AuthFailure.DuplicateTokenMember) },
        { "header kid twice", Token("""{"kid":"a","alg":"RS256","kid":"b"}""", Payload), nameof(AuthFailure.DuplicateTokenMember) },
        { "header name twice, once escaped", Token("""{"alg":"RS256","\u0061\u006cg":"HS256"}""", Payload), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload aud twice", Token(Header, """{"aud":"a","aud":"b"}"""), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload iss twice", Token(Header, """{"iss":"a","sub":"s","iss":"b"}"""), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload exp twice", Token(Header, """{"exp":1,"exp":2}"""), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload unknown claim twice", Token(Header, """{"x":1,"y":2,"x":3}"""), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload empty name twice", Token(Header, """{"":1,"":2}"""), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload name twice, once with an escaped slash", Token(Header, """{"a/b":1,"a\/b":2}"""), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload non-ASCII name twice, once escaped", Token(Header, """{"ä":1,"\u00e4":2}"""), nameof(AuthFailure.DuplicateTokenMember) },
        { "payload duplicate after a nested object", Token(Header, """{"sub":"a","cnf":{"sub":"b"},"sub":"c"}"""), nameof(AuthFailure.DuplicateTokenMember) },

        // Unsupported header parameters.
        { "crit", Token("""{"alg":"RS256","crit":["exp"]}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "crit null", Token("""{"alg":"RS256","crit":null}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "crit escaped", Token("""{"alg":"RS256","\u0063rit":[]}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "zip", Token("""{"alg":"RS256","zip":"DEF"}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "cty JWT", Token("""{"alg":"RS256","cty":"JWT"}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "cty jWt", Token("""{"alg":"RS256","cty":"jWt"}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "cty application/jwt", Token("""{"alg":"RS256","cty":"application/jwt"}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "cty application/jwt, fully escaped", Token($$"""{"alg":"RS256","cty":"{{string.Concat("application/jwt".Select(c => $"\\u{(int)c:x4}"))}}"}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },
        { "cty a number", Token("""{"alg":"RS256","cty":1}""", Payload), nameof(AuthFailure.UnsupportedTokenHeader) },

        // exp, nbf, iat.
        { "exp a string", Token(Header, """{"exp":"1748857200"}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp a fraction", Token(Header, """{"exp":1748857200.25}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp with a zero fraction", Token(Header, """{"exp":1748857200.0}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp with an exponent", Token(Header, """{"exp":17488572E2}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp 1e30", Token(Header, """{"exp":1e30}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp beyond Int64", Token(Header, """{"exp":9223372036854775808}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp Int64.MaxValue", Token(Header, """{"exp":9223372036854775807}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp a second after 9999", Token(Header, """{"exp":253402300800}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp -1", Token(Header, """{"exp":-1}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp null", Token(Header, """{"exp":null}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp false", Token(Header, """{"exp":false}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp an array", Token(Header, """{"exp":[1]}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp an object", Token(Header, """{"exp":{}}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "exp name escaped", Token(Header, """{"\u0065xp":"soon"}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "nbf a string", Token(Header, """{"exp":1,"nbf":"now"}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "nbf negative", Token(Header, """{"exp":1,"nbf":-86400}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "iat a fraction", Token(Header, """{"exp":1,"iat":1.5}"""), nameof(AuthFailure.InvalidTimeClaim) },
        { "iat huge", Token(Header, """{"exp":1,"iat":1e300}"""), nameof(AuthFailure.InvalidTimeClaim) },
    };

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public void Check_HostileShape_ReturnsItsReason(string description, string token, string expected)
    {
        var failure = TokenPrecheck.Check(token);

        Assert.True(Enum.Parse<AuthFailure>(expected) == failure, $"{description}: expected {expected}, got {failure}");
    }

    [Fact]
    public void Check_HeaderAndPayloadBothBad_ReturnsTheHeaderReason()
    {
        Assert.Equal(AuthFailure.UnsupportedTokenHeader, TokenPrecheck.Check(Token("""{"alg":"RS256","crit":[]}""", """{"exp":"x","exp":1}""")));
        Assert.Equal(AuthFailure.DuplicateTokenMember, TokenPrecheck.Check(Token(Header, """{"exp":1,"exp":"x"}""")));
        Assert.Equal(AuthFailure.InvalidTimeClaim, TokenPrecheck.Check(Token(Header, """{"exp":"x","exp":1}""")));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(2_000)]
    [InlineData(20_000)]
    public void Check_ManyMembers_AcceptsDistinctNamesAndFindsALateDuplicate(int count)
    {
        // Past the stack buffer: decoded from a pooled buffer, and the names hashed rather than compared pairwise.
        var members = string.Join(",", Enumerable.Range(0, count).Select(i => $"\"c{i}\":{i}"));

        Assert.Equal(AuthFailure.None, TokenPrecheck.Check(Token(Header, $"{{{members},\"exp\":1}}")));
        Assert.Equal(AuthFailure.DuplicateTokenMember, TokenPrecheck.Check(Token(Header, $"{{{members},\"c{count / 2}\":0}}")));
        Assert.Equal(AuthFailure.InvalidTimeClaim, TokenPrecheck.Check(Token(Header, $"{{{members},\"exp\":\"x\"}}")));
    }

    [Fact]
    public void Check_ManyOneCharacterMembers_AcceptsThemAll()
    {
        // The densest object there is ("x":0, one after the other) must fit the member bound the buffers are sized by.
        var names = Enumerable.Range(0, 0x2FFF).Select(i => char.ConvertFromUtf32(0x4E00 + i)).Concat(Enumerable.Range(0, 94).Select(i => ((char)(33 + i)).ToString()))
            .Where(name => name is not ("\"" or "\\"));
        var payload = "{" + string.Join(",", names.Select(name => $"\"{name}\":0")) + "}";

        Assert.Equal(AuthFailure.None, TokenPrecheck.Check(Token(Header, payload)));
        Assert.Equal(AuthFailure.None, TokenPrecheck.Check(Token(Header, "{\"\":0}")));
        Assert.Equal(AuthFailure.None, TokenPrecheck.Check(Token(Header, "{\"a\":0,\"b\":1,\"c\":2,\"d\":3}")));
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("A", false)]
    [InlineData("AA", true)]
    [InlineData("AB", false)]
    [InlineData("AQ", true)]
    [InlineData("AAA", true)]
    [InlineData("AAB", false)]
    [InlineData("AAE", true)]
    [InlineData("AAAA", true)]
    [InlineData("AAAAA", false)]
    [InlineData("QQ==", false)]
    [InlineData("-_-_", true)]
    [InlineData("+/+/", false)]
    [InlineData("AA AA", false)]
    [InlineData("AA\nAA", false)]
    public void IsCanonicalBase64Url_Segment_AcceptsOnlyTheOneSpellingOfItsBytes(string segment, bool expected)
    {
        Assert.Equal(expected, TokenPrecheck.IsCanonicalBase64Url(segment));
    }

    [Fact]
    public void Check_WellFormedToken_AllocatesOnlyTheValuesItReadsWhateverTheOtherClaims()
    {
        long AllocatedFor(int extraClaims)
        {
            var claims = string.Concat(Enumerable.Range(0, extraClaims).Select(i => $",\"c{i}\":\"value {i}\""));
            var token = Token(Header, Payload[..^1] + claims + "}");
            Assert.Equal(AuthFailure.None, TokenPrecheck.Check(token, out _));

            var before = GC.GetAllocatedBytesForCurrentThread();
            var failure = TokenPrecheck.Check(token, out _);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(AuthFailure.None, failure);
            return allocated;
        }

        var few = AllocatedFor(10);

        // alg, kid and iss as strings: a few dozen bytes each.
        Assert.InRange(few, 1, 256);
        Assert.Equal(few, AllocatedFor(2_000));
    }

    [Fact]
    public void Check_WellFormedToken_ReadsAlgKidTypIssExpNbfAndIat()
    {
        var token = Token(
            """{"alg":"ES256","kid":"k\u0031","typ":"at+jwt"}""",
            """{"sub":"x","iss":"https://issuer.test","nbf":1700000000,"iat":1699999990,"exp":1700000600,"nested":{"iss":"other","exp":1,"iat":2}}""");

        Assert.Equal(AuthFailure.None, TokenPrecheck.Check(token, out var facts));

        Assert.Equal("ES256", facts.Algorithm);
        Assert.Equal("k1", facts.KeyId);
        Assert.Equal("at+jwt", facts.Type);
        Assert.Equal("https://issuer.test", facts.Issuer);
        Assert.Equal(1700000600, facts.Expires);
        Assert.Equal(1700000000, facts.NotBefore);
        Assert.Equal(1699999990, facts.IssuedAt);
    }

    [Fact]
    public void Check_NoTimeClaims_LeavesExpNbfAndIatNull()
    {
        Assert.Equal(AuthFailure.None, TokenPrecheck.Check(Token(Header, """{"sub":"x"}"""), out var facts));

        Assert.Null(facts.Expires);
        Assert.Null(facts.NotBefore);
        Assert.Null(facts.IssuedAt);
    }

    [Theory]
    [InlineData("""{"alg":5,"kid":"k1"}""", """{"iss":"i"}""")]
    [InlineData("""{"alg":"ES256","kid":["k1"]}""", """{"iss":"i"}""")]
    [InlineData("""{"alg":"ES256","typ":null}""", """{"iss":"i"}""")]
    [InlineData("""{"alg":"ES256"}""", """{"iss":{"a":1}}""")]
    [InlineData("""{"alg":"ES256"}""", """{"iss":"\uD800"}""")]
    public void Check_AlgKidTypOrIssNotAString_IsMalformed(string header, string payload)
    {
        Assert.Equal(AuthFailure.MalformedToken, TokenPrecheck.Check(Token(header, payload), out _));
    }

    [Property(MaxTest = 300)]
    public void Check_AnyString_NeverThrows(string? token) =>
        Assert.True(Enum.IsDefined(TokenPrecheck.Check(token ?? string.Empty)));

    [Property(MaxTest = 300, Arbitrary = [typeof(TokenArbitrary)])]
    public void Check_RandomBytesInEachSegment_NeverThrowsAndAcceptsOnlyAJsonObjectPair(RandomSegments token)
    {
        var failure = TokenPrecheck.Check(token.Value);

        Assert.True(Enum.IsDefined(failure));
        if (failure == AuthFailure.None)
        {
            Assert.Equal(AuthFailure.None, Oracle(token.Header, token.Payload));
        }
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(TokenArbitrary)])]
    public void Check_JsonLikeHeaderAndPayload_AgreesWithADocumentBasedOracle(JsonLikeToken token)
    {
        var failure = TokenPrecheck.Check(token.Value);
        var expected = Oracle(Encoding.UTF8.GetBytes(token.Header), Encoding.UTF8.GetBytes(token.Payload));

        // Where the JSON is broken the pre-check may notice a duplicate or a bad exp before the break: still a rejection.
        if (expected == AuthFailure.MalformedToken)
        {
            Assert.NotEqual(AuthFailure.None, failure);
        }
        else
        {
            Assert.True(expected == failure, $"expected {expected}, got {failure} for {token.Header} . {token.Payload}");
        }
    }

    /// <summary>
    /// The rules, stated again with JsonDocument: exactly one object per segment; then, member by member in document
    /// order, the first duplicate name, unsupported header parameter or bad time claim.
    /// </summary>
    private static AuthFailure Oracle(byte[] header, byte[] payload)
    {
        var failure = OracleSegment(header, isHeader: true);
        return failure != AuthFailure.None ? failure : OracleSegment(payload, isHeader: false);
    }

    private static AuthFailure OracleSegment(byte[] json, bool isHeader)
    {
        if (json.Length == 0 || json[0] != '{' || json[^1] != '}' || !IsStrictUtf8(json))
        {
            return AuthFailure.MalformedToken;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return AuthFailure.MalformedToken;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return AuthFailure.MalformedToken;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                foreach (var member in document.RootElement.EnumerateObject())
                {
                    if (!seen.Add(member.Name))
                    {
                        return AuthFailure.DuplicateTokenMember;
                    }

                    var value = member.Value;
                    if ((isHeader && member.Name is "alg" or "kid" or "typ") || (!isHeader && member.Name == "iss"))
                    {
                        if (value.ValueKind != JsonValueKind.String)
                        {
                            return AuthFailure.MalformedToken;
                        }

                        // Throws on a lone surrogate escape, as the pre-check's reader does.
                        _ = value.GetString();
                    }

                    if (isHeader && (member.Name is "crit" or "zip"
                        || (member.Name == "cty" && (value.ValueKind != JsonValueKind.String
                            || string.Equals(value.GetString(), "JWT", StringComparison.OrdinalIgnoreCase)
                            || string.Equals(value.GetString(), "application/jwt", StringComparison.OrdinalIgnoreCase)))))
                    {
                        return AuthFailure.UnsupportedTokenHeader;
                    }

                    if (!isHeader && member.Name is "exp" or "nbf" or "iat"
                        && !(value.ValueKind == JsonValueKind.Number
                            && IntegerLiteral().IsMatch(value.GetRawText())
                            && long.TryParse(value.GetRawText(), out var seconds)
                            && seconds is >= 0 and <= 253_402_300_799))
                    {
                        return AuthFailure.InvalidTimeClaim;
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // A name escaping a lone surrogate cannot be read as a string.
                return AuthFailure.MalformedToken;
            }
        }

        return AuthFailure.None;
    }

    private static bool IsStrictUtf8(byte[] bytes)
    {
        try
        {
            _ = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    [GeneratedRegex("^-?(0|[1-9][0-9]*)$")]
    private static partial Regex IntegerLiteral();

    private static string B64(string json) => Base64UrlEncoder.Encode(json);

    private static string Token(string header, string payload) => $"{B64(header)}.{B64(payload)}.{Signature}";

    private static string TokenBytes(byte[] header, byte[] payload) =>
        $"{Base64UrlEncoder.Encode(header)}.{Base64UrlEncoder.Encode(payload)}.{Signature}";

    public sealed record RandomSegments(byte[] Header, byte[] Payload, string Value);

    public sealed record JsonLikeToken(string Header, string Payload, string Value);

    public static class TokenArbitrary
    {
        // Names that matter, among many that do not (so that a fair share of objects pass).
        private static readonly string[] HeaderNames =
        [
            "crit", "zip", "cty", "\\u0063rit", "\\u0061lg", "alg", "kid", "Alg", "", .. Enumerable.Range(0, 30).Select(i => $"h{i}"),
        ];

        private static readonly string[] ClaimNames =
        [
            "exp", "nbf", "iat", "\\u0065xp", "e\\u0078p", "EXP", "", .. Enumerable.Range(0, 30).Select(i => $"c{i}"),
        ];

        private static readonly string[] Values =
        [
            "\"RS256\"", "\"JWT\"", "\"jwt\"", "\"application/jwt\"", "\"json\"", "\"\\u004aWT\"", "\"DEF\"", "\"\"", "\"a\\\"b\"",
            "1.0", "1748857200.5", "1e30", "1E3", "253402300800", "99999999999999999999", "-1",
            "true", "false", "null", "[]", "[\"exp\"]", "{}", "{\"exp\":\"x\",\"exp\":1}", "[{\"a\":1,\"a\":2}]",
            .. Enumerable.Repeat("1748857200", 10), "0", "-0", "253402300799",
        ];

        // Mostly nothing, so that most objects are well formed and the member rules decide.
        private static readonly string[] Breakage = [.. Enumerable.Repeat("", 100), " ", "}", "{", ",", ":", "x", "]", "\"", "\\", "\u0001", "{}"];

        public static Arbitrary<RandomSegments> RandomSegments() =>
            (from header in Bytes()
             from payload in Bytes()
             from signature in Gen.Elements("c2ln", "c2ln", "c2ln", "", "QR", "c2ln==")
             select new RandomSegments(header, payload, $"{Base64UrlEncoder.Encode(header)}.{Base64UrlEncoder.Encode(payload)}.{signature}"))
            .ToArbitrary();

        public static Arbitrary<JsonLikeToken> JsonLikeToken() =>
            (from header in JsonObject(HeaderNames)
             from payload in JsonObject(ClaimNames)
             select new JsonLikeToken(header, payload, $"{B64(header)}.{B64(payload)}.{Signature}"))
            .ToArbitrary();

        // JSON-ish objects, some with one byte changed, and sometimes anything at all.
        private static Gen<byte[]> Bytes() => Gen.OneOf(
            Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)),
            JsonObject(ClaimNames).Select(Encoding.UTF8.GetBytes),
            JsonObject(ClaimNames).Select(Encoding.UTF8.GetBytes),
            from json in JsonObject(ClaimNames)
            from index in Gen.Choose(0, 1000)
            from value in Gen.Choose(0, 255)
            let bytes = Encoding.UTF8.GetBytes(json)
            select Mutate(bytes, index % bytes.Length, (byte)value));

        private static byte[] Mutate(byte[] bytes, int index, byte value)
        {
            bytes[index] = value;
            return bytes;
        }

        private static Gen<string> JsonObject(string[] names) =>
            from count in Gen.Choose(0, 6)
            from members in Gen.ArrayOf(Member(names), count)
            from before in Gen.Elements(Breakage)
            from inside in Gen.Elements(Breakage)
            from after in Gen.Elements(Breakage)
            select before + "{" + string.Join(",", members) + inside + "}" + after;

        private static Gen<string> Member(string[] names) =>
            from name in Gen.Elements(names)
            from value in Gen.Elements(Values)
            from space in Gen.Elements("", "", "", " ", "\r\n ")
            select $"{space}\"{name}\"{space}:{space}{value}";
    }
}
