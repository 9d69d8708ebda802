namespace GrpcJwtAuth.LoadTest.Servers;

/// <summary>What the load server's <c>GET /stats</c> returns (LoadServer's StatsEndpoint).</summary>
internal sealed record ServerStats(
    string ModeName,
    long AllocatedBytes,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    long WorkingSetBytes,
    long PeakWorkingSetBytes,
    int ProcessorCount,
    bool ServerGc,
    string Runtime);

/// <summary>The server's counters and CPU time at one instant.</summary>
internal sealed record ServerSnapshot(ServerStats Stats, long CpuTicks);
