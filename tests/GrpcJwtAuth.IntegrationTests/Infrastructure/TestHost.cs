using System.Net;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>What the in-process servers share: a slim host on 127.0.0.1 over TLS, logging only into a capture.</summary>
internal static class TestHost
{
    /// <param name="name">The application name.</param>
    /// <param name="logs">Where every log record goes.</param>
    /// <param name="minimumLevel">The lowest level logged.</param>
    /// <param name="certificate">The TLS certificate; <see langword="null"/> only for the plaintext (h2c) server of the insecure-channel tests.</param>
    /// <param name="port">The port; 0 lets the OS choose.</param>
    /// <param name="protocols">The HTTP versions served.</param>
    /// <param name="configureHttps">More TLS settings after the certificate, such as asking for client certificates.</param>
    public static WebApplicationBuilder CreateBuilder(
        string name,
        LogCapture logs,
        LogLevel minimumLevel,
        TestCertificate? certificate,
        int port,
        HttpProtocols protocols,
        Action<HttpsConnectionAdapterOptions>? configureHttps = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = name,
            EnvironmentName = Environments.Development,
            ContentRootPath = AppContext.BaseDirectory,
        });

        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(minimumLevel);
        builder.Logging.AddProvider(logs.CreateProvider());

        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TestTimeout.Default);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = protocols;
            if (certificate is not null)
            {
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = certificate.Certificate;
                    configureHttps?.Invoke(https);
                });
            }
        }));

        return builder;
    }

    /// <summary>Starts the app and returns the port the OS gave it (read after start, never guessed).</summary>
    public static async Task<int> StartAsync(WebApplication app)
    {
        await app.StartAsync().DefaultTimeout();
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new Uri(Assert.Single(addresses)).Port;
    }

    public static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync().DefaultTimeout();
        await app.DisposeAsync();
    }
}
