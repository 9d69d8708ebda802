using System.Diagnostics;
using GrpcJwtAuth.LoadTest.Servers;
using GrpcJwtAuth.LoadTest.Tokens;

namespace GrpcJwtAuth.LoadTest;

/// <summary>What the load and soak runs share: the repository, the output folders, the keys and the published server.</summary>
internal sealed class ToolContext : IDisposable
{
    private ToolContext(string repositoryRoot, string outputDirectory, TokenMinter minter, ServerLaunch launch)
    {
        RepositoryRoot = repositoryRoot;
        OutputDirectory = outputDirectory;
        Minter = minter;
        Launch = launch;
    }

    public string RepositoryRoot { get; }

    public string OutputDirectory { get; }

    public string WorkDirectory => Launch.WorkDirectory;

    public TokenMinter Minter { get; }

    public ServerLaunch Launch { get; }

    public static async Task<ToolContext> CreateAsync(LoadTestOptions options, CancellationToken cancellationToken)
    {
        var root = FindRepositoryRoot();
        var output = Path.GetFullPath(options.OutputDirectory ?? Path.Combine(root, "artifacts", "loadtest"));
        var work = Path.Combine(output, "work");
        Directory.CreateDirectory(work);

        Console.WriteLine($"Publishing LoadServer (Release) to {Path.Combine(output, "server")} ...");
        var stopwatch = Stopwatch.StartNew();
        var executable = await ServerBuild.PublishAsync(root, output, cancellationToken);
        Console.WriteLine($"Published in {stopwatch.Elapsed.TotalSeconds:F0} s.");

        var minter = new TokenMinter();
        var keys = minter.ExportPublicKeys(Path.Combine(work, "keys"));
        return new ToolContext(root, output, minter, new ServerLaunch(executable, keys, work, options.ServerCore));
    }

    /// <summary>Header lines for the report: when, what, where.</summary>
    public IEnumerable<string> Describe()
    {
        yield return $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC; commit {Git("rev-parse --short HEAD")}{(Git("status --porcelain").Length > 0 ? " with uncommitted changes" : "")}";
        yield return $"Machine: {CpuModel()}, {Environment.ProcessorCount} cores, Linux {ReadFirstLine("/proc/sys/kernel/osrelease")}, .NET {Environment.Version}";
    }

    public void Dispose() => Minter.Dispose();

    private static string FindRepositoryRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "GrpcJwtAuth.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException("Run the load tool from inside the GrpcJwtAuth repository (GrpcJwtAuth.sln was not found).");
    }

    private string Git(string arguments)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", arguments)
            {
                WorkingDirectory = RepositoryRoot,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (git is null)
            {
                return "";
            }

            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit(10_000);
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    private static string ReadFirstLine(string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim() ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
