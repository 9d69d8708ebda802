using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace GrpcJwtAuth.Keys;

/// <summary>
/// Keys from an OpenID Connect discovery document and the JWKS it points at, read by IdentityModel's
/// <see cref="OpenIdConnectConfigurationRetriever"/> through the backchannel <see cref="HttpClient"/>.
/// </summary>
internal sealed class DiscoveryKeySource(string metadataAddress, bool requireHttps, IHttpClientFactory httpClientFactory)
    : IRemoteKeySource
{
    public string Address => metadataAddress;

    public async Task<RemoteKeys> FetchAsync(CancellationToken cancellationToken)
    {
        var retriever = new HttpDocumentRetriever(httpClientFactory.CreateClient(GrpcJwtAuthDefaults.BackchannelHttpClientName))
        {
            RequireHttps = requireHttps,
        };

        var configuration = await OpenIdConnectConfigurationRetriever
            .GetAsync(metadataAddress, retriever, cancellationToken)
            .ConfigureAwait(false);

        var keys = configuration.SigningKeys.Select(SigningKey.Of).ToArray();
        if (keys.Length == 0)
        {
            throw new KeySourceException("The key set named by the discovery document holds no usable signing key.");
        }

        return new RemoteKeys(keys, string.IsNullOrEmpty(configuration.Issuer) ? null : configuration.Issuer);
    }
}
