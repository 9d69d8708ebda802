using System.Diagnostics;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using GrpcJwtAuth.LoadTest.Shared;

namespace GrpcJwtAuth.LoadServer;

/// <summary>
/// <c>GET /stats</c>: the process's allocation, GC and JIT counters and, in the GrpcJwtAuth modes, the token cache's
/// hits and misses; read by the load tool before and after a measurement and while it warms the server up. It is a
/// plain HTTP endpoint on the same Kestrel, outside gRPC and without authorization in every mode.
/// </summary>
internal static class StatsEndpoint
{
    public const string Path = "/stats";

    public static void Map(WebApplication app, AuthMode mode, CacheLookupCounter? cacheLookups)
    {
        app.MapGet(Path, () =>
        {
            using var process = Process.GetCurrentProcess();
            return Results.Json(
                new ServerStats(
                    ModeName: mode.ToString(),
                    AllocatedBytes: GC.GetTotalAllocatedBytes(precise: true),
                    Gen0Collections: GC.CollectionCount(0),
                    Gen1Collections: GC.CollectionCount(1),
                    Gen2Collections: GC.CollectionCount(2),
                    WorkingSetBytes: process.WorkingSet64,
                    PeakWorkingSetBytes: process.PeakWorkingSet64,
                    ProcessorCount: Environment.ProcessorCount,
                    ServerGc: GCSettings.IsServerGC,
                    Runtime: Environment.Version.ToString(),
                    JitCompiledMethods: JitInfo.GetCompiledMethodCount(),
                    JitCompilationMilliseconds: JitInfo.GetCompilationTime().TotalMilliseconds,
                    TokenCacheHits: cacheLookups?.Hits ?? -1,
                    TokenCacheMisses: cacheLookups?.Misses ?? -1),
                StatsJsonContext.Default.ServerStats);
        });
    }
}

[JsonSerializable(typeof(ServerStats))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class StatsJsonContext : JsonSerializerContext;
