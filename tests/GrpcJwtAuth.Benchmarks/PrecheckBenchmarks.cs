using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>
/// <see cref="TokenPrecheck"/> (run on every validated-token cache miss) beside what comes after it, IdentityModel's
/// <see cref="JsonWebToken"/> constructor, on the same token; and the pre-check's cost on two hostile tokens.
/// Run: dotnet run -c Release --project tests/GrpcJwtAuth.Benchmarks -- --filter '*Precheck*'
/// </summary>
[MemoryDiagnoser]
public class PrecheckBenchmarks
{
    private string _token = null!;
    private string _duplicateClaim = null!;
    private string _brokenJson = null!;

    /// <summary>
    /// "typical": a token with roles and scopes (payload under 512 bytes: stack buffers); "large": with 60 group ids
    /// (payload of about 3 KB: pooled buffers).
    /// </summary>
    [Params("typical", "large")]
    public string Token { get; set; } = "typical";

    [GlobalSetup]
    public void Setup()
    {
        var key = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "k1" };
        var claims = new Dictionary<string, object>
        {
            ["sub"] = "bench",
            ["roles"] = new[] { "user", "reader" },
            ["scope"] = "greet.read greet.write",
            ["jti"] = Guid.NewGuid().ToString(),
        };
        if (Token == "large")
        {
            claims["groups"] = Enumerable.Range(0, 60).Select(_ => Guid.NewGuid().ToString()).ToArray();
        }

        _token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://issuer.bench",
            Audience = "greeter",
            Expires = DateTime.UtcNow.AddHours(1),
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
        });

        var parts = _token.Split('.');
        var payload = Base64UrlEncoder.Decode(parts[1]);
        _duplicateClaim = $"{parts[0]}.{Base64UrlEncoder.Encode(payload[..^1] + ",\"aud\":\"other\"}")}.{parts[2]}";
        _brokenJson = $"{parts[0]}.{Base64UrlEncoder.Encode(payload[..^1] + ",,}")}.{parts[2]}";

        if (TokenPrecheck.Check(_token) != AuthFailure.None
            || TokenPrecheck.Check(_duplicateClaim) != AuthFailure.DuplicateTokenMember
            || TokenPrecheck.Check(_brokenJson) != AuthFailure.MalformedToken)
        {
            throw new InvalidOperationException("The benchmark tokens do not have the shapes they are meant to have.");
        }

        Console.WriteLine($"// {Token}: token {_token.Length} chars, payload {Encoding.UTF8.GetByteCount(payload)} bytes");
    }

    [Benchmark(Baseline = true, Description = "new JsonWebToken(token)")]
    public string JsonWebTokenConstructor() => new JsonWebToken(_token).Kid;

    [Benchmark(Description = "TokenPrecheck.Check, well-formed")]
    public int Precheck() => (int)TokenPrecheck.Check(_token);

    [Benchmark(Description = "TokenPrecheck.Check, duplicate aud (last member)")]
    public int PrecheckDuplicateClaim() => (int)TokenPrecheck.Check(_duplicateClaim);

    [Benchmark(Description = "TokenPrecheck.Check, broken JSON (reader throws)")]
    public int PrecheckBrokenJson() => (int)TokenPrecheck.Check(_brokenJson);
}
