using System.Net;
using System.Text;

namespace GrpcJwtAuth.Tests.Keys;

/// <summary>An <see cref="IHttpClientFactory"/> whose clients answer from a table of address → response.</summary>
internal sealed class StubHttpClientFactory : IHttpClientFactory
{
    private readonly StubHandler _handler = new();

    public List<string> ClientNames { get; } = [];

    public List<Uri> Requests => _handler.Requests;

    public StubHttpClientFactory Respond(string address, string body, HttpStatusCode status = HttpStatusCode.OK)
    {
        _handler.Responses[address] = (status, body);
        return this;
    }

    public HttpClient CreateClient(string name)
    {
        ClientNames.Add(name);
        return new HttpClient(_handler, disposeHandler: false);
    }

    private sealed class StubHandler : HttpMessageHandler
    {
        public Dictionary<string, (HttpStatusCode Status, string Body)> Responses { get; } = new(StringComparer.Ordinal);

        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Requests.Add(request.RequestUri!);
            var (status, body) = Responses.TryGetValue(request.RequestUri!.ToString(), out var response)
                ? response
                : (HttpStatusCode.NotFound, string.Empty);
            return Task.FromResult(new HttpResponseMessage(status)
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
                RequestMessage = request,
            });
        }
    }
}
