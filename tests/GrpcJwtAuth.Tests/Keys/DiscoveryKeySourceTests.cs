using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Keys;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Keys;

/// <summary>Which discovery documents may be used; fetching them is covered over HTTPS by the integration tests.</summary>
public class DiscoveryKeySourceTests
{
    [Theory]
    [InlineData("https://idp.test", "https://idp.test", true)]
    [InlineData("https://idp.test", "https://idp.test/", true)]
    [InlineData("https://idp.test/", "https://idp.test", true)]
    [InlineData("https://idp.test", "https://evil.test", false)]
    [InlineData("https://idp.test", "https://idp.test/realm", false)]
    [InlineData("https://idp.test", "https://IDP.test", false)]
    [InlineData("https://idp.test", null, false)]
    public void IsExpected_Authority_DocumentMustNameIt(string authority, string? documentIssuer, bool expected)
    {
        var issuer = Issuer(options => options.Authority = authority);

        Assert.Equal(expected, DiscoveryKeySource.IsExpected(issuer, documentIssuer));
    }

    [Theory]
    [InlineData("https://idp.test/realm/.well-known/openid-configuration", "https://idp.test/realm", true)]
    [InlineData("https://idp.test/realm/.well-known/openid-configuration", "https://idp.test", false)]
    public void IsExpected_StandardMetadataAddress_DocumentMustNameItsAuthority(string address, string documentIssuer, bool expected)
    {
        var issuer = Issuer(options => options.MetadataAddress = address);

        Assert.Equal(expected, DiscoveryKeySource.IsExpected(issuer, documentIssuer));
    }

    [Theory]
    [InlineData("https://b2c.test/tenant/v2.0/", true)]
    [InlineData("https://b2c.test/tenant/v2.0", false)]
    [InlineData("https://b2c.test/other/v2.0/", false)]
    public void IsExpected_NonStandardMetadataAddress_DocumentMustNameAConfiguredIssuerExactly(string documentIssuer, bool expected)
    {
        var issuer = Issuer(options =>
        {
            options.MetadataAddress = "https://b2c.test/tenant/v2.0/.well-known/openid-configuration?p=b2c_1_signin";
            options.Issuers.Add("https://b2c.test/tenant/v2.0/");
        });

        Assert.Equal(expected, DiscoveryKeySource.IsExpected(issuer, documentIssuer));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void IsExpected_NothingToCompareWith_OnlyWithoutIssuerValidation(bool validateIssuer, bool expected)
    {
        var issuer = Issuer(options =>
        {
            options.MetadataAddress = "https://idp.test/metadata";
            options.ValidateIssuer = validateIssuer;
        });

        Assert.Equal(expected, DiscoveryKeySource.IsExpected(issuer, "https://anything.test"));
    }

    private static IssuerDefinition Issuer(Action<GrpcJwtAuthOptions> configure)
    {
        var options = new GrpcJwtAuthOptions();
        configure(options);
        return Assert.Single(CompiledAuthOptions.Create(options, new FakeTimeProvider()).Issuers);
    }
}
