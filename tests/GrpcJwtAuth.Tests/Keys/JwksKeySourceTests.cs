using System.Net;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.Tests.Keys;

public class JwksKeySourceTests
{
    private const string Address = "https://issuer.test/keys";

    private static readonly TestSigningKey Rsa = TestSigningKey.Rsa("rsa-1");
    private static readonly TestSigningKey Ec = TestSigningKey.Ec("ec-1");

    [Fact]
    public async Task FetchAsync_KeySet_ReturnsItsSigningKeysThroughTheBackchannel()
    {
        var http = new StubHttpClientFactory().Respond(Address, TestSigningKey.JwksJson(Rsa, Ec));
        var source = new JwksKeySource(Address, requireHttps: true, http);

        var keys = await source.FetchAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["ec-1", "rsa-1"], keys.Keys.Select(key => key.KeyId).Order(StringComparer.Ordinal));
        Assert.Null(keys.Issuer);
        Assert.Equal([GrpcJwtAuthDefaults.BackchannelHttpClientName], http.ClientNames);
        Assert.Equal(Address, source.Address);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    public async Task FetchAsync_NotAKeySet_ThrowsKeySourceException(string body)
    {
        var source = new JwksKeySource(Address, requireHttps: true, new StubHttpClientFactory().Respond(Address, body));

        var error = await Assert.ThrowsAsync<KeySourceException>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("The key set is not a valid JSON Web Key Set.", error.Message);
    }

    [Theory]
    [InlineData("{\"keys\":[]}")]
    [InlineData("{}")]
    [InlineData("{\"keys\":[{\"kty\":\"oct\",\"use\":\"enc\",\"kid\":\"x\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}")]
    public async Task FetchAsync_NoUsableSigningKey_ThrowsKeySourceException(string body)
    {
        var source = new JwksKeySource(Address, requireHttps: true, new StubHttpClientFactory().Respond(Address, body));

        var error = await Assert.ThrowsAsync<KeySourceException>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("The key set holds no usable signing key.", error.Message);
    }

    [Fact]
    public async Task FetchAsync_ServerError_Throws()
    {
        var source = new JwksKeySource(Address, requireHttps: true, new StubHttpClientFactory().Respond(Address, "oops", HttpStatusCode.InternalServerError));

        await Assert.ThrowsAnyAsync<Exception>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task FetchAsync_HttpAddressWhileHttpsRequired_ThrowsWithoutARequest()
    {
        const string http = "http://issuer.test/keys";
        var factory = new StubHttpClientFactory().Respond(http, TestSigningKey.JwksJson(Rsa));
        var source = new JwksKeySource(http, requireHttps: true, factory);

        await Assert.ThrowsAnyAsync<Exception>(() => source.FetchAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(factory.Requests);
    }

    [Fact]
    public async Task FetchAsync_HttpAddressWhileHttpsNotRequired_Fetches()
    {
        const string http = "http://issuer.test/keys";
        var source = new JwksKeySource(http, requireHttps: false, new StubHttpClientFactory().Respond(http, TestSigningKey.JwksJson(Rsa)));

        var keys = await source.FetchAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Single(keys.Keys);
    }
}
