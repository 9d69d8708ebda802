using System.Text.Json;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace GrpcJwtAuth.Keys;

/// <summary>
/// Keys from an OpenID Connect discovery document and the key set it names, both read within the size limit. A
/// document is used only if its <c>issuer</c> is the one it was fetched for (OpenID Connect Discovery section 4.3,
/// RFC 8414 section 3.3): the authority, a trailing slash aside, or one of the configured issuers when the address does
/// not tell. Otherwise the fetch fails (the last good keys stay) and both names are logged (event 206).
/// </summary>
internal sealed class DiscoveryKeySource(IssuerDefinition issuer, KeyDocumentClient documents, ILogger logger) : IRemoteKeySource
{
    public string Address => issuer.RemoteAddress!;

    public async Task<RemoteKeys> FetchAsync(CancellationToken cancellationToken)
    {
        var json = await documents.GetAsync(Address, cancellationToken).ConfigureAwait(false);
        OpenIdConnectConfiguration document;
        try
        {
            document = OpenIdConnectConfiguration.Create(json);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or InvalidOperationException)
        {
            throw new KeySourceException("The discovery document is not a valid JSON object.", ex);
        }

        var documentIssuer = string.IsNullOrEmpty(document.Issuer) ? null : document.Issuer;
        if (!IsExpected(issuer, documentIssuer))
        {
            var expected = issuer.ExpectedDiscoveryIssuer ?? string.Join(", ", issuer.Issuers);
            Log.DiscoveryIssuerMismatch(logger, issuer.KeySourceName, Address, RejectedTokenClaims.Sanitize(documentIssuer, 256) ?? "(none)", expected);
            throw new KeySourceException("The discovery document names another issuer than the one it was fetched for; it is not used.");
        }

        if (string.IsNullOrEmpty(document.JwksUri))
        {
            throw new KeySourceException("The discovery document names no jwks_uri.");
        }

        var jwks = await documents.GetAsync(document.JwksUri, cancellationToken).ConfigureAwait(false);
        return new RemoteKeys(JwksParser.Parse(jwks, issuer.KeySourceName, document.JwksUri, logger), documentIssuer);
    }

    /// <summary>Whether a document naming <paramref name="documentIssuer"/> may be used for <paramref name="issuer"/>.</summary>
    internal static bool IsExpected(IssuerDefinition issuer, string? documentIssuer)
    {
        // A multi-tenant issuer's shared document names the template itself (Entra's "common" document does), or one
        // accepted tenant's issuer.
        if (issuer.Template is { } template && documentIssuer is not null && template.Accepts(documentIssuer))
        {
            return true;
        }

        if (issuer.ExpectedDiscoveryIssuer is { } expected)
        {
            return documentIssuer is not null && IssuerDefinition.SameIgnoringTrailingSlash(expected, documentIssuer);
        }

        if (issuer.Issuers.Length > 0)
        {
            return documentIssuer is not null && Array.IndexOf(issuer.Issuers, documentIssuer) >= 0;
        }

        // Neither the address nor the settings say which issuer to expect: allowed only with ValidateIssuer=false.
        return !issuer.ValidateIssuer;
    }
}
