using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Grpc.Core;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>
/// One cached-token gRPC request through what ASP.NET Core runs around the service method, without the network: a
/// request scope, ASP.NET Core's authentication and authorization middleware (which WebApplication inserts by itself
/// once AddGrpcJwtAuth registers authentication and authorization), and the interceptor's decision. Beside it the
/// same request with no authentication at all, and the interceptor alone (a pipeline without the middleware).
/// Run: dotnet run -c Release --project tests/GrpcJwtAuth.Benchmarks -- --filter '*PipelineBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PipelineBenchmarks
{
    private const string Method = "/greet.Greeter/SayHello";
    private const string Issuer = "https://issuer.bench";
    private const string Audience = "greeter";

    private ServiceProvider _services = null!;
    private IServiceScopeFactory _scopes = null!;
    private Endpoint _endpoint = null!;
    private Endpoint _policyEndpoint = null!;
    private string _header = null!;
    private RequestDelegate _noAuth = null!;
    private RequestDelegate _interceptorOnly = null!;
    private RequestDelegate _middlewareAndInterceptor = null!;
    private RequestDelegate _authenticationOnly = null!;
    private RequestDelegate _authorizationOnly = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rsa = RSA.Create(2048);
        _header = "Bearer " + new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "bench", ["roles"] = new[] { "user" }, ["scope"] = "greet" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "k1" }, "RS256"),
        });

        var services = new ServiceCollection().AddLogging().AddMetrics()
            .AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddGrpc();
        services.AddGrpcJwtAuth(options =>
        {
            options.Issuers.Add(Issuer);
            options.Audiences.Add(Audience);
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "k1", Pem = rsa.ExportSubjectPublicKeyInfoPem() });
        });
        services.AddAuthorization(options => options.AddPolicy("users", policy => policy.RequireRole("user")));
        _services = services.BuildServiceProvider();
        _scopes = _services.GetRequiredService<IServiceScopeFactory>();
        _endpoint = GrpcMethodEndpoint(Method);
        _policyEndpoint = GrpcMethodEndpoint(Method, new AuthorizeAttribute("users"));

        var authorizer = _services.GetRequiredService<CallAuthorizer>();
        RequestDelegate interceptor = async context =>
        {
            var decision = await authorizer.AuthorizeAsync(new BenchServerCallContext(Method, context), null);
            if (!decision.IsAllowed)
            {
                throw decision.CreateException();
            }
        };

        _noAuth = context =>
        {
            _ = new BenchServerCallContext(Method, context);
            return Task.CompletedTask;
        };
        _interceptorOnly = interceptor;
        var app = new ApplicationBuilder(_services);
        app.UseAuthentication();
        app.UseAuthorization();
        app.Run(interceptor);
        _middlewareAndInterceptor = app.Build();
        var authenticationOnly = new ApplicationBuilder(_services);
        authenticationOnly.UseAuthentication();
        authenticationOnly.Run(interceptor);
        _authenticationOnly = authenticationOnly.Build();
        var authorizationOnly = new ApplicationBuilder(_services);
        authorizationOnly.UseAuthorization();
        authorizationOnly.Run(interceptor);
        _authorizationOnly = authorizationOnly.Build();

        // Warm: the token is admitted to the cache on its second validation.
        for (var i = 0; i < 3; i++)
        {
            InterceptorOnly().GetAwaiter().GetResult();
            MiddlewareAndInterceptor().GetAwaiter().GetResult();
            MiddlewareAndInterceptorWithPolicy().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, Description = "request scope, no authentication")]
    public Task NoAuth() => RunAsync(_noAuth, _endpoint);

    [Benchmark(Description = "interceptor only (no middleware)")]
    public Task InterceptorOnly() => RunAsync(_interceptorOnly, _endpoint);

    [Benchmark(Description = "UseAuthentication + UseAuthorization + interceptor")]
    public Task MiddlewareAndInterceptor() => RunAsync(_middlewareAndInterceptor, _endpoint);

    [Benchmark(Description = "UseAuthentication + interceptor")]
    public Task AuthenticationAndInterceptor() => RunAsync(_authenticationOnly, _endpoint);

    [Benchmark(Description = "UseAuthorization + interceptor")]
    public Task AuthorizationAndInterceptor() => RunAsync(_authorizationOnly, _endpoint);

    [Benchmark(Description = "same, [Authorize(\"users\")] on the method")]
    public Task MiddlewareAndInterceptorWithPolicy() => RunAsync(_middlewareAndInterceptor, _policyEndpoint);

    private async Task RunAsync(RequestDelegate pipeline, Endpoint endpoint)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Protocol = "HTTP/2";
        context.Request.Method = HttpMethods.Post;
        context.Request.ContentType = "application/grpc";
        context.Request.Headers.Authorization = _header;
        context.SetEndpoint(endpoint);
        await pipeline(context);
    }

    private static Endpoint GrpcMethodEndpoint(string path, params object[] metadata)
    {
        var bytes = Marshallers.Create(static (byte[] value) => value, static value => value);
        var separator = path.LastIndexOf('/');
        var method = new Method<byte[], byte[]>(MethodType.Unary, path[1..separator], path[(separator + 1)..], bytes, bytes);
        return new Endpoint(
            null, new EndpointMetadataCollection([new Grpc.AspNetCore.Server.GrpcMethodMetadata(typeof(PipelineBenchmarks), method), .. metadata]), path);
    }
}
