using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Keys;

/// <summary>Keys from a JSON Web Key Set address, parsed by IdentityModel's <see cref="JsonWebKeySet"/>.</summary>
internal sealed class JwksKeySource(string jwksUri, bool requireHttps, IHttpClientFactory httpClientFactory)
    : IRemoteKeySource
{
    public string Address => jwksUri;

    public async Task<RemoteKeys> FetchAsync(CancellationToken cancellationToken)
    {
        var retriever = new HttpDocumentRetriever(httpClientFactory.CreateClient(GrpcJwtAuthDefaults.BackchannelHttpClientName))
        {
            RequireHttps = requireHttps,
        };

        var document = await retriever.GetDocumentAsync(jwksUri, cancellationToken).ConfigureAwait(false);

        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(document);
        }
        catch (ArgumentException ex)
        {
            throw new KeySourceException("The key set is not a valid JSON Web Key Set.", ex);
        }

        var keys = set.GetSigningKeys().Select(SigningKey.Of).ToArray();
        if (keys.Length == 0)
        {
            throw new KeySourceException("The key set holds no usable signing key.");
        }

        return new RemoteKeys(keys, Issuer: null);
    }
}
