using System.Collections.Concurrent;
using System.Diagnostics;

namespace GrpcJwtAuth.LoadTest.Processes;

/// <summary>
/// Every process the tool starts (servers, h2load, generators), so that they are killed when the tool exits, is
/// interrupted (Ctrl+C, SIGTERM) or fails. Servers also stop on their own when the tool's process is gone.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    public static Process Start(ProcessStartInfo startInfo)
    {
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        Running[process.Id] = process;
        return process;
    }

    /// <summary>Kills <paramref name="process"/> (and its children) if it still runs, waits for it and forgets it.</summary>
    public static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            Running.TryRemove(process.Id, out _);
        }
    }

    /// <summary>Kills every process still running; called on exit and on interruption.</summary>
    public static void KillAll()
    {
        foreach (var process in Running.Values)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }
}
