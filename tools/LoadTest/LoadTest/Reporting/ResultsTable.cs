using System.Globalization;
using System.Text;

namespace GrpcJwtAuth.LoadTest.Reporting;

/// <summary>The results as Markdown: one table per workload (medians over rounds), then every run.</summary>
internal static class ResultsTable
{
    public static readonly IReadOnlyDictionary<string, string> WorkloadDescriptions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["repeated"] = "h2load, the same valid RS256 token on every call",
        ["repeated-es256"] = "h2load, the same valid ES256 token on every call",
        ["unique"] = "the tool's Grpc.Net.Client generator, a different valid RS256 token on every call",
        ["repeated-grpc"] = "the tool's Grpc.Net.Client generator, the same valid RS256 token on every call",
    };

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Render(
        IReadOnlyList<RunResult> runs, IReadOnlyList<WarmupResult> warmups, IReadOnlyList<string> modes, IReadOnlyList<string> workloads,
        IEnumerable<string> header)
    {
        var markdown = new StringBuilder();
        markdown.AppendLine("# GrpcJwtAuth side-by-side load test").AppendLine();
        foreach (var line in header)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        }

        markdown.AppendLine();
        foreach (var workload in workloads)
        {
            var ofWorkload = runs.Where(run => run.Workload == workload).ToList();
            if (ofWorkload.Count == 0)
            {
                continue;
            }

            markdown.AppendLine(CultureInfo.InvariantCulture, $"## `{workload}`: {WorkloadDescriptions[workload]}").AppendLine();
            markdown.AppendLine(Table(ofWorkload, modes)).AppendLine();
            foreach (var note in Notes(ofWorkload, workload))
            {
                markdown.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }

            markdown.AppendLine();
        }

        markdown.AppendLine("""
            Medians over rounds unless marked. **ratio** is the mode's median req/s over `none`'s; the notes under each table
            give it round by round too (each mode over `none` in the same round). **CPU µs/call** is the
            server's utime+stime (from `/proc/<pid>/stat`) over the measured window divided by the calls answered in it;
            **B/call** is `GC.GetTotalAllocatedBytes` over the same window per call; in brackets, the difference to `none`.
            **GC** is gen0/gen1/gen2 collections in the window. **RSS** is the server's VmHWM. **srv %** is the server's
            CPU time over wall time (100 = its core is saturated); **gen %** is the load generator's (below 100 = it had
            headroom). **errors** counts non-OK answers in warm-up and measurement plus failed correctness probes, summed
            over rounds. **cache hit %** is the share of GrpcJwtAuth's validated-token cache lookups that hit, over the measured
            windows. **JIT** is the number of methods the server's JIT compiled during the measured windows, summed over
            rounds: 0 means the measured code was the steady-state code.
            """).AppendLine();

        if (warmups.Count > 0)
        {
            markdown.AppendLine("## Warm-up until the JIT was quiet").AppendLine();
            markdown.AppendLine("| workload | mode | seconds | JIT methods | methods per 5 s chunk | quiet | errors |");
            markdown.AppendLine("|---|---|---:|---:|---|---|---:|");
            foreach (var warmup in warmups)
            {
                markdown.AppendLine(CultureInfo.InvariantCulture,
                    $"| {warmup.Workload} | {warmup.Mode} | {warmup.Seconds.ToString("F0", Invariant)} | {warmup.JitMethods.ToString("N0", Invariant)} | " +
                    $"{string.Join(" ", warmup.MethodsPerChunk)} | {(warmup.Quiet ? "yes" : "**no**")} | {warmup.Errors} |");
            }

            markdown.AppendLine();
        }

        markdown.AppendLine("## Every run").AppendLine();
        markdown.AppendLine("| round | workload | mode | calls | req/s | CPU µs/call | B/call | GC 0/1/2 | RSS MB | srv % | gen % | cache hits | JIT | errors |");
        markdown.AppendLine("|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var run in runs)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {run.Round} | {run.Workload} | {run.Mode} | {run.Calls.ToString("N0", Invariant)} | {Rate(run.RequestsPerSecond)} | " +
                $"{run.ServerCpuMicrosPerCall.ToString("F1", Invariant)} | {run.AllocatedBytesPerCall.ToString("N0", Invariant)} | " +
                $"{run.Gen0}/{run.Gen1}/{run.Gen2} | {Megabytes(run.PeakResidentBytes)} | {run.ServerCpuPercent.ToString("F0", Invariant)} | " +
                $"{run.GeneratorCpuPercent.ToString("F0", Invariant)} | {(run.CacheHits is { } hits ? hits.ToString("N0", Invariant) : "")} | " +
                $"{run.JitMethods} | {run.Errors} |");
        }

        var details = warmups.SelectMany(warmup => warmup.ErrorDetails.Select(detail => $"{warmup.Workload}, {warmup.Mode}: {detail}"))
            .Concat(runs.SelectMany(run => run.ErrorDetails.Select(detail => $"round {run.Round}, {run.Workload}, {run.Mode}: {detail}")))
            .ToList();
        if (details.Count > 0)
        {
            markdown.AppendLine().AppendLine("### Errors").AppendLine();
            foreach (var detail in details)
            {
                markdown.AppendLine(CultureInfo.InvariantCulture, $"- {detail}");
            }
        }

        return markdown.ToString();
    }

    private static string Table(List<RunResult> runs, IReadOnlyList<string> modes)
    {
        var table = new StringBuilder();
        table.AppendLine("| mode | req/s min | req/s median | req/s max | ratio | CPU µs/call | B/call | GC 0/1/2 | RSS MB | srv % | gen % | cache hit % | JIT | errors |");
        table.Append("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|");

        var baseline = runs.Where(run => run.Mode == "none").ToList();
        var baselineRate = baseline.Count > 0 ? Statistics.Median(baseline.Select(run => run.RequestsPerSecond)) : double.NaN;
        var baselineCpu = baseline.Count > 0 ? Statistics.Median(baseline.Select(run => run.ServerCpuMicrosPerCall)) : double.NaN;
        var baselineAlloc = baseline.Count > 0 ? Statistics.Median(baseline.Select(run => run.AllocatedBytesPerCall)) : double.NaN;

        foreach (var mode in modes)
        {
            var ofMode = runs.Where(run => run.Mode == mode).ToList();
            if (ofMode.Count == 0)
            {
                continue;
            }

            var rates = ofMode.Select(run => run.RequestsPerSecond).ToList();
            var rate = Statistics.Median(rates);
            var cpu = Statistics.Median(ofMode.Select(run => run.ServerCpuMicrosPerCall));
            var alloc = Statistics.Median(ofMode.Select(run => run.AllocatedBytesPerCall));
            var ratio = double.IsNaN(baselineRate) || baselineRate == 0 ? "n/a" : (rate / baselineRate).ToString("F3", Invariant);

            table.AppendLine().Append(CultureInfo.InvariantCulture,
                $"| {mode} | {Rate(rates.Min())} | {Rate(rate)} | {Rate(rates.Max())} | {ratio} | " +
                $"{cpu.ToString("F1", Invariant)}{Delta(mode, cpu, baselineCpu, "F1")} | " +
                $"{alloc.ToString("N0", Invariant)}{Delta(mode, alloc, baselineAlloc, "N0")} | " +
                $"{Median(ofMode, run => run.Gen0)}/{Median(ofMode, run => run.Gen1)}/{Median(ofMode, run => run.Gen2)} | " +
                $"{Megabytes((long)Statistics.Median(ofMode.Select(run => (double)run.PeakResidentBytes)))} | " +
                $"{Statistics.Median(ofMode.Select(run => run.ServerCpuPercent)).ToString("F0", Invariant)} | " +
                $"{Statistics.Median(ofMode.Select(run => run.GeneratorCpuPercent)).ToString("F0", Invariant)} | " +
                $"{HitRate(ofMode)} | {ofMode.Sum(run => run.JitMethods)} | {ofMode.Sum(run => run.Errors)} |");
        }

        return table.ToString();
    }

    /// <summary>The comparisons the targets are phrased in, and whether the load generator had headroom.</summary>
    private static IEnumerable<string> Notes(List<RunResult> runs, string workload)
    {
        double MedianOf(string mode, Func<RunResult, double> selector) =>
            runs.Any(run => run.Mode == mode) ? Statistics.Median(runs.Where(run => run.Mode == mode).Select(selector)) : double.NaN;

        var bearerRate = MedianOf("jwtbearer", run => run.RequestsPerSecond);
        var bearerCpu = MedianOf("jwtbearer", run => run.ServerCpuMicrosPerCall);
        foreach (var mode in new[] { "grpcjwtauth", "grpcjwtauth-nocache" })
        {
            var rate = MedianOf(mode, run => run.RequestsPerSecond);
            var cpu = MedianOf(mode, run => run.ServerCpuMicrosPerCall);
            if (!double.IsNaN(rate) && !double.IsNaN(bearerRate) && bearerRate > 0)
            {
                yield return $"{mode} vs jwtbearer: {(rate / bearerRate).ToString("F2", Invariant)}x the req/s; server CPU " +
                    $"{cpu.ToString("F1", Invariant)} vs {bearerCpu.ToString("F1", Invariant)} µs/call " +
                    $"({(cpu - bearerCpu >= 0 ? "+" : "")}{(cpu - bearerCpu).ToString("F1", Invariant)} µs).";
            }
        }

        // Each round runs the modes one after the other: a mode's rate over none's in the same round is paired against the
        // machine's drift, which moves both, and its spread shows how far to trust the ratio of medians.
        foreach (var mode in runs.Select(run => run.Mode).Where(mode => mode != "none").Distinct())
        {
            var pairs = runs.Where(run => run.Mode == mode)
                .Join(runs.Where(run => run.Mode == "none" && run.RequestsPerSecond > 0), run => run.Round, run => run.Round,
                    (run, none) => run.RequestsPerSecond / none.RequestsPerSecond)
                .ToList();
            if (pairs.Count > 0)
            {
                yield return $"{mode} over none in the same round: median {Statistics.Median(pairs).ToString("F3", Invariant)} " +
                    $"({pairs.Min().ToString("F3", Invariant)} to {pairs.Max().ToString("F3", Invariant)}, {pairs.Count} rounds).";
            }
        }

        // In h2load workloads every mode should saturate the server's core; with the tool's generator, mode none may not.
        var generatorWorkload = workload is not ("repeated" or "repeated-es256");
        var shouldSaturate = runs.Where(run => !generatorWorkload || run.Mode != "none").ToList();
        var unsaturated = shouldSaturate.Where(run => run.ServerCpuPercent < 90).ToList();
        if (unsaturated.Count > 0)
        {
            var generatorBusy = unsaturated.Max(run => run.GeneratorCpuPercent);
            yield return $"Not CPU-bound: in {unsaturated.Count} of {shouldSaturate.Count} run(s) the server's core was below 90 % busy (srv % as low as " +
                $"{unsaturated.Min(run => run.ServerCpuPercent).ToString("F0", Invariant)}) while the load generator used at most " +
                $"{generatorBusy.ToString("F0", Invariant)} % of its core: something other than these two cores' CPU time (another tenant, " +
                "or the closed loop's round trips) set the rate there. Compare the modes by CPU µs/call, which does not depend on it.";
        }

        var authenticating = runs.Where(run => run.Mode != "none").ToList();
        var maxGenerator = authenticating.Count > 0 ? authenticating.Max(run => run.GeneratorCpuPercent) : double.NaN;
        if (!generatorWorkload)
        {
            if (runs.Count > 0)
            {
                yield return $"h2load used at most {runs.Max(run => run.GeneratorCpuPercent).ToString("F0", Invariant)} % of its core in any run.";
            }

            yield break;
        }

        var noneRate = MedianOf("none", run => run.RequestsPerSecond);
        if (authenticating.Count == 0 || double.IsNaN(noneRate))
        {
            yield break;
        }

        var fastest = authenticating.GroupBy(run => run.Mode).Max(group => Statistics.Median(group.Select(run => run.RequestsPerSecond)));
        var headroom = noneRate / fastest;
        var minServer = authenticating.Min(run => run.ServerCpuPercent);
        var verdict = maxGenerator >= 90 || headroom < 1.5
            ? "so the generator may be limiting the authenticating modes: treat their figures with care"
            : minServer >= 90
                ? "so the authenticating modes were limited by the server, not by the generator"
                : $"so the generator was not the limit; but the server's core was not saturated either (srv % as low as {minServer.ToString("F0", Invariant)}), so the machine was busy";
        yield return $"Generator headroom: with mode none the same generator reached {Rate(noneRate)} req/s (median; generator CPU " +
            $"{MedianOf("none", run => run.GeneratorCpuPercent).ToString("F0", Invariant)} %, server CPU " +
            $"{MedianOf("none", run => run.ServerCpuPercent).ToString("F0", Invariant)} %), {headroom.ToString("F1", Invariant)}x the fastest " +
            $"authenticating mode ({Rate(fastest)} req/s), and in the authenticating modes it used at most " +
            $"{maxGenerator.ToString("F0", Invariant)} % of its core: {verdict}.";
    }

    private static string HitRate(List<RunResult> runs)
    {
        var hits = runs.Sum(run => run.CacheHits ?? 0);
        var lookups = hits + runs.Sum(run => run.CacheMisses ?? 0);
        if (runs.All(run => run.CacheHits is null))
        {
            return "";
        }

        return lookups == 0 ? "-" : (100.0 * hits / lookups).ToString(hits == 0 || hits == lookups ? "F0" : "F3", Invariant);
    }

    private static string Delta(string mode, double value, double baseline, string format) =>
        mode == "none" || double.IsNaN(baseline) ? "" : $" ({(value - baseline >= 0 ? "+" : "")}{(value - baseline).ToString(format, Invariant)})";

    private static string Median(List<RunResult> runs, Func<RunResult, int> selector) =>
        Statistics.Median(runs.Select(run => (double)selector(run))).ToString("0.#", Invariant);

    private static string Rate(double value) => value.ToString("N0", Invariant);

    private static string Megabytes(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", Invariant);
}
