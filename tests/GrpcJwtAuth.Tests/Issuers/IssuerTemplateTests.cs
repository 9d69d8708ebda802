using GrpcJwtAuth.Issuers;

namespace GrpcJwtAuth.Tests.Issuers;

/// <summary>
/// A multi-tenant issuer's template: the tenant id comes from a token nobody has validated yet, so its shape is checked
/// before the list or the application's validator ever sees it, and a validator that throws accepts nothing.
/// </summary>
public class IssuerTemplateTests
{
    private const string Template = "https://login.test/{tenantid}/v2.0";

    [Theory]
    [InlineData("https://login.test/contoso/v2.0", true, "contoso")]
    [InlineData("https://login.test/fabrikam/v2.0", true, "fabrikam")]
    [InlineData("https://login.test/evil/v2.0", false, "evil")]
    [InlineData("https://login.test/CONTOSO/v2.0", false, "CONTOSO")]
    [InlineData("https://login.test//v2.0", false, null)]
    [InlineData("https://login.test/contoso/x/v2.0", false, null)]
    [InlineData("https://login.test/contoso/v2.0/", false, null)]
    [InlineData("https://login.test/cont%6Fso/v2.0", false, null)]
    [InlineData("https://LOGIN.test/contoso/v2.0", false, null)]
    [InlineData("https://login.test/contoso", false, null)]
    public void Accepts_OnlyListedTenantsOfTheExactShape(string issuer, bool accepted, string? shapedTenant)
    {
        var template = new IssuerTemplate(Template, ["contoso", "fabrikam"], validator: null);

        Assert.Equal(accepted, template.Accepts(issuer));
        Assert.Equal(shapedTenant is not null, template.TryMatch(issuer, out var matched));
        if (shapedTenant is not null)
        {
            Assert.Equal(shapedTenant, matched);
        }
    }

    [Fact]
    public void TryMatch_TenantIdLongerThanAnyRealOne_IsNotATenant()
    {
        var validated = new List<string>();
        var template = new IssuerTemplate(Template, [], tenant =>
        {
            validated.Add(tenant);
            return true;
        });

        Assert.False(template.Accepts($"https://login.test/{new string('a', IssuerTemplate.MaxTenantLength + 1)}/v2.0"));
        Assert.True(template.Accepts($"https://login.test/{new string('a', IssuerTemplate.MaxTenantLength)}/v2.0"));
        Assert.Equal([new string('a', IssuerTemplate.MaxTenantLength)], validated);
    }

    [Fact]
    public void Accepts_ValidatorThatThrows_AcceptsNothing()
    {
        var template = new IssuerTemplate(Template, ["listed"], _ => throw new InvalidOperationException("tenant store down"));

        Assert.False(template.Accepts("https://login.test/other/v2.0"));
        Assert.True(template.Accepts("https://login.test/listed/v2.0"));
    }

    [Theory]
    [InlineData("https://a.test/{tenantid}", "https://a.test/t{tenantid}", true)]
    [InlineData("https://a.test/{tenantid}/v2.0", "https://a.test/{tenantid}/v1.0", false)]
    [InlineData("https://a.test/{tenantid}", "https://b.test/{tenantid}", false)]
    [InlineData("https://a.test/{tenantid}", "https://a.test/{TenantId}", true)]
    public void Overlaps_WhenSomeIssuerCouldMatchBoth(string first, string second, bool overlaps)
    {
        var a = new IssuerTemplate(first, [], null);
        var b = new IssuerTemplate(second, [], null);

        Assert.Equal(overlaps, a.Overlaps(b));
        Assert.Equal(overlaps, b.Overlaps(a));
    }
}
