using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using GrpcJwtAuth.LoadTest.Processes;
using GrpcJwtAuth.LoadTest.Shared;
using GrpcJwtAuth.LoadTest.Tokens;

namespace GrpcJwtAuth.LoadTest.Servers;

/// <summary>What every server start shares: the published executable, the key arguments, the work directory.</summary>
internal sealed record ServerLaunch(string Executable, IReadOnlyList<string> KeyArguments, string WorkDirectory, int Core);

/// <summary>
/// One LoadServer process, pinned to its core, listening on 127.0.0.1 on a port it picked; it is killed on dispose.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly HttpClient _http;

    private ServerProcess(Process process, StreamWriter log, string mode, int port, string certificatePath, string logPath)
    {
        _process = process;
        _log = log;
        Mode = mode;
        Port = port;
        CertificatePath = certificatePath;
        LogPath = logPath;
        _http = new HttpClient(PinnedTls.CreateHandler(certificatePath))
        {
            BaseAddress = new Uri($"https://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public string Mode { get; }

    public int Port { get; }

    public int ProcessId => _process.Id;

    public string CertificatePath { get; }

    public string LogPath { get; }

    public Uri Address => _http.BaseAddress!;

    /// <summary>Starts a server in <paramref name="mode"/>; <paramref name="name"/> names its files (several may run at once).</summary>
    public static async Task<ServerProcess> StartAsync(
        ServerLaunch launch, string mode, string name, TimeSpan maxLifetime, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(launch.WorkDirectory);
        var readyFile = Path.Combine(launch.WorkDirectory, $"server-{name}.port");
        var certificate = Path.Combine(launch.WorkDirectory, $"server-{name}.cert.pem");
        var logPath = Path.Combine(launch.WorkDirectory, $"server-{name}.log");
        File.Delete(readyFile);

        var arguments = new List<string>
        {
            "--mode", mode,
            "--cert-out", certificate,
            "--ready-file", readyFile,
            "--issuer", TokenMinter.Issuer,
            "--audience", TokenMinter.Audience,
            "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            "--max-lifetime", maxLifetime.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var key in launch.KeyArguments)
        {
            arguments.Add("--key");
            arguments.Add(key);
        }

        var startInfo = Pinning.Pinned(launch.Core, launch.Executable, arguments);
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = ChildProcesses.Start(startInfo);
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (!File.Exists(readyFile))
        {
            if (process.HasExited || deadline.Elapsed > StartTimeout)
            {
                ChildProcesses.Stop(process);
                await log.DisposeAsync();
                throw new InvalidOperationException(
                    $"The {mode} server did not start within {StartTimeout.TotalSeconds} s; its log, {logPath}:\n{await File.ReadAllTextAsync(logPath, cancellationToken)}");
            }

            await Task.Delay(50, cancellationToken);
        }

        var port = int.Parse(await File.ReadAllTextAsync(readyFile, cancellationToken), CultureInfo.InvariantCulture);
        return new ServerProcess(process, log, mode, port, certificate, logPath);
    }

    public async Task<ServerStats> GetStatsAsync(CancellationToken cancellationToken) =>
        await _http.GetFromJsonAsync<ServerStats>("/stats", Json, cancellationToken)
        ?? throw new InvalidOperationException("GET /stats returned nothing.");

    /// <summary>Counters, then CPU time: the CPU reading is the one closest to the load that follows.</summary>
    public async Task<ServerSnapshot> SnapshotBeforeAsync(CancellationToken cancellationToken)
    {
        var stats = await GetStatsAsync(cancellationToken);
        return new ServerSnapshot(stats, ProcFs.CpuTicks(ProcessId));
    }

    /// <summary>CPU time, then counters: the CPU reading is the one closest to the load that preceded.</summary>
    public async Task<ServerSnapshot> SnapshotAfterAsync(CancellationToken cancellationToken)
    {
        var ticks = ProcFs.CpuTicks(ProcessId);
        return new ServerSnapshot(await GetStatsAsync(cancellationToken), ticks);
    }

    public long PeakResidentBytes() => ProcFs.PeakResidentBytes(ProcessId);

    public bool HasExited => _process.HasExited;

    public void Dispose()
    {
        ChildProcesses.Stop(_process);
        _http.Dispose();
        _log.Dispose();
    }

    private static void Append(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // The server outlived its log by a line.
            }
        }
    }
}
