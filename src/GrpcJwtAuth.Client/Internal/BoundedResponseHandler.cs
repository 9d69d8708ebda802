using System.Net;
using GrpcJwtAuth.Shared;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Sends one request through the given <see cref="HttpClient"/> and buffers the answer, but never more than a limit
/// (<see cref="BoundedContent"/>), so that the protocol library reading it cannot be made to buffer megabytes. Keeps
/// what came back, so the caller can judge the answer itself.
/// </summary>
internal sealed class BoundedResponseHandler(HttpClient client, int maxBytes) : HttpMessageHandler
{
    /// <summary>The status of the last answer, if one came.</summary>
    public HttpStatusCode? Status { get; private set; }

    /// <summary>The body of the last answer; <see langword="null"/> when none came or it was over the limit.</summary>
    public ArraySegment<byte>? Body { get; private set; }

    /// <summary>The address the last answer came from, after redirects.</summary>
    public Uri? FinalAddress { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        using (response)
        {
            Status = response.StatusCode;
            FinalAddress = response.RequestMessage?.RequestUri;
            var body = await BoundedContent.ReadAsync(response.Content, maxBytes, cancellationToken).ConfigureAwait(false)
                ?? throw new ResponseTooLargeException(maxBytes);
            Body = body;

            var buffered = new HttpResponseMessage(response.StatusCode)
            {
                RequestMessage = response.RequestMessage,
                ReasonPhrase = response.ReasonPhrase,
                Version = response.Version,
                Content = new ByteArrayContent(body.Array!, body.Offset, body.Count),
            };
            foreach (var header in response.Headers)
            {
                buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            foreach (var header in response.Content.Headers)
            {
                if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    buffered.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            return buffered;
        }
    }
}

/// <summary>An answer was larger than allowed; it was not read further.</summary>
internal sealed class ResponseTooLargeException(int maxBytes) : IOException($"The answer is larger than {maxBytes} bytes.")
{
    public int MaxBytes => maxBytes;
}
