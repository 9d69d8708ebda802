using GrpcJwtAuth.Tokens;

namespace GrpcJwtAuth.Tests.Tokens;

public class TokenTypesTests
{
    [Theory]
    [InlineData("at+jwt", true)]
    [InlineData("AT+JWT", true)]
    [InlineData("application/at+jwt", true)]
    [InlineData("Application/At+Jwt", true)]
    [InlineData("JWT", true)]
    [InlineData("application/jwt", true)]
    [InlineData(null, true)]
    [InlineData("", false)]
    [InlineData("application/", false)]
    [InlineData("text/at+jwt", false)]
    [InlineData("at+jwt ", false)]
    [InlineData("logout+jwt", false)]
    [InlineData("secevent+jwt", false)]
    [InlineData("dpop+jwt", false)]
    [InlineData("jose", false)]
    [InlineData("at+jwt+jwt", false)]
    public void Accepts_Defaults_AreTheAccessTokenTypesAsMediaTypes(string? typ, bool expected)
    {
        var types = new TokenTypes(TokenTypes.Defaults, requireType: false);

        Assert.Equal(expected, types.Accepts(typ));
    }

    [Theory]
    [InlineData("at+jwt", true)]
    [InlineData("application/at+jwt", true)]
    [InlineData("JWT", false)]
    [InlineData(null, false)]
    public void Accepts_ConfiguredTypesAndRequiredType_NarrowIt(string? typ, bool expected)
    {
        var types = new TokenTypes(["application/at+jwt"], requireType: true);

        Assert.Equal(expected, types.Accepts(typ));
    }
}
