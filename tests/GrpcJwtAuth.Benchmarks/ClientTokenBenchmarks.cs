using BenchmarkDotNet.Attributes;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Sources;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>
/// What the client pays per call for its token: the cached path of <see cref="CachingAccessTokenProvider"/> (behind
/// the shared refresh gate) next to a fixed token with no cache at all.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ClientTokenBenchmarks
{
    private StaticAccessTokenProvider _static = null!;
    private CachingAccessTokenProvider _cached = null!;

    [GlobalSetup]
    public void Setup()
    {
        var token = new AccessToken("header.payload.signature", DateTimeOffset.UtcNow + TimeSpan.FromHours(1));
        _static = new StaticAccessTokenProvider(token);
        _cached = new CachingAccessTokenProvider(new StaticAccessTokenProvider(token));
        _cached.GetTokenAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "StaticAccessTokenProvider.GetTokenAsync (no cache)")]
    public AccessToken Static() => _static.GetTokenAsync().Result;

    [Benchmark(Description = "CachingAccessTokenProvider.GetTokenAsync, cached token")]
    public AccessToken Cached() => _cached.GetTokenAsync().Result;
}
