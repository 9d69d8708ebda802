using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Tests.Server;

/// <summary>A <see cref="ServerCallContext"/> over a <see cref="DefaultHttpContext"/>, found by grpc-dotnet's GetHttpContext().</summary>
internal sealed class TestServerCallContext : ServerCallContext
{
    private readonly Dictionary<object, object> _userState = new();

    public TestServerCallContext(string method, HttpContext? httpContext = null, CancellationToken cancellationToken = default)
    {
        MethodCore = method;
        HttpContext = httpContext ?? new DefaultHttpContext();
        CancellationTokenCore = cancellationToken;
        _userState["__HttpContext"] = HttpContext;
    }

    public HttpContext HttpContext { get; }

    protected override string MethodCore { get; }

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:5555";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore { get; }

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => new(null, new Dictionary<string, List<AuthProperty>>());

    protected override IDictionary<object, object> UserStateCore => _userState;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
