using System.Diagnostics;
using System.Globalization;

namespace GrpcJwtAuth.LoadTest.Processes;

/// <summary>Reads CPU time and peak RSS of a process from <c>/proc</c>.</summary>
internal static class ProcFs
{
    private static readonly Lazy<long> ClockTicks = new(ReadClockTicks);

    public static long TicksPerSecond => ClockTicks.Value;

    /// <summary>utime + stime of <paramref name="pid"/> (all its threads), in clock ticks.</summary>
    public static long CpuTicks(int pid)
    {
        var fields = StatFields(pid.ToString(CultureInfo.InvariantCulture));
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>cutime + cstime of this process: CPU time of the children it has waited for, in clock ticks.</summary>
    public static long ReapedChildrenCpuTicks()
    {
        var fields = StatFields("self");
        return long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
    }

    /// <summary>VmHWM (peak resident set) of <paramref name="pid"/>, in bytes.</summary>
    public static long PeakResidentBytes(int pid) => StatusKilobytes(pid, "VmHWM:") * 1024;

    public static double TicksToSeconds(long ticks) => (double)ticks / TicksPerSecond;

    // The fields after "(comm)", so that a command name with spaces cannot shift them: [0] is field 3 (state),
    // so utime (field 14) is [11], stime [12], cutime [13], cstime [14].
    private static string[] StatFields(string pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    private static long StatusKilobytes(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static long ReadClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true });
            var output = getconf?.StandardOutput.ReadToEnd().Trim();
            getconf?.WaitForExit(5_000);
            return long.TryParse(output, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    }
}
