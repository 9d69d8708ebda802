using System.Buffers.Text;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Grpc.Core;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Benchmarks;

/// <summary>
/// The per-call pieces of GrpcJwtAuth beside IdentityModel's own <see cref="JsonWebTokenHandler"/> on the same token.
/// Run: dotnet run -c Release --project tests/GrpcJwtAuth.Benchmarks -- --filter '*AuthBenchmarks*'
/// The authenticators have their metrics and burst reporting, as in DI; "metrics listened" has a listener on every
/// instrument of its meter (as dotnet-counters or OpenTelemetry would), the others none.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class AuthBenchmarks
{
    private const string Method = "/greet.Greeter/SayHello";
    private const string Issuer = "https://issuer.bench";
    private const string Audience = "greeter";

    private readonly JsonWebTokenHandler _handler = new();
    private TokenValidationParameters _rawParameters = null!;
    private string _token = null!;
    private string _header = null!;
    private JwtTokenValidator _validator = null!;
    private ValidatedTokenCache _cache = null!;
    private SigningKeyManager _keys = null!;
    private EndpointAuthorizationProvider _endpoints = null!;
    private CallAuthorizer _cachedAuthenticator = null!;
    private CallAuthorizer _uncachedAuthenticator = null!;
    private CallAuthorizer _listenedAuthenticator = null!;
    private ServiceProvider _requestServices = null!;
    private BenchServerCallContext _policyContext = null!;
    private AuthorizationPolicy _tenantPolicy = null!;
    private System.Security.Claims.ClaimsPrincipal _principal = null!;
    private Orders _order = null!;
    private ServiceProvider _services = null!;
    private ServiceProvider _listenedServices = null!;
    private MeterListener _listener = null!;
    private long _measurements;
    private BenchServerCallContext _context = null!;
    private DefaultHttpContext _httpContext = null!;
    private AsymmetricAlgorithm _publicKey = null!;
    private byte[] _signedBytes = null!;
    private byte[] _signature = null!;

    [Params("RS256", "ES256")]
    public string Algorithm { get; set; } = "RS256";

    [GlobalSetup]
    public void Setup()
    {
        SecurityKey privateKey;
        string publicPem;
        if (Algorithm == "RS256")
        {
            var rsa = RSA.Create(2048);
            privateKey = new RsaSecurityKey(rsa) { KeyId = "k1" };
            publicPem = rsa.ExportSubjectPublicKeyInfoPem();
        }
        else
        {
            var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            privateKey = new ECDsaSecurityKey(ecdsa) { KeyId = "k1" };
            publicPem = ecdsa.ExportSubjectPublicKeyInfoPem();
        }

        _token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "bench", ["roles"] = new[] { "user" }, ["scope"] = "greet" },
            SigningCredentials = new SigningCredentials(privateKey, Algorithm),
        });
        _header = "Bearer " + _token;

        // The crypto floor: the signature check alone, with the same public key, through .NET's own API.
        if (Algorithm == "RS256")
        {
            var publicRsa = RSA.Create();
            publicRsa.ImportFromPem(publicPem);
            _publicKey = publicRsa;
        }
        else
        {
            var publicEcdsa = ECDsa.Create();
            publicEcdsa.ImportFromPem(publicPem);
            _publicKey = publicEcdsa;
        }

        var lastDot = _token.LastIndexOf('.');
        _signedBytes = Encoding.ASCII.GetBytes(_token[..lastDot]);
        _signature = Base64Url.DecodeFromChars(_token.AsSpan(lastDot + 1));
        if (!VerifySignature())
        {
            throw new InvalidOperationException("The benchmark token's signature does not verify.");
        }

        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new Metrics(_services.GetRequiredService<IMeterFactory>());
        var bursts = new RejectionBursts(TimeProvider.System, NullLogger<RejectionBursts>.Instance);

        var options = Options(cacheSize: 10_000, publicPem);
        var compiled = CompiledAuthOptions.Create(options, TimeProvider.System);
        _keys = new SigningKeyManager(compiled.Issuers[0], null, TimeProvider.System, NullLogger<SigningKeyManager>.Instance, metrics);
        _validator = new JwtTokenValidator(new TrustedIssuers([_keys], compiled.ValidateIssuer), compiled);
        _cache = new ValidatedTokenCache(compiled, TimeProvider.System);
        _endpoints = new EndpointAuthorizationProvider(compiled, NullLogger<EndpointAuthorizationProvider>.Instance);
        _cachedAuthenticator = new CallAuthorizer(
            compiled, _endpoints, new TokenAuthenticator(compiled, _validator, _cache, metrics), NullLogger<CallAuthorizer>.Instance, metrics, bursts);

        _listenedServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var listenedFactory = _listenedServices.GetRequiredService<IMeterFactory>();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, listenedFactory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => _measurements += value);
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => _measurements++);
        _listener.Start();
        var listenedMetrics = new Metrics(listenedFactory);
        _listenedAuthenticator = new CallAuthorizer(
            compiled, _endpoints, new TokenAuthenticator(compiled, _validator, new ValidatedTokenCache(compiled, TimeProvider.System), listenedMetrics),
            NullLogger<CallAuthorizer>.Instance, listenedMetrics, bursts);

        var uncached = CompiledAuthOptions.Create(Options(cacheSize: 0, publicPem), TimeProvider.System);
        var uncachedKeys = new SigningKeyManager(uncached.Issuers[0], null, TimeProvider.System, NullLogger<SigningKeyManager>.Instance);
        _uncachedAuthenticator = new CallAuthorizer(
            uncached,
            new EndpointAuthorizationProvider(uncached, NullLogger<EndpointAuthorizationProvider>.Instance),
            new TokenAuthenticator(
                uncached,
                new JwtTokenValidator(new TrustedIssuers([uncachedKeys], uncached.ValidateIssuer), uncached),
                new ValidatedTokenCache(uncached, TimeProvider.System),
                metrics),
            NullLogger<CallAuthorizer>.Instance,
            metrics,
            bursts);

        // IdentityModel on its own: its own signature check with the key, its own lifetime check.
        _rawParameters = _keys.Current.Parameters.Clone();
        _rawParameters.LifetimeValidator = null;
        _rawParameters.SignatureValidator = null;
        _rawParameters.IssuerSigningKeys = _keys.Current.Keys.Select(key => key.Key).ToArray();
        if (!_handler.ValidateTokenAsync(_token, _rawParameters).GetAwaiter().GetResult().IsValid)
        {
            throw new InvalidOperationException("The raw handler does not accept the benchmark token.");
        }

        // Request services as the host has them: ASP.NET Core's authorization, and one policy with a handler of the
        // app's own that reads the request message (resource-based), as in "a caller reads only its own orders".
        _requestServices = new ServiceCollection()
            .AddLogging()
            .AddAuthorization(options => options.AddPolicy("own-orders", policy => policy.AddRequirements(new OwnOrdersRequirement())))
            .AddSingleton<IAuthorizationHandler, OwnOrdersHandler>()
            .BuildServiceProvider();
        _tenantPolicy = _requestServices.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync("own-orders").GetAwaiter().GetResult()!;
        _order = new Orders("bench");

        _httpContext = new DefaultHttpContext { RequestServices = _requestServices };
        _httpContext.Request.Headers.Authorization = _header;
        _httpContext.SetEndpoint(GrpcMethodEndpoint(Method));
        _context = new BenchServerCallContext(Method, _httpContext);

        var policyHttpContext = new DefaultHttpContext { RequestServices = _requestServices };
        policyHttpContext.Request.Headers.Authorization = _header;
        policyHttpContext.SetEndpoint(GrpcMethodEndpoint(Method, new Microsoft.AspNetCore.Authorization.AuthorizeAttribute("own-orders")));
        _policyContext = new BenchServerCallContext(Method, policyHttpContext);

        // Warm: the requirements of the method and the cache entry for the token.
        if (!Allowed(_cachedAuthenticator, _context, null) || !Allowed(_cachedAuthenticator, _context, null)
            || !Allowed(_uncachedAuthenticator, _context, null) || !Allowed(_listenedAuthenticator, _context, null)
            || !Allowed(_listenedAuthenticator, _context, null) || !Allowed(_cachedAuthenticator, _policyContext, _order)
            || Allowed(_cachedAuthenticator, _policyContext, new Orders("someone-else")))
        {
            throw new InvalidOperationException("The benchmark token does not validate, or the policy does not decide.");
        }

        _principal = _policyContext.HttpContext.User;

        if (_measurements == 0)
        {
            throw new InvalidOperationException("The listener saw no measurement.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener.Dispose();
        _requestServices.Dispose();
        _publicKey.Dispose();
        _listenedServices.Dispose();
        _services.Dispose();
    }

    [Benchmark(Baseline = true, Description = "JsonWebTokenHandler.ValidateTokenAsync (raw)")]
    public async Task<bool> RawHandlerValidate() => (await _handler.ValidateTokenAsync(_token, _rawParameters)).IsValid;

    [Benchmark(Description = "RSA/ECDsa.VerifyData: the signature check alone")]
    public bool VerifySignature() => _publicKey is RSA rsa
        ? rsa.VerifyData(_signedBytes, _signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
        : ((ECDsa)_publicKey).VerifyData(_signedBytes, _signature, HashAlgorithmName.SHA256);

    [Benchmark(Description = "JwtTokenValidator.ValidateAsync (no cache)")]
    public async Task<bool> Validate() => (await _validator.ValidateAsync(_token, CancellationToken.None)).Failure == AuthFailure.None;

    [Benchmark(Description = "CallAuthorizer, cache miss (cache off)")]
    public async Task<bool> AuthenticateMiss() => (await _uncachedAuthenticator.AuthorizeAsync(_context, null)).IsAllowed;

    [Benchmark(Description = "CallAuthorizer, cache hit")]
    public bool AuthenticateHit() => _cachedAuthenticator.AuthorizeAsync(_context, null).Result.IsAllowed;

    [Benchmark(Description = "CallAuthorizer, cache hit, metrics listened")]
    public bool AuthenticateHitListened() => _listenedAuthenticator.AuthorizeAsync(_context, null).Result.IsAllowed;

    [Benchmark(Description = "CallAuthorizer, cache hit, [Authorize(policy)] with an app handler on the message")]
    public bool AuthenticateHitPolicy() => _cachedAuthenticator.AuthorizeAsync(_policyContext, _order).Result.IsAllowed;

    [Benchmark(Description = "IAuthorizationService.AuthorizeAsync alone, same policy and message")]
    public bool AuthorizationServiceAlone() =>
        _requestServices.GetRequiredService<IAuthorizationService>().AuthorizeAsync(_principal, _order, _tenantPolicy).Result.Succeeded;

    [Benchmark(Description = "ValidatedTokenCache.TryGet (hit)")]
    public bool CacheHit() => _cache.TryGet(_header.AsSpan(7), out _);

    [Benchmark(Description = "BearerHeaderParser.TryGetToken")]
    public bool ParseHeader() => BearerHeaderParser.TryGetToken(new StringValues(_header), 16384, out _, out _, out _) == AuthFailure.None;

    [Benchmark(Description = "EndpointAuthorizationProvider.GetAsync")]
    public bool PolicyLookup() => _endpoints.GetAsync(_httpContext).Result.IsAnonymous;

    private static GrpcJwtAuthOptions Options(int cacheSize, string publicPem)
    {
        var options = new GrpcJwtAuthOptions { TokenCacheSize = cacheSize };
        options.Issuers.Add(Issuer);
        options.Audiences.Add(Audience);
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "k1", Pem = publicPem });
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/SayHelloAdmin", Roles = { "admin" } });
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/grpc.health.v1.Health/", AllowAnonymous = true });
        return options;
    }

    /// <summary>The endpoint grpc-dotnet maps for a method: its declared name in <see cref="Grpc.AspNetCore.Server.GrpcMethodMetadata"/>.</summary>
    private static Endpoint GrpcMethodEndpoint(string path, params object[] metadata)
    {
        var bytes = Marshallers.Create(static (byte[] value) => value, static value => value);
        var separator = path.LastIndexOf('/');
        var method = new Method<byte[], byte[]>(MethodType.Unary, path[1..separator], path[(separator + 1)..], bytes, bytes);
        return new Endpoint(
            null, new EndpointMetadataCollection([new Grpc.AspNetCore.Server.GrpcMethodMetadata(typeof(AuthBenchmarks), method), .. metadata]), path);
    }

    private static bool Allowed(CallAuthorizer authorizer, ServerCallContext context, object? message) =>
        authorizer.AuthorizeAsync(context, message).AsTask().GetAwaiter().GetResult().IsAllowed;

    /// <summary>A request message naming whose orders it reads.</summary>
    private sealed record Orders(string Owner);

    private sealed class OwnOrdersRequirement : IAuthorizationRequirement;

    private sealed class OwnOrdersHandler : AuthorizationHandler<OwnOrdersRequirement, Orders>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OwnOrdersRequirement requirement, Orders resource)
        {
            if (context.User.FindFirst("sub")?.Value == resource.Owner)
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }
}
