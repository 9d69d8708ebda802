using System.Diagnostics;

namespace GrpcJwtAuth.LoadTest.Processes;

/// <summary>Runs a program pinned to one core with <c>taskset -c N</c> (util-linux), which execs it: same pid.</summary>
internal static class Pinning
{
    public static bool Available { get; } = File.Exists("/usr/bin/taskset") || File.Exists("/bin/taskset");

    public static ProcessStartInfo Pinned(int core, string fileName, IEnumerable<string> arguments)
    {
        ProcessStartInfo startInfo;
        if (Available && core < Environment.ProcessorCount)
        {
            startInfo = new ProcessStartInfo("taskset");
            startInfo.ArgumentList.Add("-c");
            startInfo.ArgumentList.Add(core.ToString(System.Globalization.CultureInfo.InvariantCulture));
            startInfo.ArgumentList.Add(fileName);
        }
        else
        {
            startInfo = new ProcessStartInfo(fileName);
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.UseShellExecute = false;
        return startInfo;
    }

    public static string? Problem(int serverCore, int loadCore)
    {
        if (!Available)
        {
            return "taskset was not found (package util-linux): the server and the load generator are NOT pinned.";
        }

        if (Math.Max(serverCore, loadCore) >= Environment.ProcessorCount)
        {
            return $"This machine has {Environment.ProcessorCount} core(s); cores {serverCore} and {loadCore} were asked for: NOT pinned.";
        }

        return null;
    }
}
