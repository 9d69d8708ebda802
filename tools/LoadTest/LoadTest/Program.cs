using System.Runtime.InteropServices;
using GrpcJwtAuth.LoadTest.Load;
using GrpcJwtAuth.LoadTest.Processes;
using GrpcJwtAuth.LoadTest.Runs;

namespace GrpcJwtAuth.LoadTest;

/// <summary>
/// <c>dotnet run -c Release --project tools/LoadTest/LoadTest -- [options]</c>: the side-by-side table, or the soak with
/// <c>--soak</c>. <c>LoadTest generate …</c> is the load generator the tool starts as its own child process.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == GrpcLoadGenerator.Command)
        {
            return await GrpcLoadGenerator.MainAsync(args);
        }

        LoadTestOptions options;
        try
        {
            options = LoadTestOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            await Console.Error.WriteLineAsync(LoadTestOptions.Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(LoadTestOptions.Usage);
            return 0;
        }

        if (!OperatingSystem.IsLinux())
        {
            await Console.Error.WriteLineAsync("The load tool reads /proc and pins with taskset: it runs on Linux only.");
            return 2;
        }

        using var interrupted = new CancellationTokenSource();
        void Interrupt()
        {
            interrupted.Cancel();
            ChildProcesses.KillAll();
        }

        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            Interrupt();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            Interrupt();
        });
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcesses.KillAll();

        try
        {
            return options.Soak
                ? await SoakRunner.RunAsync(options, interrupted.Token)
                : await LoadRunner.RunAsync(options, interrupted.Token);
        }
        catch (Exception) when (interrupted.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("Interrupted: every server and load process was stopped; partial results are in results.md.");
            return 130;
        }
        finally
        {
            ChildProcesses.KillAll();
        }
    }
}
