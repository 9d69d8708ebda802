using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GrpcJwtAuth.LoadTest.Processes;

namespace GrpcJwtAuth.LoadTest.Load;

/// <summary>Starts <see cref="GrpcLoadGenerator"/> as a child process pinned to the load core and speaks its stdio protocol.</summary>
internal static class GeneratorProcess
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Runs the generator: warm-up, then <paramref name="betweenPhases"/> (the caller reads the server's counters), then
    /// the measured phase. Returns the warm-up's and the measured phase's reports.
    /// </summary>
    public static async Task<(GeneratorReport Warmup, GeneratorReport Measured)> RunAsync(
        int core,
        IReadOnlyList<string> arguments,
        TimeSpan timeout,
        Func<Task> betweenPhases,
        CancellationToken cancellationToken)
    {
        var (fileName, prefix) = SelfCommand.Get();
        var startInfo = Pinning.Pinned(core, fileName, prefix.Concat(arguments));
        startInfo.RedirectStandardInput = true;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;

        // The generator is the measuring instrument, not the system under test: fully optimised code from its first
        // call, so that it does not spend the measured window tiering up its own code on its one core.
        startInfo.Environment["DOTNET_TieredCompilation"] = "0";

        var process = ChildProcesses.Start(startInfo);
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            var warmup = await ReadReportAsync(process, "warmed ", errors, bounded.Token);
            await betweenPhases();
            await process.StandardInput.WriteLineAsync("go");
            await process.StandardInput.FlushAsync(bounded.Token);
            var measured = await ReadReportAsync(process, "result ", errors, bounded.Token);
            await process.WaitForExitAsync(bounded.Token);
            return (warmup, measured);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The load generator did not finish within {timeout.TotalSeconds} s:\n{errors}");
        }
        finally
        {
            ChildProcesses.Stop(process);
        }
    }

    private static async Task<GeneratorReport> ReadReportAsync(Process process, string prefix, StringBuilder errors, CancellationToken cancellationToken)
    {
        while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return JsonSerializer.Deserialize<GeneratorReport>(line.AsSpan(prefix.Length), Json)
                    ?? throw new InvalidOperationException("The load generator sent an empty report.");
            }
        }

        await process.WaitForExitAsync(cancellationToken);
        string log;
        lock (errors)
        {
            log = errors.ToString();
        }

        throw new InvalidOperationException($"The load generator exited ({process.ExitCode}) before its '{prefix.Trim()}' report:\n{log}");
    }
}
