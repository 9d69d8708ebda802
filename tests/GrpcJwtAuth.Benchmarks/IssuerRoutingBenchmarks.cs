using BenchmarkDotNet.Attributes;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>
/// What choosing the issuer by <c>iss</c> costs a cache miss (a cache hit never routes): one issuer (the baseline),
/// and five trusted issuers (three exact, one discovered, one multi-tenant template with 100 listed tenants) for a
/// token of the first, of the template, and of no issuer.
/// Run: dotnet run -c Release --project tests/GrpcJwtAuth.Benchmarks -- --filter '*IssuerRoutingBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class IssuerRoutingBenchmarks
{
    private TrustedIssuers _one = null!;
    private TrustedIssuers _five = null!;

    [GlobalSetup]
    public void Setup()
    {
        var single = new GrpcJwtAuthOptions { JwksUri = "https://users.bench/jwks", Issuers = { "https://users.bench" }, Audiences = { "api" } };
        _one = Build(single);

        var several = new GrpcJwtAuthOptions { Audiences = { "api" } };
        several.TrustedIssuers["users"] = new GrpcJwtAuthIssuerOptions { JwksUri = "https://users.bench/jwks", Issuers = { "https://users.bench" } };
        several.TrustedIssuers["workloads"] = new GrpcJwtAuthIssuerOptions { JwksUri = "https://spire.bench/jwks", Issuers = { "spiffe://bench" } };
        several.TrustedIssuers["partner"] = new GrpcJwtAuthIssuerOptions { JwksUri = "https://partner.bench/jwks", Issuers = { "https://partner.bench" } };
        several.TrustedIssuers["idp"] = new GrpcJwtAuthIssuerOptions { Authority = "https://idp.bench" };
        var tenants = new GrpcJwtAuthIssuerOptions
        {
            IssuerTemplate = "https://login.bench/{tenantid}/v2.0",
            JwksUri = "https://login.bench/common/keys",
        };
        for (var i = 0; i < 100; i++)
        {
            tenants.Tenants.Add($"tenant-{i:D3}");
        }

        several.TrustedIssuers["tenants"] = tenants;
        _five = Build(several);
    }

    [Benchmark(Baseline = true, Description = "one issuer, its iss")]
    public object? OneIssuer() => _one.Find("https://users.bench");

    [Benchmark(Description = "five issuers, an exact iss")]
    public object? Exact() => _five.Find("https://users.bench");

    [Benchmark(Description = "five issuers, a listed tenant of the template")]
    public object? Template() => _five.Find("https://login.bench/tenant-042/v2.0");

    [Benchmark(Description = "five issuers, an iss none accepts")]
    public object? Unknown() => _five.Find("https://nobody.bench/realms/x");

    private static TrustedIssuers Build(GrpcJwtAuthOptions options)
    {
        var compiled = CompiledAuthOptions.Create(options, TimeProvider.System);
        var managers = compiled.Issuers
            .Select(issuer => new SigningKeyManager(issuer, source: null, TimeProvider.System, NullLogger<SigningKeyManager>.Instance))
            .ToArray();
        return new TrustedIssuers(managers, compiled.ValidateIssuer);
    }
}
