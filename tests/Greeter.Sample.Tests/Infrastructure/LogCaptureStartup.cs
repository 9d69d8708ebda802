using System.Collections.Concurrent;
using Greeter.Sample.Tests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Infrastructure;

[assembly: HostingStartup(typeof(LogCaptureStartup))]

namespace Greeter.Sample.Tests.Infrastructure;

/// <summary>
/// Routes the logs of a sample server into the test's <see cref="LogCapture"/>. GreeterServerApp.Create builds the
/// app itself and logs its startup warnings before returning it, so the capture has to be in place while the host is
/// built: the server is started with <c>--hostingStartupAssemblies</c> naming this assembly, which ASP.NET Core runs
/// like any hosting startup, and <see cref="CaptureIdKey"/> names the capture to use. Console logging is switched
/// off the same way, by configuration, so that only the capture sees the server's lines.
/// </summary>
public sealed class LogCaptureStartup : IHostingStartup
{
    public const string CaptureIdKey = "SampleTests:LogCaptureId";

    private static readonly ConcurrentDictionary<string, LogCapture> Captures = new(StringComparer.Ordinal);

    public static string Register(LogCapture capture)
    {
        var id = Guid.NewGuid().ToString("N");
        Captures[id] = capture;
        return id;
    }

    public static void Unregister(string id) => Captures.TryRemove(id, out _);

    public void Configure(IWebHostBuilder builder) => builder.ConfigureLogging((context, logging) =>
    {
        if (context.Configuration[CaptureIdKey] is { } id && Captures.TryGetValue(id, out var capture))
        {
            logging.AddProvider(capture.CreateProvider());
        }
    });
}
