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
using GrpcJwtAuth.LoadTest.Shared;
using GrpcJwtAuth.LoadTest.Tokens;

namespace GrpcJwtAuth.LoadTest.Runs;

/// <summary>
/// The side-by-side measurement: one server per workload and mode, pinned to the server core, started once and warmed
/// up until its JIT is quiet; then, for each round, for each workload, for each mode in the same order (none,
/// grpcjwtauth, grpcjwtauth-nocache, jwtbearer), that server is probed, loaded for a short warm-up, measured with the
/// load pinned to the load core and probed again. Results go to results.md and runs.json.
/// </summary>
internal sealed class LoadRunner
{
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(12);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly TimeSpan WarmupChunk = TimeSpan.FromSeconds(5);

    /// <summary>A chunk of warm-up load in which the JIT compiled at most this many methods counts as quiet.</summary>
    private const int QuietMethods = 5;

    private readonly LoadTestOptions _options;
    private readonly ToolContext _context;
    private readonly string? _h2load;
    private readonly ProbeTokens _probeTokens;
    private readonly string _repeatedRs256;
    private readonly string _repeatedEs256;
    private readonly string _bodyFile;
    private readonly Dictionary<string, string> _tokenFiles = new(StringComparer.Ordinal);
    private readonly List<string> _header = [];
    private readonly List<WarmupResult> _warmups = [];

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
        var servers = _options.Workloads.Count * _options.Modes.Count;
        var perRun = _options.WarmupSeconds + _options.DurationSeconds + 4;
        Console.WriteLine(
            $"{servers} servers ({_options.Workloads.Count} workload(s) x {_options.Modes.Count} mode(s)), each warmed up until its JIT is quiet " +
            $"({_options.JitWarmupMinSeconds}-{_options.JitWarmupMaxSeconds} s); then {total} runs: {_options.Rounds} round(s), " +
            $"{_options.WarmupSeconds} s warm-up + {_options.DurationSeconds} s each; about " +
            $"{(servers * 2 * _options.JitWarmupMinSeconds + total * perRun) / 60:F0} min or more.");

        _header.AddRange(_context.Describe());
        _header.Add(
            $"Settings: {_options.Rounds} interleaved round(s), {_options.WarmupSeconds} s warm-up + {_options.DurationSeconds} s measured per run, " +
            $"{_options.Connections} connections x {_options.Streams} streams, TLS (HTTP/2) on 127.0.0.1");
        _header.Add(
            $"Steady state: one server per workload and mode, started once and first loaded with its workload until its JIT stopped " +
            $"compiling (at most {QuietMethods} methods in a {WarmupChunk.TotalSeconds:F0} s chunk, twice in a row, after at least " +
            $"{_options.JitWarmupMinSeconds} s; at most {_options.JitWarmupMaxSeconds} s), so that every mode is measured on tier-1 code");
        _header.Add(Pinning.Problem(_options.ServerCore, _options.LoadCore) is { } problem
            ? "Pinning: " + problem
            : $"Pinning: every server on core {_options.ServerCore} (one loaded at a time), load generator on core {_options.LoadCore} (taskset)");
        if (_h2load is not null)
        {
            _header.Add($"h2load: {_h2load}");
        }

        if (_tokenFiles.ContainsKey("unique"))
        {
            _header.Add(
                $"Unique workload: {_options.EffectiveUniqueTokens:N0} pre-minted RS256 tokens, taken in turn; the generator runs with " +
                "DOTNET_TieredCompilation=0 so that its own code is optimised from the start");
        }

        var slots = new Dictionary<(string Workload, string Mode), ServerSlot>();
        try
        {
            var serverDescribed = false;
            var number = 0;
            for (var round = 1; round <= _options.Rounds; round++)
            {
                foreach (var workload in _options.Workloads)
                {
                    foreach (var mode in _options.Modes)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        if (!slots.TryGetValue((workload, mode), out var slot))
                        {
                            slot = await StartAndWarmUpAsync(workload, mode, cancellationToken);
                            slots[(workload, mode)] = slot;
                            _warmups.Add(slot.Warmup);
                        }

                        number++;
                        var (run, stats) = await MeasureAsync(slot, round, workload, mode, cancellationToken);
                        runs.Add(run);
                        if (!serverDescribed)
                        {
                            _header.Add($"Server: .NET {stats.Runtime}, {(stats.ServerGc ? "server" : "workstation")} GC, {stats.ProcessorCount} processor(s) visible");
                            serverDescribed = true;
                        }

                        Print(run, number, total);
                        await WriteAsync(runs, final: false, cancellationToken);
                    }
                }
            }
        }
        finally
        {
            foreach (var slot in slots.Values)
            {
                slot.Server.Dispose();
            }
        }

        var markdown = await WriteAsync(runs, final: true, cancellationToken);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"Written to {Path.Combine(_context.OutputDirectory, "results.md")} and runs.json.");
        return runs.Any(run => run.Errors > 0) || _warmups.Any(warmup => warmup.Errors > 0) ? 1 : 0;
    }

    private static void Print(RunResult run, int number, int total)
    {
        var cache = run.CacheHits is { } hits && run.CacheMisses is { } misses ? $"  cache {hits:N0} hit / {misses:N0} miss" : "";
        Console.WriteLine(
            $"[{number}/{total}] round {run.Round} {run.Workload,-14} {run.Mode,-20} {run.RequestsPerSecond,10:N0} req/s  " +
            $"{run.ServerCpuMicrosPerCall,7:F1} us/call  {run.AllocatedBytesPerCall,8:N0} B/call  srv {run.ServerCpuPercent,3:F0}%  " +
            $"gen {run.GeneratorCpuPercent,3:F0}%  jit +{run.JitMethods}{cache}  errors {run.Errors}");
        foreach (var detail in run.ErrorDetails)
        {
            Console.WriteLine("    " + detail);
        }
    }

    private async Task<string> WriteAsync(List<RunResult> runs, bool final, CancellationToken cancellationToken)
    {
        var header = final ? _header : [.. _header, "PARTIAL: the run is still going or was interrupted"];
        var markdown = ResultsTable.Render(runs, _warmups, _options.Modes, _options.Workloads, header);
        await File.WriteAllTextAsync(Path.Combine(_context.OutputDirectory, "results.md"), markdown, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_context.OutputDirectory, "runs.json"), JsonSerializer.Serialize(runs, Json), cancellationToken);
        return markdown;
    }

    /// <summary>
    /// Starts the server for one workload and mode and loads it with that workload, chunk by chunk, until its JIT has
    /// been quiet for two chunks in a row. A freshly started .NET server pinned to one core runs tier-0 and
    /// instrumented code for tens of seconds under load (tiering waits ten times longer on one core, and its compiler
    /// thread shares that core): a short warm-up measures the JIT, not the per-call cost.
    /// </summary>
    private async Task<ServerSlot> StartAndWarmUpAsync(string workload, string mode, CancellationToken cancellationToken)
    {
        var lifetime = TimeSpan.FromSeconds(
            _options.JitWarmupMaxSeconds + (_options.Rounds * _options.Workloads.Count * _options.Modes.Count * (_options.WarmupSeconds + _options.DurationSeconds + 30)) + 600);
        var server = await ServerProcess.StartAsync(_context.Launch, mode, $"{workload}-{mode}", lifetime, cancellationToken);
        try
        {
            var problems = new List<string>(await CorrectnessProbe.RunAsync(server, _probeTokens, TokenMinter.Subject, cancellationToken));
            var started = Stopwatch.StartNew();
            var first = await server.GetStatsAsync(cancellationToken);
            var previous = first.JitCompiledMethods;
            var quietChunks = 0;
            var chunks = new List<long>();
            long errors = problems.Count;
            while (true)
            {
                var load = await LoadAsync(server, workload, mode, TimeSpan.FromSeconds(1), WarmupChunk, between: null, cancellationToken);
                errors += load.Errors;
                problems.AddRange(load.Details.Select(detail => "JIT warm-up: " + detail));
                var stats = await server.GetStatsAsync(cancellationToken);
                var compiled = stats.JitCompiledMethods - previous;
                previous = stats.JitCompiledMethods;
                chunks.Add(compiled);
                quietChunks = compiled <= QuietMethods ? quietChunks + 1 : 0;
                var elapsed = started.Elapsed.TotalSeconds;
                if ((quietChunks >= 2 && elapsed >= _options.JitWarmupMinSeconds) || elapsed >= _options.JitWarmupMaxSeconds)
                {
                    var quiet = quietChunks >= 2;
                    Console.WriteLine(
                        $"warmed up {workload,-14} {mode,-20} in {elapsed,5:F0} s: {load.RequestsPerSecond,8:N0} req/s in the last chunk, " +
                        $"JIT methods per chunk {string.Join(" ", chunks)}{(quiet ? "" : "  (STILL COMPILING at --jit-warmup-max)")}");
                    var warmup = new WarmupResult(workload, mode, elapsed, stats.JitCompiledMethods - first.JitCompiledMethods, chunks, quiet, errors, problems);
                    return new ServerSlot(server, warmup);
                }
            }
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private async Task<(RunResult Run, ServerStats Stats)> MeasureAsync(ServerSlot slot, int round, string workload, string mode, CancellationToken cancellationToken)
    {
        var server = slot.Server;
        if (server.HasExited)
        {
            throw new InvalidOperationException($"The {workload}/{mode} server exited; its log is {server.LogPath}.");
        }

        var details = new List<string>(await CorrectnessProbe.RunAsync(server, _probeTokens, TokenMinter.Subject, cancellationToken));
        var probeFailures = details.Count;

        ServerSnapshot? before = null;
        var load = await LoadAsync(
            server, workload, mode, TimeSpan.FromSeconds(_options.WarmupSeconds), TimeSpan.FromSeconds(_options.DurationSeconds),
            async () => before = await server.SnapshotBeforeAsync(cancellationToken), cancellationToken);
        details.AddRange(load.Details);

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
            Calls = load.Calls,
            OkCalls = load.Ok,
            ElapsedSeconds = load.ElapsedSeconds,
            Errors = load.Errors + probeFailures,
            ErrorDetails = details,
            ServerCpuSeconds = ProcFs.TicksToSeconds(after.CpuTicks - before!.CpuTicks),
            AllocatedBytes = after.Stats.AllocatedBytes - before.Stats.AllocatedBytes,
            Gen0 = after.Stats.Gen0Collections - before.Stats.Gen0Collections,
            Gen1 = after.Stats.Gen1Collections - before.Stats.Gen1Collections,
            Gen2 = after.Stats.Gen2Collections - before.Stats.Gen2Collections,
            PeakResidentBytes = peak,
            GeneratorCpuPercent = load.GeneratorCpuPercent,
            JitMethods = after.Stats.JitCompiledMethods - before.Stats.JitCompiledMethods,
            CacheHits = before.Stats.TokenCacheHits >= 0 ? after.Stats.TokenCacheHits - before.Stats.TokenCacheHits : null,
            CacheMisses = before.Stats.TokenCacheMisses >= 0 ? after.Stats.TokenCacheMisses - before.Stats.TokenCacheMisses : null,
        };
        return (run, after.Stats);
    }

    /// <summary>
    /// Loads <paramref name="server"/> with <paramref name="workload"/>: <paramref name="warmup"/> of load, then
    /// <paramref name="between"/> (the caller reads the server's counters), then the measured <paramref name="duration"/>.
    /// </summary>
    private async Task<LoadResult> LoadAsync(
        ServerProcess server, string workload, string mode, TimeSpan warmup, TimeSpan duration, Func<Task>? between, CancellationToken cancellationToken)
    {
        var expectedSubject = mode == "none" ? "" : TokenMinter.Subject;
        var details = new List<string>();
        if (IsH2LoadWorkload(workload))
        {
            var authorization = "Bearer " + (workload == "repeated-es256" ? _repeatedEs256 : _repeatedRs256);
            var frame = GrpcFrame(new HelloReply { Message = "Hello load", Subject = expectedSubject }).Length;
            long errors = 0;
            if (warmup > TimeSpan.Zero)
            {
                var warm = await H2Load.RunAsync(_h2load!, _options.LoadCore, server.Address, _bodyFile, authorization, _options.Connections, _options.Streams, warmup, cancellationToken);
                errors += H2LoadErrors(warm, frame, "warm-up", details);
            }

            if (between is not null)
            {
                await between();
            }

            var measured = await H2Load.RunAsync(_h2load!, _options.LoadCore, server.Address, _bodyFile, authorization, _options.Connections, _options.Streams, duration, cancellationToken);
            errors += H2LoadErrors(measured, frame, "measured", details);
            return new LoadResult(
                measured.Done,
                Math.Min(measured.Succeeded, measured.DataBytes / frame),
                measured.ElapsedSeconds,
                measured.WallSeconds > 0 ? 100 * ProcFs.TicksToSeconds(measured.CpuTicks) / measured.WallSeconds : 0,
                errors,
                details);
        }

        // The unique workload cycles through its tokens in every mode; the table shows how often the cache answered.
        var arguments = GrpcLoadGenerator.Arguments(
            server.Address, server.CertificatePath, _tokenFiles[workload], _options.Connections, _options.Streams,
            warmup, duration, calls: null, serverAuthenticates: mode != "none", reuseTokens: true, warmup + duration + TimeSpan.FromMinutes(3));
        var (warmReport, measuredReport) = await GeneratorProcess.RunAsync(
            _options.LoadCore, arguments, warmup + duration + TimeSpan.FromMinutes(4), between ?? (() => Task.CompletedTask), cancellationToken);
        Describe(warmReport, "warm-up", details);
        Describe(measuredReport, "measured", details);
        return new LoadResult(
            measuredReport.Calls,
            measuredReport.Ok,
            measuredReport.ElapsedSeconds,
            measuredReport.CpuPercent,
            warmReport.Errors + measuredReport.Errors,
            details);
    }

    private sealed record ServerSlot(ServerProcess Server, WarmupResult Warmup);

    private sealed record LoadResult(
        long Calls, long Ok, double ElapsedSeconds, double GeneratorCpuPercent, long Errors, List<string> Details)
    {
        public double RequestsPerSecond => ElapsedSeconds > 0 ? Ok / ElapsedSeconds : 0;
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
