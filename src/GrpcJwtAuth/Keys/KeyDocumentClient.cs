using System.Net.Http.Headers;
using System.Text;
using GrpcJwtAuth.Shared;

namespace GrpcJwtAuth.Keys;

/// <summary>
/// Reads a discovery document or key set over the backchannel <see cref="HttpClient"/>, never more than a limit:
/// a declared <c>Content-Length</c> over it is refused before the body is read, and a body without one is read in
/// chunks and abandoned as soon as it passes the limit, so a hostile or broken endpoint cannot make the server buffer
/// megabytes (the client's own buffer allows 2 GB). HTTPS is required unless the settings allow plain HTTP, for the
/// address asked for and for the one a redirect ended at.
/// </summary>
internal sealed class KeyDocumentClient(IHttpClientFactory httpClientFactory, bool requireHttps, int maxBytes)
{
    public int MaxBytes => maxBytes;

    /// <summary>The body of a successful GET of <paramref name="address"/>, as text.</summary>
    /// <exception cref="KeySourceException">The address is not HTTPS when required, the answer is not a success, or it is too large.</exception>
    public async Task<string> GetAsync(string address, CancellationToken cancellationToken)
    {
        if (EndpointAddress.Check(address, requireHttps, out var uri) != EndpointAddressProblem.None)
        {
            throw new KeySourceException(
                $"The key endpoint address '{address}' is not {(requireHttps ? "an https" : "an http(s)")} address; " +
                $"{(requireHttps ? $"set {GrpcJwtAuthOptions.SectionName}:RequireHttpsMetadata=false to allow plain HTTP (development only)." : "fix the address.")}");
        }

        var client = httpClientFactory.CreateClient(GrpcJwtAuthDefaults.BackchannelHttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);

        if (response.RequestMessage?.RequestUri is { } final && !EndpointAddress.IsAllowed(final, requireHttps))
        {
            throw new KeySourceException($"The key endpoint '{address}' redirected to a plain HTTP address; only HTTPS is allowed.");
        }

        if (!response.IsSuccessStatusCode)
        {
            // The body is not quoted: it is whatever the endpoint chose to send.
            throw new KeySourceException($"The key endpoint '{address}' answered HTTP {(int)response.StatusCode}.");
        }

        var body = await BoundedContent.ReadAsync(response.Content, maxBytes, cancellationToken).ConfigureAwait(false);
        if (body is not { } bytes)
        {
            throw TooLarge(address);
        }

        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new KeySourceException($"The answer of the key endpoint '{address}' is not UTF-8 text.", ex);
        }
    }

    private KeyDocumentTooLargeException TooLarge(string address) => new(
        $"The answer of the key endpoint '{address}' is larger than {maxBytes} bytes " +
        $"({GrpcJwtAuthOptions.SectionName}:MaxKeyDocumentBytes); it is not used.");
}
