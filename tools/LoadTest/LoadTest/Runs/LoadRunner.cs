using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Greeter;
using GrpcJwtAuth.LoadTest.Load;
using GrpcJwtAuth.LoadTest.Probes;
using GrpcJwtAuth.LoadTest.Processes;
using GrpcJwtAuth.LoadTest.Reporting;
using GrpcJwtAuth.LoadTest.Servers;
using GrpcJwtAuth.LoadTest.Tokens;

namespace GrpcJwtAuth.LoadTest.Runs;

/// <summary>
/// The side-by-side measurement: for each round, for each workload, for each mode in the same order (none,
/// grpcjwtauth, grpcjwtauth-nocache, jwtbearer), a fresh server pinned to the server core, probed, warmed up, measured
/// with the load pinned to the load core, probed again and stopped. Results go to results.md and runs.json.
/// </summary>
internal sealed class LoadRunner
{
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(12);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly LoadTestOptions _options;
    private readonly ToolContext _context;
    private readonly string? _h2load;
    private readonly ProbeTokens _probeTokens;
    private readonly string _repeatedRs256;
    private readonly string _repeatedEs256;
    private readonly string _bodyFile;
    private readonly Dictionary<string, string> _tokenFiles = new(StringComparer.Ordinal);
    private readonly List<string> _header = [];

    private LoadRunner(LoadTestOptions options, ToolContext context, string? h2load)
    {
        _options = options;
        _context = context;
        _h2load = h2load;
        var minter = context.Minter;
        _probeTokens = new ProbeTokens(
            minter.Valid(TokenAlgorithm.Rs256, "probe-rs256", TokenLifetime),
            minter.Valid(TokenAlgorithm.Es256, "probe-es256", TokenLifetime),
            minter.ForgedSignature("probe-forged", TokenLifetime));
        _repeatedRs256 = minter.Valid(TokenAlgorithm.Rs256, "repeated-rs256", TokenLifetime);
        _repeatedEs256 = minter.Valid(TokenAlgorithm.Es256, "repeated-es256", TokenLifetime);
        _bodyFile = Path.Combine(context.WorkDirectory, "hello-request.grpc");
        File.WriteAllBytes(_bodyFile, GrpcFrame(new HelloRequest { Name = "load" }));
    }

    public static async Task<int> RunAsync(LoadTestOptions options, CancellationToken cancellationToken)
    {
        var usesH2Load = options.Workloads.Any(IsH2LoadWorkload);
        var h2load = usesH2Load ? await H2Load.EnsureAsync(options.NoInstall, cancellationToken) : null;
        if (Pinning.Problem(options.ServerCore, options.LoadCore) is { } problem)
        {
            Console.WriteLine("WARNING: " + problem);
        }

        using var context = await ToolContext.CreateAsync(options, cancellationToken);
        var runner = new LoadRunner(options, context, h2load);
        await runner.PrepareTokensAsync(cancellationToken);
        return await runner.RunAllAsync(cancellationToken);
    }

    private static bool IsH2LoadWorkload(string workload) => workload is "repeated" or "repeated-es256";

    private async Task PrepareTokensAsync(CancellationToken cancellationToken)
    {
        if (_options.Workloads.Contains("unique"))
        {
            var count = _options.EffectiveUniqueTokens;
            Console.WriteLine($"Minting {count:N0} unique RS256 tokens for the unique workload on {Environment.ProcessorCount} cores ...");
            var stopwatch = Stopwatch.StartNew();
            var tokens = await Task.Run(() => _context.Minter.ManyValid(count, "unique-", TokenLifetime), cancellationToken);
            var path = Path.Combine(_context.WorkDirectory, "tokens-unique.txt");
            TokenFile.Write(path, tokens.Select(token => TokenFile.Bearer(token, expectOk: true)));
            _tokenFiles["unique"] = path;
            Console.WriteLine($"Minted in {stopwatch.Elapsed.TotalSeconds:F1} s.");
        }

        if (_options.Workloads.Contains("repeated-grpc"))
        {
            var path = Path.Combine(_context.WorkDirectory, "tokens-repeated.txt");
            TokenFile.Write(path, [TokenFile.Bearer(_repeatedRs256, expectOk: true)]);
            _tokenFiles["repeated-grpc"] = path;
        }
    }

    private async Task<int> RunAllAsync(CancellationToken cancellationToken)
    {
        var runs = new List<RunResult>();
        var total = _options.Rounds * _options.Workloads.Count * _options.Modes.Count;
        var estimate = TimeSpan.FromSeconds(total * (_options.WarmupSeconds + _options.DurationSeconds + 4));
        Console.WriteLine(
            $"{total} runs: {_options.Rounds} round(s) x {_options.Workloads.Count} workload(s) x {_options.Modes.Count} mode(s), " +
            $"{_options.WarmupSeconds} s warm-up + {_options.DurationSeconds} s each; about {estimate.TotalMinutes:F0} min.");

        _header.AddRange(_context.Describe());
        _header.Add(
            $"Settings: {_options.Rounds} interleaved round(s), {_options.WarmupSeconds} s warm-up + {_options.DurationSeconds} s measured per run, " +
            $"{_options.Connections} connections x {_options.Streams} streams, TLS (HTTP/2) on 127.0.0.1, a fresh server per run");
        _header.Add(Pinning.Problem(_options.ServerCore, _options.LoadCore) is { } problem
            ? "Pinning: " + problem
            : $"Pinning: server on core {_options.ServerCore}, load generator on core {_options.LoadCore} (taskset)");
        if (_h2load is not null)
        {
            _header.Add($"h2load: {_h2load}");
        }

        if (_tokenFiles.ContainsKey("unique"))
        {
            _header.Add($"Unique workload: {_options.EffectiveUniqueTokens:N0} pre-minted RS256 tokens, each used once per run in grpcjwtauth mode");
        }

        var serverDescribed = false;
        var number = 0;
        for (var round = 1; round <= _options.Rounds; round++)
        {
            foreach (var workload in _options.Workloads)
            {
                foreach (var mode in _options.Modes)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    number++;
                    var (run, stats) = await RunOnceAsync(round, workload, mode, cancellationToken);
                    runs.Add(run);
                    if (!serverDescribed)
                    {
                        _header.Add($"Server: .NET {stats.Runtime}, {(stats.ServerGc ? "server" : "workstation")} GC, {stats.ProcessorCount} processor(s) visible");
                        serverDescribed = true;
                    }

                    Console.WriteLine(
                        $"[{number}/{total}] round {round} {workload,-14} {mode,-20} {run.RequestsPerSecond,10:N0} req/s  " +
                        $"{run.ServerCpuMicrosPerCall,7:F1} us/call  {run.AllocatedBytesPerCall,8:N0} B/call  srv {run.ServerCpuPercent,3:F0}%  " +
                        $"gen {run.GeneratorCpuPercent,3:F0}%  errors {run.Errors}{(run.TokensExhausted ? "  (tokens used up)" : "")}");
                    foreach (var detail in run.ErrorDetails)
                    {
                        Console.WriteLine("    " + detail);
                    }

                    await WriteAsync(runs, final: false, cancellationToken);
                }
            }
        }

        var markdown = await WriteAsync(runs, final: true, cancellationToken);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"Written to {Path.Combine(_context.OutputDirectory, "results.md")} and runs.json.");
        return runs.Any(run => run.Errors > 0) ? 1 : 0;
    }

    private async Task<string> WriteAsync(List<RunResult> runs, bool final, CancellationToken cancellationToken)
    {
        var header = final ? _header : [.. _header, "PARTIAL: the run is still going or was interrupted"];
        var markdown = ResultsTable.Render(runs, _options.Modes, _options.Workloads, header);
        await File.WriteAllTextAsync(Path.Combine(_context.OutputDirectory, "results.md"), markdown, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_context.OutputDirectory, "runs.json"), JsonSerializer.Serialize(runs, Json), cancellationToken);
        return markdown;
    }

    private async Task<(RunResult Run, ServerStats Stats)> RunOnceAsync(int round, string workload, string mode, CancellationToken cancellationToken)
    {
        var warmup = TimeSpan.FromSeconds(_options.WarmupSeconds);
        var duration = TimeSpan.FromSeconds(_options.DurationSeconds);
        var maxLifetime = warmup + duration + TimeSpan.FromMinutes(5);
        using var server = await ServerProcess.StartAsync(_context.Launch, mode, maxLifetime, cancellationToken);

        var expectedSubject = mode == "none" ? "" : TokenMinter.Subject;
        var details = new List<string>(await CorrectnessProbe.RunAsync(server, _probeTokens, TokenMinter.Subject, cancellationToken));
        var probeFailures = details.Count;

        ServerSnapshot? before = null;
        long calls, ok, loadErrors;
        double elapsed, generatorCpu;
        var exhausted = false;

        if (IsH2LoadWorkload(workload))
        {
            var authorization = "Bearer " + (workload == "repeated-es256" ? _repeatedEs256 : _repeatedRs256);
            var frame = GrpcFrame(new HelloReply { Message = "Hello load", Subject = expectedSubject }).Length;
            loadErrors = 0;
            if (warmup > TimeSpan.Zero)
            {
                var warm = await H2Load.RunAsync(_h2load!, _options.LoadCore, server.Address, _bodyFile, authorization, _options.Connections, _options.Streams, warmup, cancellationToken);
                loadErrors += H2LoadErrors(warm, frame, "warm-up", details);
            }

            before = await server.SnapshotBeforeAsync(cancellationToken);
            var measured = await H2Load.RunAsync(_h2load!, _options.LoadCore, server.Address, _bodyFile, authorization, _options.Connections, _options.Streams, duration, cancellationToken);
            loadErrors += H2LoadErrors(measured, frame, "measured", details);
            calls = measured.Done;
            ok = Math.Min(measured.Succeeded, measured.DataBytes / frame);
            elapsed = measured.ElapsedSeconds;
            generatorCpu = measured.WallSeconds > 0 ? 100 * ProcFs.TicksToSeconds(measured.CpuTicks) / measured.WallSeconds : 0;
        }
        else
        {
            // Tokens may come round again only where the server keeps no validated tokens.
            var reuse = workload != "unique" || mode != "grpcjwtauth";
            var arguments = GrpcLoadGenerator.Arguments(
                server.Address, server.CertificatePath, _tokenFiles[workload], _options.Connections, _options.Streams,
                warmup, duration, calls: null, serverAuthenticates: mode != "none", reuse, warmup + duration + TimeSpan.FromMinutes(3));
            var (warm, measured) = await GeneratorProcess.RunAsync(
                _options.LoadCore,
                arguments,
                warmup + duration + TimeSpan.FromMinutes(4),
                async () => before = await server.SnapshotBeforeAsync(cancellationToken),
                cancellationToken);
            loadErrors = warm.Errors + measured.Errors;
            Describe(warm, "warm-up", details);
            Describe(measured, "measured", details);
            calls = measured.Calls;
            ok = measured.Ok;
            elapsed = measured.ElapsedSeconds;
            generatorCpu = measured.CpuPercent;
            exhausted = measured.TokensExhausted;
        }

        var after = await server.SnapshotAfterAsync(cancellationToken);
        var peak = server.PeakResidentBytes();
        var afterProbe = await CorrectnessProbe.RunAsync(server, _probeTokens, TokenMinter.Subject, cancellationToken);
        details.AddRange(afterProbe);
        probeFailures += afterProbe.Count;

        var run = new RunResult
        {
            Round = round,
            Workload = workload,
            Mode = mode,
            Calls = calls,
            OkCalls = ok,
            ElapsedSeconds = elapsed,
            Errors = loadErrors + probeFailures,
            ErrorDetails = details,
            ServerCpuSeconds = ProcFs.TicksToSeconds(after.CpuTicks - before!.CpuTicks),
            AllocatedBytes = after.Stats.AllocatedBytes - before.Stats.AllocatedBytes,
            Gen0 = after.Stats.Gen0Collections - before.Stats.Gen0Collections,
            Gen1 = after.Stats.Gen1Collections - before.Stats.Gen1Collections,
            Gen2 = after.Stats.Gen2Collections - before.Stats.Gen2Collections,
            PeakResidentBytes = peak,
            GeneratorCpuPercent = generatorCpu,
            TokensExhausted = exhausted,
        };
        return (run, after.Stats);
    }

    /// <summary>
    /// h2load's failures, plus answers it counted as successes that carried no reply: gRPC puts errors in trailers
    /// behind HTTP 200, so every OK call must have brought one reply frame of the expected size.
    /// </summary>
    private static long H2LoadErrors(H2LoadResult result, int frame, string phase, List<string> details)
    {
        var withoutReply = Math.Max(0, result.Succeeded - (result.DataBytes / frame));
        if (result.Failed > 0)
        {
            details.Add($"{phase}: h2load counted {result.Failed} failed ({result.Errored} errored, {result.TimedOut} timed out) of {result.Done} done; status codes: {result.StatusCodes}");
        }

        if (withoutReply > 0)
        {
            details.Add($"{phase}: {withoutReply} HTTP-successful answers carried no reply (a gRPC error in trailers)");
        }

        return result.Failed + withoutReply;
    }

    private static void Describe(GeneratorReport report, string phase, List<string> details)
    {
        if (report.ValidRejected > 0)
        {
            details.Add($"{phase}: {report.ValidRejected} valid tokens rejected");
        }

        if (report.InvalidAccepted > 0)
        {
            details.Add($"{phase}: {report.InvalidAccepted} invalid tokens accepted");
        }

        if (report.WrongSubject > 0)
        {
            details.Add($"{phase}: {report.WrongSubject} replies for the wrong subject");
        }

        foreach (var (status, count) in report.Unexpected)
        {
            details.Add($"{phase}: {count} calls ended with {status}");
        }
    }

    /// <summary>A gRPC message frame: a zero compression flag, the big-endian length, the message.</summary>
    private static byte[] GrpcFrame(IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }
}
