using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>A server call context over an HttpContext, found by grpc-dotnet's GetHttpContext() through user state.</summary>
internal sealed class BenchServerCallContext : ServerCallContext
{
    private readonly Dictionary<object, object> _userState = new();

    public BenchServerCallContext(string method, HttpContext httpContext)
    {
        MethodCore = method;
        HttpContext = httpContext;
        _userState["__HttpContext"] = httpContext;
    }

    public HttpContext HttpContext { get; }

    protected override string MethodCore { get; }

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:5000";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => [];

    protected override CancellationToken CancellationTokenCore => CancellationToken.None;

    protected override Metadata ResponseTrailersCore => [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => new(null, []);

    protected override IDictionary<object, object> UserStateCore => _userState;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
