using GrpcJwtAuth;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Issuers;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the health of GrpcJwtAuth's signing keys to ASP.NET Core health checks.</summary>
public static class GrpcJwtAuthHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the signing keys GrpcJwtAuth validates with (it reads their state, it never fetches): Healthy
    /// when the last fetch from the key source succeeded or keys are static only; Degraded when the last fetch failed
    /// and calls are validated with the last known good keys; <paramref name="failureStatus"/> (Unhealthy by default)
    /// when no key is held, so every call needing a token is rejected, or when <c>AddGrpcJwtAuth()</c> was not called. With
    /// <c>AddGrpcHealthChecks()</c> it is reported by <c>grpc.health.v1.Health</c> (Degraded counts as SERVING).
    /// </summary>
    /// <param name="builder">The health checks builder, from <c>AddHealthChecks()</c> or <c>AddGrpcHealthChecks()</c>.</param>
    /// <param name="name">The check's name. Defaults to <see cref="GrpcJwtAuthDefaults.KeysHealthCheckName"/>.</param>
    /// <param name="failureStatus">The status when no key is held. Defaults to Unhealthy.</param>
    /// <param name="tags">Tags for filtering checks, for example <c>ready</c>. Defaults to none.</param>
    public static IHealthChecksBuilder AddGrpcJwtAuthKeys(
        this IHealthChecksBuilder builder,
        string name = GrpcJwtAuthDefaults.KeysHealthCheckName,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        return builder.Add(new HealthCheckRegistration(
            name,
            static services => new SigningKeysHealthCheck(
                services.GetService<TrustedIssuers>(), services.GetService<TimeProvider>() ?? TimeProvider.System),
            failureStatus,
            tags));
    }
}
