using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Grpc.Core;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>
/// What an unauthenticated caller can make the server spend on one call, beside what a normal token costs: tokens up
/// to the default MaxTokenLength (16 KiB) built to be expensive, each through the whole authenticator (header, cache
/// lookup, pre-check, parse, issuer routing, key lookup, signature), with the cache on as in production (rejected
/// tokens are never cached, so each call pays in full).
/// Run: dotnet run -c Release --project tests/GrpcJwtAuth.Benchmarks -- --filter '*HostileToken*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HostileTokenBenchmarks
{
    private const string Issuer = "https://issuer.bench";
    private const string Audience = "greeter";
    private const int MaxTokenLength = 16 * 1024;

    private readonly Dictionary<string, DefaultHttpContext> _requests = new(StringComparer.Ordinal);
    private CallAuthorizer _authorizer = null!;
    private EndpointAuthorization _method = null!;
    private DefaultHttpContext _request = null!;

    /// <summary>
    /// valid: a normal RS256 token, validated in full (the baseline). The others are forged, close to 16 KiB:
    /// claims1000 (1,000 small claims, the real iss and kid), bigclaim (one 11,500-character claim), iss (1,000 claims,
    /// an unknown iss), kid (1,000 claims, an unknown kid), hs256 (1,000 claims, alg HS256), dup (1,000 claims, the
    /// first repeated last), deep (JSON nested 2,000 deep), segments (400 segments), bigsig (a 16 KiB signature),
    /// </summary>
    /// array (one claim holding 2,500 one-character strings), escaped (1,000 claims whose names are all \u escapes).
    [Params("valid", "claims1000", "bigclaim", "iss", "kid", "hs256", "dup", "deep", "segments", "bigsig", "array", "escaped")]
    public string Token { get; set; } = "valid";

    private string _token = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "k1" };
        var attacker = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "k1" };

        // No cache: the baseline is a full validation; rejected tokens are never cached anyway.
        var options = new GrpcJwtAuthOptions { MaxTokenLength = MaxTokenLength, TokenCacheSize = 0 };
        options.Issuers.Add(Issuer);
        options.Audiences.Add(Audience);
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "k1", Pem = rsa.ExportSubjectPublicKeyInfoPem() });
        var compiled = CompiledAuthOptions.Create(options, TimeProvider.System);
        var keys = new SigningKeyManager(compiled.Issuers[0], null, TimeProvider.System, NullLogger<SigningKeyManager>.Instance);
        _authorizer = new CallAuthorizer(
            compiled,
            new EndpointAuthorizationProvider(compiled, NullLogger<EndpointAuthorizationProvider>.Instance),
            new TokenAuthenticator(
                compiled,
                new JwtTokenValidator(new TrustedIssuers([keys], compiled.ValidateIssuer), compiled),
                new ValidatedTokenCache(compiled, TimeProvider.System)),
            NullLogger<CallAuthorizer>.Instance);

        var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var claims = ManyClaims(Issuer, exp);
        var (token, expected) = Token switch
        {
            "valid" => (Sign("""{"alg":"RS256","kid":"k1","typ":"JWT"}""", $$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","sub":"bench","exp":{{exp}},"roles":["user"],"scope":"greet"}""", key), AuthFailure.None),
            "claims1000" => (Sign("""{"alg":"RS256","kid":"k1"}""", claims, attacker), AuthFailure.InvalidSignature),
            "bigclaim" => (Sign("""{"alg":"RS256","kid":"k1"}""", $$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","exp":{{exp}},"sub":"{{new string('x', 11_500)}}"}""", attacker), AuthFailure.InvalidSignature),
            "iss" => (Sign("""{"alg":"RS256","kid":"k1"}""", ManyClaims("https://stranger.bench", exp), attacker), AuthFailure.IssuerNotAccepted),
            "kid" => (Sign("""{"alg":"RS256","kid":"zz"}""", claims, attacker), AuthFailure.SignatureKeyNotFound),
            "hs256" => (Sign("""{"alg":"RS256","kid":"k1"}""", claims, attacker).Replace(Header("""{"alg":"RS256","kid":"k1"}"""), Header("""{"alg":"HS256","kid":"k1"}"""), StringComparison.Ordinal), AuthFailure.AlgorithmNotAllowed),
            "dup" => (Sign("""{"alg":"RS256","kid":"k1"}""", claims[..^1] + ",\"c0\":1}", attacker), AuthFailure.DuplicateTokenMember),
            "deep" => (Sign("""{"alg":"RS256","kid":"k1"}""", "{\"a\":" + new string('[', 2000) + new string(']', 2000) + "}", attacker), AuthFailure.MalformedToken),
            "segments" => (string.Join('.', Enumerable.Repeat(Header("""{"alg":"RS256","kid":"k1"}"""), 400)), AuthFailure.MalformedToken),
            "array" => (Sign("""{"alg":"RS256","kid":"k1"}""", $$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","exp":{{exp}},"roles":[{{string.Join(',', Enumerable.Repeat("\"r\"", 2500))}}]}""", attacker), AuthFailure.InvalidSignature),
            "escaped" => (Sign("""{"alg":"RS256","kid":"k1"}""", EscapedClaims(exp), attacker), AuthFailure.InvalidSignature),
            _ => (Sign("""{"alg":"RS256","kid":"k1"}""", $$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","exp":{{exp}}}""", attacker, signaturePadding: 11_000), AuthFailure.InvalidSignature),
        };

        if (token.Length > MaxTokenLength)
        {
            throw new InvalidOperationException($"{Token}: {token.Length} characters, over MaxTokenLength.");
        }

        // A method with neither metadata nor a rule: an authenticated caller, nothing more.
        _method = new EndpointAuthorization(
            "/greet.Greeter/SayHello", rule: null, new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build(),
            metadataPolicy: null, rulePolicy: null, new Dictionary<IAuthorizationRequirement, string>());
        _request = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().AddAuthorization().BuildServiceProvider() };
        _request.Request.Headers.Authorization = "Bearer " + token;
        _request.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;

        _token = token;
        for (var i = 0; i < 2; i++)
        {
            var failure = _authorizer.AuthorizeAsync(_request, _method, resource: null, CancellationToken.None).AsTask().GetAwaiter().GetResult().Failure;
            if (failure != expected)
            {
                throw new InvalidOperationException($"{Token}: {failure}, expected {expected}.");
            }
        }

        Console.WriteLine($"// {Token}: {token.Length} characters, rejected as {expected}");
    }

    [Benchmark(Description = "TokenPrecheck.Check")]
    public int Precheck() => (int)TokenPrecheck.Check(_token);

    [Benchmark(Description = "new JsonWebToken (IdentityModel's parse)")]
    public int Parse()
    {
        try
        {
            return new JsonWebToken(_token).Kid.Length;
        }
        catch (ArgumentException)
        {
            return -1;
        }
    }

    [Benchmark(Description = "CallAuthenticator.AuthenticateAsync")]
    public int Authenticate() => (int)_authorizer.AuthorizeAsync(_request, _method, resource: null, CancellationToken.None).AsTask().GetAwaiter().GetResult().Failure;

    /// <summary>Close to 16 KiB of claims <c>"cN":N</c> beside iss, aud and exp.</summary>
    private static string ManyClaims(string issuer, long exp)
    {
        var payload = new StringBuilder($$"""{"iss":"{{issuer}}","aud":"{{Audience}}","exp":{{exp}}""");
        for (var i = 0; i < 1000; i++)
        {
            payload.Append(",\"c").Append(i).Append("\":").Append(i);
        }

        return payload.Append('}').ToString();
    }

    /// <summary>Claims whose names are spelled with \u escapes only (unescaped before comparison), as many as fit.</summary>
    private static string EscapedClaims(long exp)
    {
        var payload = new StringBuilder($$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","exp":{{exp}}""");
        for (var i = 0; i < 380; i++)
        {
            payload.Append(",\"");
            foreach (var c in "n" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture))
            {
                payload.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }

            payload.Append("\":1");
        }

        return payload.Append('}').ToString();
    }

    private static string Header(string json) => Base64UrlEncoder.Encode(json);

    private static string Sign(string header, string payload, SecurityKey key, int signaturePadding = 0)
    {
        var input = $"{Header(header)}.{Base64UrlEncoder.Encode(payload)}";
        var provider = key.CryptoProviderFactory.CreateForSigning(key, SecurityAlgorithms.RsaSha256);
        var signature = provider.Sign(Encoding.ASCII.GetBytes(input));
        key.CryptoProviderFactory.ReleaseSignatureProvider(provider);
        if (signaturePadding > 0)
        {
            signature = [.. signature, .. new byte[signaturePadding]];
        }

        return $"{input}.{Base64UrlEncoder.Encode(signature)}";
    }
}
