namespace GrpcJwtAuth.LoadTest.Reporting;

/// <summary>How a server was warmed up before its first measured run.</summary>
/// <param name="Seconds">Load time until its JIT was quiet (or the limit was reached).</param>
/// <param name="JitMethods">Methods compiled during the warm-up.</param>
/// <param name="MethodsPerChunk">Methods compiled in each chunk of warm-up load.</param>
/// <param name="Quiet">Whether the JIT went quiet before the limit.</param>
internal sealed record WarmupResult(
    string Workload, string Mode, double Seconds, long JitMethods, IReadOnlyList<long> MethodsPerChunk, bool Quiet, long Errors,
    IReadOnlyList<string> ErrorDetails);

/// <summary>One measured run: one workload, one mode, one round, on that workload and mode's warmed-up server.</summary>
internal sealed record RunResult
{
    public required int Round { get; init; }

    public required string Workload { get; init; }

    public required string Mode { get; init; }

    /// <summary>Calls answered in the measured window, whatever the outcome.</summary>
    public required long Calls { get; init; }

    /// <summary>Calls answered OK (with a reply body, for h2load) in the measured window.</summary>
    public required long OkCalls { get; init; }

    public required double ElapsedSeconds { get; init; }

    /// <summary>Non-OK answers in the warm-up and the measured window, plus failed probes.</summary>
    public required long Errors { get; init; }

    public required IReadOnlyList<string> ErrorDetails { get; init; }

    public required double ServerCpuSeconds { get; init; }

    public required long AllocatedBytes { get; init; }

    public required int Gen0 { get; init; }

    public required int Gen1 { get; init; }

    public required int Gen2 { get; init; }

    public required long PeakResidentBytes { get; init; }

    /// <summary>The load generator's CPU time over its wall time, in percent of its one core.</summary>
    public required double GeneratorCpuPercent { get; init; }

    /// <summary>Methods the server's JIT compiled during the measured window (0 at steady state).</summary>
    public long JitMethods { get; init; }

    /// <summary>Validated-token cache hits in the measured window; <see langword="null"/> for modes without the cache.</summary>
    public long? CacheHits { get; init; }

    /// <summary>Validated-token cache misses in the measured window; <see langword="null"/> for modes without the cache.</summary>
    public long? CacheMisses { get; init; }

    public double RequestsPerSecond => ElapsedSeconds > 0 ? OkCalls / ElapsedSeconds : 0;

    public double ServerCpuMicrosPerCall => Calls > 0 ? ServerCpuSeconds * 1e6 / Calls : 0;

    /// <summary>The server's CPU time over the window's wall time: about 100 when the server's core is saturated.</summary>
    public double ServerCpuPercent => ElapsedSeconds > 0 ? 100 * ServerCpuSeconds / ElapsedSeconds : 0;

    public double AllocatedBytesPerCall => Calls > 0 ? (double)AllocatedBytes / Calls : 0;
}
