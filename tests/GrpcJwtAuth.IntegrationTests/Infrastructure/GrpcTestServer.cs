using Grpc.Net.Client;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.IntegrationTests.Services;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// A gRPC server under test: Kestrel on 127.0.0.1, port 0, HTTPS with HTTP/2 only, the Probe and Attributed services,
/// and GrpcJwtAuth configured by the test. Each test starts its own. Logs (server and client, from Trace up) go to
/// <see cref="Logs"/>; disposing fails the test on any Error record it did not expect.
/// </summary>
public sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILoggerFactory _clientLogging;

    private GrpcTestServer(WebApplication app, int port, TestCertificate certificate, LogCapture logs)
    {
        _app = app;
        Certificate = certificate;
        Logs = logs;
        Address = new Uri($"https://127.0.0.1:{port}");
        Entries = app.Services.GetRequiredService<HandlerEntries>();

        _clientLogging = logs.CreateLoggerFactory();
        Channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = certificate.CreatePinnedHandler(),
            DisposeHttpClient = true,
            LoggerFactory = _clientLogging,
        });
        Probe = new Probe.ProbeClient(Channel);
        Attributed = new Attributed.AttributedClient(Channel);
    }

    public Uri Address { get; }

    public TestCertificate Certificate { get; }

    public LogCapture Logs { get; }

    /// <summary>How often each handler was entered.</summary>
    public HandlerEntries Entries { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>A channel that trusts this server's certificate only.</summary>
    public GrpcChannel Channel { get; }

    public Probe.ProbeClient Probe { get; }

    public Attributed.AttributedClient Attributed { get; }

    /// <param name="configure">GrpcJwtAuth options for this test.</param>
    /// <param name="keyServer">The key server whose certificate the backchannel pins, if keys come from one.</param>
    /// <param name="timeProvider">Replaces the library's clock (for example a FakeTimeProvider).</param>
    /// <param name="expectedErrors">Event names of Error records this test expects.</param>
    public static async Task<GrpcTestServer> StartAsync(
        Action<GrpcJwtAuthOptions> configure,
        KeyServer? keyServer = null,
        TimeProvider? timeProvider = null,
        IEnumerable<string>? expectedErrors = null)
    {
        var certificate = TestCertificate.CreateForLocalhost();
        var logs = new LogCapture(expectedErrors);
        var builder = TestHost.CreateBuilder(
            typeof(GrpcTestServer).Assembly.GetName().Name!, logs, LogLevel.Trace, certificate, port: 0, HttpProtocols.Http2);

        if (timeProvider is not null)
        {
            // Before AddGrpcJwtAuth, which only adds TimeProvider.System when none is registered.
            builder.Services.AddSingleton(timeProvider);
        }

        builder.Services.AddSingleton<HandlerEntries>();
        builder.Services.AddGrpc();
        var auth = builder.Services.AddGrpcJwtAuth(configure);
        if (keyServer is not null)
        {
            var pin = keyServer.Certificate;
            auth.Backchannel.ConfigurePrimaryHttpMessageHandler(pin.CreatePinnedHandler);
        }

        var app = builder.Build();
        app.MapGrpcService<ProbeService>();
        app.MapGrpcService<AttributedService>();

        var port = await TestHost.StartAsync(app);
        return new GrpcTestServer(app, port, certificate, logs);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await TestHost.StopAsync(_app);
        _clientLogging.Dispose();
        Certificate.Dispose();
        Logs.AssertNoUnexpectedErrors("The gRPC server or its client");
    }
}
