using GrpcJwtAuth.Configuration;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Keys;

/// <summary>Keys from a JSON Web Key Set address, read within the size limit and held to what each key declares.</summary>
internal sealed class JwksKeySource(IssuerDefinition issuer, KeyDocumentClient documents, ILogger logger) : IRemoteKeySource
{
    public string Address => issuer.RemoteAddress!;

    public async Task<RemoteKeys> FetchAsync(CancellationToken cancellationToken)
    {
        var json = await documents.GetAsync(Address, cancellationToken).ConfigureAwait(false);
        return new RemoteKeys(JwksParser.Parse(json, issuer.KeySourceName, Address, logger), Issuer: null);
    }
}
