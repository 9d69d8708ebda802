using System.Globalization;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// The health of the signing keys, added by <c>AddGrpcJwtAuthKeys()</c>:
/// <list type="bullet">
/// <item>Unhealthy (or the registration's failure status) when no key is held: every call needing a token fails.</item>
/// <item>Degraded when the last fetch from the key source failed (calls are validated with the last known good keys,
/// or the static keys only), or keys come from a key source whose first fetch has not finished yet while static keys
/// are held.</item>
/// <item>Healthy otherwise: the last fetch succeeded, or there is no key source (static keys only).</item>
/// </list>
/// With several issuers each is judged so, and the check reports the worst of them, except that issuers without keys
/// while others have some make it Degraded, not failed: the others' callers still get through. Reads what each
/// <see cref="SigningKeyManager"/> already holds; never fetches. Data: key count and fetch times (prefixed with the
/// issuer's name when there are several), never a key, an address or an exception message.
/// </summary>
/// <param name="issuers">GrpcJwtAuth's issuers; <see langword="null"/> when <c>AddGrpcJwtAuth()</c> was not called.</param>
/// <param name="timeProvider">The clock, for the age of the key set.</param>
internal sealed class SigningKeysHealthCheck(TrustedIssuers? issuers, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check(context.Registration?.FailureStatus ?? HealthStatus.Unhealthy));

    internal HealthCheckResult Check(HealthStatus failureStatus)
    {
        if (issuers is null || issuers.All.Count == 0)
        {
            return new HealthCheckResult(
                failureStatus, "GrpcJwtAuth is not registered: call services.AddGrpcJwtAuth() as well as AddGrpcJwtAuthKeys().");
        }

        if (issuers.All.Count == 1)
        {
            return Check(issuers.All[0], failureStatus);
        }

        var results = issuers.All.Select(keys => (Name: keys.Issuer.KeySourceName, Result: Check(keys, failureStatus), Empty: keys.Current.IsEmpty)).ToList();
        var status = results.All(r => r.Empty)
            ? failureStatus
            : results.Any(r => r.Empty || r.Result.Status != HealthStatus.Healthy) ? HealthStatus.Degraded : HealthStatus.Healthy;
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, result, _) in results)
        {
            foreach (var (key, value) in result.Data)
            {
                data[$"{name}.{key}"] = value;
            }
        }

        return new HealthCheckResult(
            status, string.Join(" ", results.Select(r => $"Issuer {r.Name}: {r.Result.Description}")), data: data);
    }

    private HealthCheckResult Check(SigningKeyManager keys, HealthStatus failureStatus)
    {
        var current = keys.Current;
        var last = keys.LastRefresh;
        var data = Data(current, keys.HasRemoteSource, last);

        if (current.IsEmpty)
        {
            var why = last switch
            {
                null => "the first fetch from the key source has not finished",
                { Succeeded: true } => "the key source returned none",
                _ => $"{Count(last.ConsecutiveFailures, "fetch", "fetches")} from the key source failed, the last at {Time(last.FinishedAt)}",
            };
            return new HealthCheckResult(
                failureStatus,
                $"No signing keys are held ({why}): calls that need a token are rejected with Unavailable.",
                data: data);
        }

        if (!keys.HasRemoteSource)
        {
            return HealthCheckResult.Healthy($"Validating with {Count(current.Keys.Count, "static key", "static keys")}.", data);
        }

        if (last is null)
        {
            return HealthCheckResult.Degraded(
                $"The first fetch from the key source has not finished; validating with {Count(current.Keys.Count, "static key", "static keys")} only.",
                data: data);
        }

        if (!last.Succeeded)
        {
            var keysInUse = current.RefreshedAt is { } loadedAt
                ? $"the {Count(current.Keys.Count, "last known good key", "last known good keys")} loaded at {Time(loadedAt)}"
                : $"{Count(current.Keys.Count, "static key", "static keys")} only";
            return HealthCheckResult.Degraded(
                $"Fetching signing keys failed ({last.ConsecutiveFailures} in a row, the last at {Time(last.FinishedAt)}); validating with {keysInUse}.",
                data: data);
        }

        return HealthCheckResult.Healthy(
            $"Validating with {Count(current.Keys.Count, "signing key", "signing keys")} fetched at {Time(current.RefreshedAt ?? last.FinishedAt)}.",
            data);
    }

    private Dictionary<string, object> Data(SigningKeySet current, bool hasRemoteSource, KeyRefreshStatus? last)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["keys"] = current.Keys.Count,
            ["remote_source"] = hasRemoteSource,
        };

        if (current.RefreshedAt is { } refreshedAt)
        {
            data["refreshed_at"] = refreshedAt;
            data["age_seconds"] = Math.Round((timeProvider.GetUtcNow() - refreshedAt).TotalSeconds, 3);
        }

        if (last is not null)
        {
            data["last_refresh_at"] = last.FinishedAt;
            data["last_refresh_trigger"] = Metrics.TriggerName(last.Trigger);
            data["last_refresh_succeeded"] = last.Succeeded;
            data["consecutive_failures"] = last.ConsecutiveFailures;
            if (last.ErrorType is not null)
            {
                data["last_error_type"] = last.ErrorType;
            }
        }

        return data;
    }

    private static string Count(int count, string one, string many) =>
        count.ToString(CultureInfo.InvariantCulture) + " " + (count == 1 ? one : many);

    private static string Time(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);
}
