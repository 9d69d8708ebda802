extern alias GreeterServer;

using Greeter.Client;
using Grpc.Net.Client;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using GreeterServerApp = GreeterServer::Greeter.Server.GreeterServerApp;

namespace Greeter.Sample.Tests.Infrastructure;

/// <summary>
/// The sample server as <c>run-demo.sh</c> starts it: built by <c>GreeterServerApp.Create</c> from command-line
/// arguments, with its appsettings.json, HTTPS on 127.0.0.1 port 0 and its self-signed development certificate, written
/// to a directory of this test. Clients pin that certificate with the sample's own <c>ServerTrust</c>. Logs go to
/// <see cref="Logs"/>; disposing fails the test on any Error record it did not expect.
/// </summary>
public sealed class SampleServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly DirectoryInfo _directory;
    private readonly string _captureId;
    private readonly ILoggerFactory _clientLogging;
    private readonly List<IDisposable> _clients = [];

    private SampleServer(WebApplication app, Uri address, DirectoryInfo directory, string captureId, LogCapture logs)
    {
        _app = app;
        _directory = directory;
        _captureId = captureId;
        Address = address;
        Logs = logs;
        _clientLogging = logs.CreateLoggerFactory();
    }

    public Uri Address { get; }

    /// <summary>The development certificate the server wrote out, as clients pin it.</summary>
    public string CertificatePath => Path.Combine(_directory.FullName, "greeter-dev-cert.pem");

    public LogCapture Logs { get; }

    /// <summary>
    /// Starts a server with the sample's arguments plus <paramref name="arguments"/> (configuration overrides such as
    /// <c>--GrpcJwtAuth:Rules:0:Roles:0 ops</c>).
    /// </summary>
    public static async Task<SampleServer> StartAsync(IEnumerable<string>? arguments = null, IEnumerable<string>? expectedErrors = null)
    {
        var directory = Directory.CreateTempSubdirectory("greeter-sample-tests-");
        var logs = new LogCapture(expectedErrors);
        var captureId = LogCaptureStartup.Register(logs);
        try
        {
            var app = GreeterServerApp.Create(Arguments(directory, captureId, arguments));
            await app.StartAsync().DefaultTimeout();
            var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
            return new SampleServer(app, new Uri(Assert.Single(addresses)), directory, captureId, logs);
        }
        catch
        {
            LogCaptureStartup.Unregister(captureId);
            directory.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>The arguments <c>run-demo.sh</c> passes, and what a test needs on top of them.</summary>
    public static string[] Arguments(DirectoryInfo directory, string captureId, IEnumerable<string>? arguments = null) =>
    [
        "--urls", "https://127.0.0.1:0",
        "--DevelopmentCertificate:ExportPath", Path.Combine(directory.FullName, "greeter-dev-cert.pem"),
        "--contentRoot", AppContext.BaseDirectory,
        "--hostingStartupAssemblies", typeof(LogCaptureStartup).Assembly.GetName().Name!,
        "--" + LogCaptureStartup.CaptureIdKey, captureId,
        "--Logging:Console:LogLevel:Default", "None",
        .. arguments ?? [],
    ];

    /// <summary>A channel that trusts the server's development certificate only, logging into <see cref="Logs"/>.</summary>
    public GrpcChannel CreateChannel()
    {
        var channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = ServerTrust.Pinned(CertificatePath).CreateHandler(),
            DisposeHttpClient = true,
            LoggerFactory = _clientLogging,
        });
        Own(channel);
        return channel;
    }

    /// <summary>An HTTP client for the server's other endpoints (the development issuer), with its own pinned handler.</summary>
    public HttpClient CreateHttpClient()
    {
        var http = new HttpClient(ServerTrust.Pinned(CertificatePath).CreateHandler()) { BaseAddress = Address };
        Own(http);
        return http;
    }

    /// <summary>The sample's token helper, asking this server's development issuer.</summary>
    internal DemoTokens CreateDemoTokens() => new(CreateHttpClient(), Address);

    public async ValueTask DisposeAsync()
    {
        lock (_clients)
        {
            _clients.ForEach(client => client.Dispose());
        }

        try
        {
            await _app.StopAsync().DefaultTimeout();
            await _app.DisposeAsync();
        }
        finally
        {
            _clientLogging.Dispose();
            LogCaptureStartup.Unregister(_captureId);
            _directory.Delete(recursive: true);
        }

        Logs.AssertNoUnexpectedErrors("The sample server or its clients");
    }

    private void Own(IDisposable client)
    {
        lock (_clients)
        {
            _clients.Add(client);
        }
    }
}
