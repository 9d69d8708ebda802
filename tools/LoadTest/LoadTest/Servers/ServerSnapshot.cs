using GrpcJwtAuth.LoadTest.Shared;

namespace GrpcJwtAuth.LoadTest.Servers;

/// <summary>The server's counters (<see cref="ServerStats"/>, from <c>GET /stats</c>) and CPU time at one instant.</summary>
internal sealed record ServerSnapshot(ServerStats Stats, long CpuTicks);
