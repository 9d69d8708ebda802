using Grpc.Net.Client;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.IntegrationTests.Services;
using GrpcJwtAuth.Testing;
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
    private readonly List<GrpcChannel> _channels = [];

    private GrpcTestServer(WebApplication app, int port, TestCertificate certificate, LogCapture logs, bool plaintext)
    {
        _app = app;
        Certificate = certificate;
        Logs = logs;
        Address = new Uri($"{(plaintext ? "http" : "https")}://127.0.0.1:{port}");
        Entries = app.Services.GetRequiredService<HandlerEntries>();
        Requests = app.Services.GetRequiredService<RequestCounts>();

        _clientLogging = logs.CreateLoggerFactory();
        Channel = CreateChannel();
        Probe = new Probe.ProbeClient(Channel);
        Attributed = new Attributed.AttributedClient(Channel);
    }

    public Uri Address { get; }

    public TestCertificate Certificate { get; }

    public LogCapture Logs { get; }

    /// <summary>How often each handler was entered.</summary>
    public HandlerEntries Entries { get; }

    /// <summary>How often each path was requested, rejected calls included.</summary>
    public RequestCounts Requests { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Writes into <see cref="Logs"/>: for clients and client-side interceptors of this test.</summary>
    public ILoggerFactory ClientLoggerFactory => _clientLogging;

    /// <summary>A channel that trusts this server's certificate only.</summary>
    public GrpcChannel Channel { get; }

    public Probe.ProbeClient Probe { get; }

    public Attributed.AttributedClient Attributed { get; }

    /// <param name="configure">GrpcJwtAuth options for this test.</param>
    /// <param name="keyServer">The key server whose certificate the backchannel pins, if keys come from one.</param>
    /// <param name="timeProvider">Replaces the library's clock (for example a FakeTimeProvider).</param>
    /// <param name="expectedErrors">Event names of Error records this test expects.</param>
    /// <param name="plaintext">
    /// Serve plaintext HTTP/2 (h2c) on an <c>http://</c> address instead of TLS: only for showing what clients do on
    /// insecure channels.
    /// </param>
    /// <param name="probeConventions">Conventions for the Probe service's endpoints, such as <c>AllowAnonymous()</c>.</param>
    /// <param name="configureBuilder">
    /// More of the app, after <c>AddGrpc()</c> and <c>AddGrpcJwtAuth()</c>: authorization policies, handlers, controllers,
    /// other authentication schemes.
    /// </param>
    /// <param name="configureApp">
    /// The app's middleware and endpoints, after the request counter and before the Probe and Attributed services are
    /// mapped: an explicit <c>UseAuthentication()</c>/<c>UseAuthorization()</c>, <c>MapControllers()</c>, more services.
    /// </param>
    public static async Task<GrpcTestServer> StartAsync(
        Action<GrpcJwtAuthOptions> configure,
        KeyServer? keyServer = null,
        TimeProvider? timeProvider = null,
        IEnumerable<string>? expectedErrors = null,
        bool plaintext = false,
        Action<GrpcServiceEndpointConventionBuilder>? probeConventions = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null)
    {
        var certificate = TestCertificate.CreateForLocalhost();
        var logs = new LogCapture(expectedErrors);
        var builder = TestHost.CreateBuilder(
            typeof(GrpcTestServer).Assembly.GetName().Name!, logs, LogLevel.Trace, plaintext ? null : certificate, port: 0, HttpProtocols.Http2);

        if (timeProvider is not null)
        {
            // Before AddGrpcJwtAuth, which only adds TimeProvider.System when none is registered.
            builder.Services.AddSingleton(timeProvider);
        }

        builder.Services.AddSingleton<HandlerEntries>();
        builder.Services.AddSingleton<RequestCounts>();
        builder.Services.AddGrpc();
        var auth = builder.Services.AddGrpcJwtAuth(configure);
        if (keyServer is not null)
        {
            var pin = keyServer.Certificate;
            auth.Backchannel.ConfigurePrimaryHttpMessageHandler(pin.CreatePinnedHandler);
        }

        configureBuilder?.Invoke(builder);
        var app = builder.Build();
        var requests = app.Services.GetRequiredService<RequestCounts>();
        app.Use((context, next) =>
        {
            requests.Record(context.Request.Path.Value ?? string.Empty);
            return next(context);
        });
        configureApp?.Invoke(app);
        var probe = app.MapGrpcService<ProbeService>();
        probeConventions?.Invoke(probe);
        app.MapGrpcService<AttributedService>();

        var port = await TestHost.StartAsync(app);
        return new GrpcTestServer(app, port, certificate, logs, plaintext);
    }

    /// <summary>
    /// Another channel to this server, logging into <see cref="Logs"/> and trusting this server's certificate only
    /// (plain HTTP/2 for a plaintext server); <paramref name="configure"/> may change its options before it is made.
    /// Disposed with the server.
    /// </summary>
    public GrpcChannel CreateChannel(Action<GrpcChannelOptions>? configure = null)
    {
        var handler = Address.Scheme == Uri.UriSchemeHttps ? Certificate.CreatePinnedHandler() : new SocketsHttpHandler();
        try
        {
            var options = new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true, LoggerFactory = _clientLogging };
            configure?.Invoke(options);
            var channel = GrpcChannel.ForAddress(Address, options);
            lock (_channels)
            {
                _channels.Add(channel);
            }

            return channel;
        }
        catch
        {
            handler.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_channels)
        {
            _channels.ForEach(channel => channel.Dispose());
        }

        await TestHost.StopAsync(_app);
        _clientLogging.Dispose();
        Certificate.Dispose();
        Logs.AssertNoUnexpectedErrors("The gRPC server or its client");
    }
}
