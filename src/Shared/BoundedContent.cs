namespace GrpcJwtAuth.Shared;

/// <summary>
/// Reads an HTTP body up to a limit, for answers of endpoints a server or client is configured with but does not
/// control (key sets, discovery documents, token responses): a declared <c>Content-Length</c> over the limit is refused
/// before the body is read, and a body without one is abandoned as soon as it passes the limit, so no answer can make
/// the process buffer more (HttpClient's own buffer allows 2 GB). Linked into both packages.
/// </summary>
internal static class BoundedContent
{
    private const int ChunkBytes = 16 * 1024;

    /// <summary>The body, or <see langword="null"/> when it is larger than <paramref name="maxBytes"/>.</summary>
    public static async Task<ArraySegment<byte>?> ReadAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } declared && declared > maxBytes)
        {
            return null;
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new MemoryStream();
            var chunk = new byte[ChunkBytes];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return new ArraySegment<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
    }
}
