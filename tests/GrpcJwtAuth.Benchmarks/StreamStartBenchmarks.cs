using System.Security.Claims;
using BenchmarkDotNet.Attributes;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Streams;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>
/// What an authenticated streaming call costs to start and end beyond its decision: watching its token's expiry
/// alone (renewal not mapped), and that plus making it renewable (a call id, a table entry, the header timer, the
/// user feature) and forgetting it at the end (renewal mapped).
/// Run: dotnet run -c Release --project tests/GrpcJwtAuth.Benchmarks -- --filter '*StreamStartBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class StreamStartBenchmarks
{
    private const string Method = "/greet.Greeter/Chat";

    private ServiceProvider _services = null!;
    private RenewableStreams _streams = null!;
    private DefaultHttpContext _httpContext = null!;
    private BenchServerCallContext _context = null!;
    private JwtCaller _caller = null!;
    private EndpointAuthorization _authorization = null!;
    private DateTimeOffset _deadline;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics()
            .AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddGrpc();
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        services.AddGrpcJwtAuth(options =>
        {
            options.Issuers.Add("https://issuer.bench");
            options.Audiences.Add("greeter");
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "k1", Pem = rsa.ExportSubjectPublicKeyInfoPem() });
        });
        _services = services.BuildServiceProvider();
        _streams = _services.GetRequiredService<RenewableStreams>();
        _streams.Enabled = true;
        _httpContext = new DefaultHttpContext { RequestServices = _services };
        _context = new BenchServerCallContext(Method, _httpContext);
        _deadline = DateTimeOffset.UtcNow.AddHours(1);
        _caller = new JwtCaller(
            [new Claim("sub", "bench"), new Claim("azp", "bench-client")], "bench", "https://issuer.bench", "k1", null, [], [], _deadline, "default");
        var policy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        _authorization = new EndpointAuthorization(Method, null, policy, policy, null, new Dictionary<IAuthorizationRequirement, string>());
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true)]
    public void ExpiryOnly()
    {
        using var expiry = StreamExpiry.Start(_context, _deadline, TimeProvider.System);
    }

    [Benchmark]
    public async Task ExpiryAndRenewal()
    {
        _httpContext.Features.Set<IHttpAuthenticationFeature>(null);
        using var expiry = StreamExpiry.Start(_context, _deadline, TimeProvider.System);
        var stream = _streams.Register(_context, expiry, _caller, _authorization, _httpContext)
            ?? throw new InvalidOperationException("The stream was not made renewable.");
        await stream.EndAsync();
    }
}
