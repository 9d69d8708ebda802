using System.Text.Json;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.Tests.Keys;

public class DiscoveryKeySourceTests
{
    private const string Metadata = "https://issuer.test/.well-known/openid-configuration";
    private const string Jwks = "https://issuer.test/keys";

    private static readonly TestSigningKey Rsa = TestSigningKey.Rsa("rsa-1");

    [Fact]
    public async Task FetchAsync_DiscoveryDocument_ReturnsItsKeysAndIssuer()
    {
        var http = new StubHttpClientFactory()
            .Respond(Metadata, Document("https://issuer.test", Jwks))
            .Respond(Jwks, TestSigningKey.JwksJson(Rsa));
        var source = new DiscoveryKeySource(Metadata, requireHttps: true, http);

        var keys = await source.FetchAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["rsa-1"], keys.Keys.Select(key => key.KeyId));
        Assert.Equal("https://issuer.test", keys.Issuer);
        Assert.Equal([new Uri(Metadata), new Uri(Jwks)], http.Requests);
        Assert.All(http.ClientNames, name => Assert.Equal(GrpcJwtAuthDefaults.BackchannelHttpClientName, name));
        Assert.Equal(Metadata, source.Address);
    }

    [Fact]
    public async Task FetchAsync_DocumentWithoutIssuer_ReturnsNullIssuer()
    {
        var http = new StubHttpClientFactory()
            .Respond(Metadata, Document(issuer: null, Jwks))
            .Respond(Jwks, TestSigningKey.JwksJson(Rsa));
        var source = new DiscoveryKeySource(Metadata, requireHttps: true, http);

        var keys = await source.FetchAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(keys.Issuer);
    }

    [Fact]
    public async Task FetchAsync_EmptyKeySet_ThrowsKeySourceException()
    {
        var http = new StubHttpClientFactory()
            .Respond(Metadata, Document("https://issuer.test", Jwks))
            .Respond(Jwks, "{\"keys\":[]}");
        var source = new DiscoveryKeySource(Metadata, requireHttps: true, http);

        var error = await Assert.ThrowsAsync<KeySourceException>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("The key set named by the discovery document holds no usable signing key.", error.Message);
    }

    [Fact]
    public async Task FetchAsync_DocumentWithoutJwksUri_ThrowsKeySourceException()
    {
        var http = new StubHttpClientFactory().Respond(Metadata, Document("https://issuer.test", jwksUri: null));
        var source = new DiscoveryKeySource(Metadata, requireHttps: true, http);

        await Assert.ThrowsAsync<KeySourceException>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task FetchAsync_HttpJwksUriWhileHttpsRequired_Throws()
    {
        const string httpJwks = "http://issuer.test/keys";
        var http = new StubHttpClientFactory()
            .Respond(Metadata, Document("https://issuer.test", httpJwks))
            .Respond(httpJwks, TestSigningKey.JwksJson(Rsa));
        var source = new DiscoveryKeySource(Metadata, requireHttps: true, http);

        await Assert.ThrowsAnyAsync<Exception>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.DoesNotContain(new Uri(httpJwks), http.Requests);
    }

    [Fact]
    public async Task FetchAsync_MissingDocument_Throws()
    {
        var source = new DiscoveryKeySource(Metadata, requireHttps: true, new StubHttpClientFactory());

        await Assert.ThrowsAnyAsync<Exception>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static string Document(string? issuer, string? jwksUri)
    {
        var document = new Dictionary<string, string>();
        if (issuer is not null)
        {
            document["issuer"] = issuer;
        }

        if (jwksUri is not null)
        {
            document["jwks_uri"] = jwksUri;
        }

        return JsonSerializer.Serialize(document);
    }
}
