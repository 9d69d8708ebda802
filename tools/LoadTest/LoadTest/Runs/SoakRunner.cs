using System.Globalization;
using System.Text;
using GrpcJwtAuth.LoadTest.Load;
using GrpcJwtAuth.LoadTest.Probes;
using GrpcJwtAuth.LoadTest.Processes;
using GrpcJwtAuth.LoadTest.Servers;
using GrpcJwtAuth.LoadTest.Shared;
using GrpcJwtAuth.LoadTest.Tokens;

namespace GrpcJwtAuth.LoadTest.Runs;

/// <summary>
/// The soak (issue 6): at least 100,000 calls at a concurrency of at least 100 against the grpcjwtauth server over TLS,
/// mixing valid (RS256 and ES256), expired and forged tokens (signed by another key, or payload swapped after
/// signing) in a fixed pseudo-random order, with every decision checked. Reports wrong decisions, unexpected errors
/// and the server's working set at the start and the end. Written to soak.md.
/// </summary>
internal static class SoakRunner
{
    private const int Seed = 20_251_125;
    private const int ValidPerAlgorithm = 500;
    private const int ExpiredPerAlgorithm = 125;
    private const int ForgedPerKind = 125;
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(12);

    public static async Task<int> RunAsync(LoadTestOptions options, CancellationToken cancellationToken)
    {
        var concurrency = options.SoakConnections * options.SoakStreams;
        if (Pinning.Problem(options.ServerCore, options.LoadCore) is { } problem)
        {
            Console.WriteLine("WARNING: " + problem);
        }

        using var context = await ToolContext.CreateAsync(options, cancellationToken);
        var minter = context.Minter;

        var valid = new List<TokenEntry>();
        for (var i = 0; i < ValidPerAlgorithm; i++)
        {
            var subject = "soak-user-" + (i % 50).ToString(CultureInfo.InvariantCulture);
            valid.Add(TokenFile.Bearer(minter.Valid(TokenAlgorithm.Rs256, $"soak-rs-{i}", TokenLifetime, subject), expectOk: true, subject));
            valid.Add(TokenFile.Bearer(minter.Valid(TokenAlgorithm.Es256, $"soak-es-{i}", TokenLifetime, subject), expectOk: true, subject));
        }

        var expired = new List<TokenEntry>();
        for (var i = 0; i < ExpiredPerAlgorithm; i++)
        {
            expired.Add(TokenFile.Bearer(minter.Expired(TokenAlgorithm.Rs256, $"soak-expired-rs-{i}"), expectOk: false));
            expired.Add(TokenFile.Bearer(minter.Expired(TokenAlgorithm.Es256, $"soak-expired-es-{i}"), expectOk: false));
        }

        var forged = new List<TokenEntry>();
        for (var i = 0; i < ForgedPerKind; i++)
        {
            forged.Add(TokenFile.Bearer(minter.ForgedSignature($"soak-forged-{i}", TokenLifetime), expectOk: false));
            forged.Add(TokenFile.Bearer(minter.TamperedPayload($"soak-tampered-{i}", TokenLifetime, "admin"), expectOk: false));
        }

        // 80 % valid, 10 % expired, 10 % forged, in a fixed order.
        var random = new Random(Seed);
        var schedule = new TokenEntry[options.SoakCalls];
        int validCalls = 0, expiredCalls = 0, forgedCalls = 0;
        for (var i = 0; i < schedule.Length; i++)
        {
            var draw = random.Next(100);
            (schedule[i], _) = draw < 80
                ? (valid[random.Next(valid.Count)], validCalls++)
                : draw < 90
                    ? (expired[random.Next(expired.Count)], expiredCalls++)
                    : (forged[random.Next(forged.Count)], forgedCalls++);
        }

        var tokenFile = Path.Combine(context.WorkDirectory, "tokens-soak.txt");
        TokenFile.Write(tokenFile, schedule);

        var timeout = TimeSpan.FromSeconds(options.SoakTimeoutSeconds);
        using var server = await ServerProcess.StartAsync(context.Launch, "grpcjwtauth", "soak", timeout + TimeSpan.FromMinutes(5), cancellationToken);
        var probeTokens = new ProbeTokens(
            minter.Valid(TokenAlgorithm.Rs256, "probe-rs256", TokenLifetime),
            minter.Valid(TokenAlgorithm.Es256, "probe-es256", TokenLifetime),
            minter.ForgedSignature("probe-forged", TokenLifetime));
        var probeFailures = new List<string>(await CorrectnessProbe.RunAsync(server, probeTokens, TokenMinter.Subject, cancellationToken));

        Console.WriteLine(
            $"Soak: {options.SoakCalls:N0} calls ({validCalls:N0} valid, {expiredCalls:N0} expired, {forgedCalls:N0} forged) at concurrency " +
            $"{concurrency} ({options.SoakConnections} connections x {options.SoakStreams} streams) against grpcjwtauth over TLS ...");

        ServerStats? start = null;
        var arguments = GrpcLoadGenerator.Arguments(
            server.Address, server.CertificatePath, tokenFile, options.SoakConnections, options.SoakStreams, TimeSpan.Zero,
            duration: null, calls: options.SoakCalls, serverAuthenticates: true, reuseTokens: false, timeout);
        var (_, report) = await GeneratorProcess.RunAsync(
            options.LoadCore,
            arguments,
            timeout + TimeSpan.FromMinutes(1),
            async () => start = await server.GetStatsAsync(cancellationToken),
            cancellationToken);
        var end = await server.GetStatsAsync(cancellationToken);
        var peak = server.PeakResidentBytes();
        probeFailures.AddRange(await CorrectnessProbe.RunAsync(server, probeTokens, TokenMinter.Subject, cancellationToken));
        File.Delete(tokenFile);

        var passed = report.Calls == options.SoakCalls
            && report.Ok == validCalls
            && report.RejectedAsExpected == expiredCalls + forgedCalls
            && report.WrongDecisions == 0
            && report.UnexpectedErrors == 0
            && probeFailures.Count == 0
            && concurrency >= 100;

        var text = new StringBuilder();
        text.AppendLine("# GrpcJwtAuth soak").AppendLine();
        foreach (var line in context.Describe())
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"- Server: grpcjwtauth (default token cache), TLS (HTTP/2) on 127.0.0.1, core {options.ServerCore}; generator on core {options.LoadCore}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Calls: {report.Calls:N0} of {options.SoakCalls:N0} at concurrency {concurrency} ({options.SoakConnections} connections x {options.SoakStreams} streams) in {report.ElapsedSeconds:F1} s ({report.Calls / Math.Max(report.ElapsedSeconds, 1e-9):N0} calls/s)");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Mix: {validCalls:N0} valid ({valid.Count} distinct, RS256 and ES256), {expiredCalls:N0} expired ({expired.Count} distinct), {forgedCalls:N0} forged ({forged.Count} distinct: other key, or payload swapped after signing)");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Decisions: {report.Ok:N0} valid accepted with the right subject, {report.RejectedAsExpected:N0} invalid rejected with Unauthenticated");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Wrong decisions: {report.WrongDecisions} ({report.ValidRejected} valid rejected, {report.InvalidAccepted} invalid accepted, {report.WrongSubject} wrong subject)");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Unexpected errors: {report.UnexpectedErrors}{(report.Unexpected.Count > 0 ? " (" + string.Join(", ", report.Unexpected.Select(pair => $"{pair.Key}: {pair.Value}")) + ")" : "")}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Probes before and after: {(probeFailures.Count == 0 ? "passed" : string.Join("; ", probeFailures))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Server working set: {Megabytes(start!.WorkingSetBytes)} MB at the start, {Megabytes(end.WorkingSetBytes)} MB at the end; peak RSS (VmHWM) {Megabytes(peak)} MB; GC in the soak {end.Gen0Collections - start.Gen0Collections}/{end.Gen1Collections - start.Gen1Collections}/{end.Gen2Collections - start.Gen2Collections} (gen0/1/2)");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Generator CPU: {report.CpuPercent:F0} % of its core");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Result: **{(passed ? "PASS" : "FAIL")}**{(concurrency < 100 ? " (concurrency below 100)" : "")}");

        var markdown = text.ToString();
        var path = Path.Combine(context.OutputDirectory, "soak.md");
        await File.WriteAllTextAsync(path, markdown, cancellationToken);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"Written to {path}.");
        return passed ? 0 : 1;
    }

    private static string Megabytes(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture);
}
