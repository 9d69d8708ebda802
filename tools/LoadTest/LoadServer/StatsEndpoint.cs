using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Serialization;

namespace GrpcJwtAuth.LoadServer;

/// <summary>
/// <c>GET /stats</c>: the process's allocation and GC counters, read by the load tool before and after a measurement.
/// It is a plain HTTP endpoint on the same Kestrel, outside gRPC and without authorization in every mode.
/// </summary>
internal static class StatsEndpoint
{
    public const string Path = "/stats";

    public static void Map(WebApplication app, AuthMode mode)
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
                    Runtime: Environment.Version.ToString()),
                StatsJsonContext.Default.ServerStats);
        });
    }
}

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

[JsonSerializable(typeof(ServerStats))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class StatsJsonContext : JsonSerializerContext;
