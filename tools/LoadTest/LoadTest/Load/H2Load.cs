using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using GrpcJwtAuth.LoadTest.Processes;

namespace GrpcJwtAuth.LoadTest.Load;

/// <summary>What one h2load run reported.</summary>
internal sealed record H2LoadResult(
    double ElapsedSeconds,
    long Done,
    long Succeeded,
    long Failed,
    long Errored,
    long TimedOut,
    long DataBytes,
    string StatusCodes,
    long CpuTicks,
    double WallSeconds,
    string Output);

/// <summary>
/// h2load (Debian package nghttp2-client): checked for, installed with apt-get when missing and running as root, and
/// run pinned to the load core with a gRPC-framed body and gRPC headers.
/// </summary>
internal static partial class H2Load
{
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(10);

    public static string? Find()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(directory, "h2load");
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The path of h2load, installing nghttp2-client first when it is missing (root only, unless told not to).</summary>
    public static async Task<string> EnsureAsync(bool noInstall, CancellationToken cancellationToken)
    {
        if (Find() is { } found)
        {
            Console.WriteLine($"h2load: found at {found} ({await VersionAsync(found, cancellationToken)}).");
            return found;
        }

        if (noInstall || !Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                "h2load was not found. Install it with `sudo apt-get update && sudo apt-get install -y nghttp2-client` and run again" +
                (noInstall ? " (--no-install was given)." : " (not running as root, so the tool does not install it)."));
        }

        Console.WriteLine("h2load: missing; installing nghttp2-client with apt-get (apt-get update first) ...");
        await RunAptAsync(["update", "-qq"], cancellationToken);
        await RunAptAsync(["install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "nghttp2-client"], cancellationToken);
        var installed = Find() ?? throw new InvalidOperationException("apt-get installed nghttp2-client but h2load is still not on PATH.");
        Console.WriteLine($"h2load: installed at {installed} ({await VersionAsync(installed, cancellationToken)}).");
        return installed;
    }

    /// <summary>
    /// Runs h2load for <paramref name="duration"/> against SayHello with <paramref name="authorization"/> (or none) on every
    /// request, pinned to <paramref name="core"/>; its CPU time is read from this process's reaped-children counters.
    /// </summary>
    public static async Task<H2LoadResult> RunAsync(
        string h2load,
        int core,
        Uri server,
        string bodyFile,
        string? authorization,
        int connections,
        int streams,
        TimeSpan duration,
        CancellationToken cancellationToken)
    {
        var arguments = new List<string>
        {
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-m", streams.ToString(CultureInfo.InvariantCulture),
            "-t", "1",
            "-D", Math.Max(1, (int)Math.Round(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            "-d", bodyFile,
            "-H", "content-type: application/grpc",
            "-H", "te: trailers",
        };
        if (authorization is not null)
        {
            arguments.Add("-H");
            arguments.Add("authorization: " + authorization);
        }

        arguments.Add(new Uri(server, "/greet.Greeter/SayHello").ToString());

        var startInfo = Pinning.Pinned(core, h2load, arguments);
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;

        var childTicks = ProcFs.ReapedChildrenCpuTicks();
        var wall = Stopwatch.StartNew();
        var process = ChildProcesses.Start(startInfo);
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(duration + TimeSpan.FromSeconds(60), cancellationToken);
        }
        finally
        {
            ChildProcesses.Stop(process);
        }

        wall.Stop();
        var text = (await output) + (await error);
        var cpu = ProcFs.ReapedChildrenCpuTicks() - childTicks;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"h2load exited with {process.ExitCode}:\n{text}");
        }

        return Parse(text, cpu, wall.Elapsed.TotalSeconds);
    }

    internal static H2LoadResult Parse(string output, long cpuTicks, double wallSeconds)
    {
        var finished = FinishedLine().Match(output);
        var requests = RequestsLine().Match(output);
        var traffic = TrafficLine().Match(output);
        if (!finished.Success || !requests.Success || !traffic.Success)
        {
            throw new FormatException($"Could not read h2load's summary:\n{output}");
        }

        var elapsed = double.Parse(finished.Groups["seconds"].Value, CultureInfo.InvariantCulture)
            * (finished.Groups["unit"].Value == "ms" ? 0.001 : 1);
        return new H2LoadResult(
            elapsed,
            Long(requests, "done"),
            Long(requests, "succeeded"),
            Long(requests, "failed"),
            Long(requests, "errored"),
            Long(requests, "timeout"),
            Long(traffic, "data"),
            StatusLine().Match(output) is { Success: true } status ? status.Groups["codes"].Value : "",
            cpuTicks,
            wallSeconds,
            output);
    }

    private static long Long(Match match, string group) => long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    private static async Task<string> VersionAsync(string h2load, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo(h2load, "--version") { RedirectStandardOutput = true })!;
        var version = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        return version.Trim();
    }

    private static async Task RunAptAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("apt-get") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        var process = ChildProcesses.Start(startInfo);
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(AptTimeout, cancellationToken);
        }
        finally
        {
            ChildProcesses.Stop(process);
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"apt-get {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{await output}{await error}");
        }
    }

    [GeneratedRegex(@"finished in (?<seconds>[0-9.]+)(?<unit>m?s),")]
    private static partial Regex FinishedLine();

    [GeneratedRegex(@"requests: \d+ total, \d+ started, (?<done>\d+) done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored, (?<timeout>\d+) timeout")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"status codes: (?<codes>[^\r\n]*)")]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"traffic: .*? \((?<total>\d+)\) total, .*? \((?<headers>\d+)\) headers .*?, .*? \((?<data>\d+)\) data")]
    private static partial Regex TrafficLine();
}
