namespace GrpcJwtAuth.LoadTest.Shared;

/// <summary>
/// What the load server's <c>GET /stats</c> returns: its allocation, GC, JIT and validated-token-cache counters.
/// One declaration, compiled into both the server (which writes it) and the load tool (which reads it).
/// </summary>
/// <param name="JitCompiledMethods">Methods the JIT has compiled so far, all tiers (<c>JitInfo.GetCompiledMethodCount</c>).
/// The load tool warms a server up until this stops growing: measured code is then the steady-state (tier-1) code.</param>
/// <param name="JitCompilationMilliseconds">Time spent in the JIT so far (<c>JitInfo.GetCompilationTime</c>).</param>
/// <param name="TokenCacheHits">GrpcJwtAuth's validated-token cache hits so far; -1 when the mode has no such cache.</param>
/// <param name="TokenCacheMisses">GrpcJwtAuth's validated-token cache misses so far; -1 when the mode has no such cache.</param>
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
    string Runtime,
    long JitCompiledMethods,
    double JitCompilationMilliseconds,
    long TokenCacheHits,
    long TokenCacheMisses);
