using System.Diagnostics.Metrics;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Keys;
using GrpcJwtAuth.Tests.Server;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;

namespace GrpcJwtAuth.Tests.Diagnostics;

/// <summary>
/// The server's request path as DI wires it (key manager, validator, cache, authenticator, interceptor, burst
/// reporting), on a fake clock, with its own <see cref="IMeterFactory"/> (so parallel tests never see each other's
/// measurements) and every log record in <see cref="Logs"/>. Static key <see cref="Key"/> unless the test says
/// otherwise; a remote key source when given one (not started).
/// </summary>
internal sealed class DiagnosticsHarness : IDisposable
{
    public const string Method = "/greet.Greeter/SayHello";
    public const string Peer = "ipv4:127.0.0.1:5555";

    public static readonly TestSigningKey Key = TestSigningKey.Ec("ec-1");
    public static readonly DateTimeOffset Start = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);

    private readonly ServiceProvider _meterServices = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public DiagnosticsHarness(Action<GrpcJwtAuthOptions>? configure = null, IRemoteKeySource? source = null, bool staticKey = true)
    {
        MeterFactory = _meterServices.GetRequiredService<IMeterFactory>();
        Metrics = new Metrics(MeterFactory);
        Tokens = new TestTokenFactory(Time);

        var options = new GrpcJwtAuthOptions();
        if (staticKey)
        {
            options.StaticKeys.Add(Key.ToStaticKey());
        }
        else
        {
            options.JwksUri = "https://keys.test/jwks";
        }

        options.Issuers.Add(TestTokenFactory.DefaultIssuer);
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        configure?.Invoke(options);
        Options = CompiledAuthOptions.Create(options, Time);

        Keys = new SigningKeyManager(Options.Issuers[0], source, Time, new FakeLogger<SigningKeyManager>(Logs), Metrics);
        Issuers = new TrustedIssuers([Keys], Options.ValidateIssuer);
        Metrics.ObserveKeys(Issuers.All, Time);
        Cache = new ValidatedTokenCache(Options, Time);
        Bursts = new RejectionBursts(Time, new FakeLogger<RejectionBursts>(Logs));
        var endpoints = new EndpointAuthorizationProvider(Options, NullLogger<EndpointAuthorizationProvider>.Instance);
        Authenticator = new CallAuthorizer(
            Options,
            endpoints,
            new TokenAuthenticator(Options, new JwtTokenValidator(Issuers, Options), Cache, Metrics),
            new FakeLogger<CallAuthorizer>(Logs),
            Metrics,
            Bursts);
        Interceptor = new GrpcJwtAuthInterceptor(Authenticator, endpoints, Options, Time, new FakeLogger<GrpcJwtAuthInterceptor>(Logs), Metrics);
    }

    public RefreshRecordingTimeProvider Time { get; } = new(Start);

    public FakeLogCollector Logs { get; } = new();

    public IMeterFactory MeterFactory { get; }

    public Metrics Metrics { get; }

    public TestTokenFactory Tokens { get; }

    public CompiledAuthOptions Options { get; }

    public SigningKeyManager Keys { get; }

    public TrustedIssuers Issuers { get; }

    public ValidatedTokenCache Cache { get; }

    public RejectionBursts Bursts { get; }

    public CallAuthorizer Authenticator { get; }

    public GrpcJwtAuthInterceptor Interceptor { get; }

    /// <summary>Collects one instrument of this harness's GrpcJwtAuth meter.</summary>
    public MetricCollector<T> Collect<T>(string instrumentName)
        where T : struct => new(MeterFactory, GrpcJwtAuthDefaults.MeterName, instrumentName, Time);

    /// <summary>Decides one call to <see cref="Method"/>; <paramref name="metadata"/> is endpoint metadata such as <c>[Authorize]</c>.</summary>
    public async Task<AuthFailure> AuthenticateAsync(string? authorization, params object[] metadata) =>
        (await Authenticator.AuthorizeAsync(Call(authorization, metadata), resource: null).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Failure;

    public static TestServerCallContext Call(string? authorization, params object[] metadata) => CallTo(Method, authorization, metadata);

    public static TestServerCallContext CallTo(string method, string? authorization, params object[] metadata)
    {
        return new TestServerCallContext(method, TestEndpoints.Request(method, authorization, metadata));
    }

    public void Dispose()
    {
        Keys.Dispose();
        _meterServices.Dispose();
    }
}
