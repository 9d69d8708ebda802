using System.Globalization;

namespace GrpcJwtAuth.LoadServer;

/// <summary>
/// Starts the load server, writes its port to the ready file once it listens, and stops when told to, when its
/// parent (the load tool) is gone, or after <c>--max-lifetime</c>, whichever comes first.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        LoadServerOptions options;
        try
        {
            options = LoadServerOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }

        await using var app = LoadServerApp.Create(options);
        await app.StartAsync();

        var address = app.Urls.First();
        var port = new Uri(address).Port;

        // Written whole, then renamed, so the load tool never reads half a file.
        var temporary = options.ReadyFilePath + ".tmp";
        await File.WriteAllTextAsync(temporary, port.ToString(CultureInfo.InvariantCulture));
        File.Move(temporary, options.ReadyFilePath, overwrite: true);

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        using var watchdog = new CancellationTokenSource(options.MaxLifetime);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(watchdog.Token, lifetime.ApplicationStopping);
        while (!stopping.IsCancellationRequested)
        {
            if (options.ParentProcessId is { } parent && !Directory.Exists($"/proc/{parent.ToString(CultureInfo.InvariantCulture)}"))
            {
                break;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await app.StopAsync(CancellationToken.None);
        return 0;
    }
}
