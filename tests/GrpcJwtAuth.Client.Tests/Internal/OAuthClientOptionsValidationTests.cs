using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Client.Sources;

namespace GrpcJwtAuth.Client.Tests.Internal;

public class OAuthClientOptionsValidationTests
{
    private const string Prefix = "GrpcJwtAuth:Clients:orders:";

    [Theory]
    [InlineData("no client id", "GrpcJwtAuth:Clients:orders:ClientId is required.")]
    [InlineData("no secret", "GrpcJwtAuth:Clients:orders:ClientSecret is required with GrpcJwtAuth:Clients:orders:ClientAuthentication=BasicHeader.")]
    [InlineData("no secret in body", "GrpcJwtAuth:Clients:orders:ClientSecret is required with GrpcJwtAuth:Clients:orders:ClientAuthentication=RequestBody.")]
    [InlineData("no assertion key", "GrpcJwtAuth:Clients:orders:ClientAssertionKeyPath (or ClientAssertionSigningCredentials in code) is required")]
    [InlineData("assertion lifetime", "GrpcJwtAuth:Clients:orders:ClientAssertionLifetime must be more than 0 and at most 00:10:00")]
    [InlineData("no client certificate", "GrpcJwtAuth:Clients:orders:ClientCertificatePath (or ClientCertificate in code, or an GrpcJwtAuth:Clients:orders:HttpClientName")]
    [InlineData("unknown method", "GrpcJwtAuth:Clients:orders:ClientAuthentication '9' is not one of")]
    [InlineData("no endpoint", "Set GrpcJwtAuth:Clients:orders:TokenEndpoint or GrpcJwtAuth:Clients:orders:Authority.")]
    [InlineData("relative endpoint", "GrpcJwtAuth:Clients:orders:TokenEndpoint '/token' is not an absolute http(s) address.")]
    [InlineData("http endpoint", "GrpcJwtAuth:Clients:orders:TokenEndpoint 'http://idp.test/token' does not use HTTPS; use https, or set GrpcJwtAuth:Clients:orders:RequireHttps=false")]
    [InlineData("http authority", "GrpcJwtAuth:Clients:orders:Authority 'http://idp.test' does not use HTTPS")]
    [InlineData("relative resource", "GrpcJwtAuth:Clients:orders:Resource 'inventory' is not an absolute URI without a fragment.")]
    [InlineData("resource with fragment", "GrpcJwtAuth:Clients:orders:Resource 'https://inventory.test/#x' is not an absolute URI without a fragment.")]
    [InlineData("scope with space", "GrpcJwtAuth:Clients:orders:Scopes:1 'orders.read orders.write' is empty or contains a space")]
    [InlineData("empty scope", "GrpcJwtAuth:Clients:orders:Scopes:1 '' is empty or contains a space")]
    public void Validate_InvalidOptions_EnsureValidationErrors(string problem, string expected)
    {
        var options = Valid();
        switch (problem)
        {
            case "no client id":
                options.ClientId = " ";
                break;
            case "no secret":
                options.ClientSecret = null;
                break;
            case "no secret in body":
                options.ClientAuthentication = ClientAuthenticationMethod.RequestBody;
                options.ClientSecret = "";
                break;
            case "no assertion key":
                options.ClientAuthentication = ClientAuthenticationMethod.PrivateKeyJwt;
                break;
            case "assertion lifetime":
                options.ClientAuthentication = ClientAuthenticationMethod.PrivateKeyJwt;
                options.ClientAssertionKeyPath = "client.pem";
                options.ClientAssertionLifetime = TimeSpan.FromHours(1);
                break;
            case "no client certificate":
                options.ClientAuthentication = ClientAuthenticationMethod.TlsClientCertificate;
                break;
            case "unknown method":
                options.ClientAuthentication = (ClientAuthenticationMethod)9;
                break;
            case "no endpoint":
                options.TokenEndpoint = null;
                break;
            case "relative endpoint":
                options.TokenEndpoint = "/token";
                break;
            case "http endpoint":
                options.TokenEndpoint = "http://idp.test/token";
                break;
            case "http authority":
                options.TokenEndpoint = null;
                options.Authority = "http://idp.test";
                break;
            case "relative resource":
                options.Resource = "inventory";
                break;
            case "resource with fragment":
                options.Resource = "https://inventory.test/#x";
                break;
            case "scope with space":
                options.Scopes.Add("orders.read orders.write");
                break;
            default:
                options.Scopes.Add("");
                break;
        }

        var errors = OAuthClientOptionsValidation.Validate(options, Prefix, certificateOnHandler: false);

        Assert.Contains(errors, error => error.StartsWith(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(errors, error => error.Contains("s3cr3t", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_SeveralProblems_ListsEveryOne()
    {
        var options = new ClientCredentialsOptions { Resource = "inventory" };

        var errors = OAuthClientOptionsValidation.Validate(options, Prefix, certificateOnHandler: false);

        Assert.Equal(4, errors.Count);
        Assert.All(errors, error => Assert.Contains(Prefix, error, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(ClientAuthenticationMethod.BasicHeader)]
    [InlineData(ClientAuthenticationMethod.RequestBody)]
    [InlineData(ClientAuthenticationMethod.PrivateKeyJwt)]
    [InlineData(ClientAuthenticationMethod.TlsClientCertificate)]
    public void Validate_EachMethodWithWhatItNeeds_IsValid(ClientAuthenticationMethod method)
    {
        var options = Valid();
        options.ClientAuthentication = method;
        options.Resource = "https://inventory.test/api";
        options.Audience = "inventory";
        if (method == ClientAuthenticationMethod.PrivateKeyJwt)
        {
            options.ClientSecret = null;
            options.ClientAssertionKeyPath = "client.pem";
        }
        else if (method == ClientAuthenticationMethod.TlsClientCertificate)
        {
            options.ClientSecret = null;
            options.ClientCertificatePath = "client.crt";
        }

        Assert.Empty(OAuthClientOptionsValidation.Validate(options, Prefix, certificateOnHandler: false));
    }

    [Fact]
    public void Validate_TlsClientCertificateOnTheCallersOwnHandler_NeedsNoCertificateSetting()
    {
        var options = Valid();
        options.ClientSecret = null;
        options.ClientAuthentication = ClientAuthenticationMethod.TlsClientCertificate;

        Assert.Empty(OAuthClientOptionsValidation.Validate(options, Prefix, certificateOnHandler: true));
    }

    private static ClientCredentialsOptions Valid()
    {
        var options = new ClientCredentialsOptions
        {
            TokenEndpoint = "https://idp.test/token",
            ClientId = "orders-client",
            ClientSecret = "s3cr3t",
        };
        options.Scopes.Add("orders.read");
        return options;
    }
}
