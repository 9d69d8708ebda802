using System.Diagnostics;
using GrpcJwtAuth.LoadTest.Processes;

namespace GrpcJwtAuth.LoadTest.Servers;

/// <summary>Publishes LoadServer once, in Release, to <c>{out}/server</c>; retried when a shared file is in use.</summary>
internal static class ServerBuild
{
    private const int Attempts = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public static async Task<string> PublishAsync(string repositoryRoot, string outputDirectory, CancellationToken cancellationToken)
    {
        var project = Path.Combine(repositoryRoot, "tools", "LoadTest", "LoadServer", "LoadServer.csproj");
        var publishDirectory = Path.Combine(outputDirectory, "server");
        for (var attempt = 1; ; attempt++)
        {
            var startInfo = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = repositoryRoot,
            };
            foreach (var argument in new[] { "publish", project, "-c", "Release", "-o", publishDirectory, "--nologo", "-v", "quiet" })
            {
                startInfo.ArgumentList.Add(argument);
            }

            var process = ChildProcesses.Start(startInfo);
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);
            }
            finally
            {
                ChildProcesses.Stop(process);
            }

            if (process.ExitCode == 0)
            {
                var executable = Path.Combine(publishDirectory, "LoadServer");
                return File.Exists(executable)
                    ? executable
                    : throw new InvalidOperationException($"dotnet publish succeeded but {executable} is missing.");
            }

            var log = (await output) + (await error);
            if (attempt >= Attempts)
            {
                throw new InvalidOperationException($"dotnet publish of LoadServer failed {Attempts} times:\n{Tail(log)}");
            }

            Console.WriteLine($"dotnet publish failed (attempt {attempt}/{Attempts}), retrying in 5 s:\n{Tail(log)}");
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
        }
    }

    private static string Tail(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 20)));
    }
}
