using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// The server's instruments, on one <see cref="Meter"/> named <see cref="GrpcJwtAuthDefaults.MeterName"/> made by the
/// host's <see cref="IMeterFactory"/>. Every method returns before building tags unless its instrument has a listener,
/// so with none attached the request path pays a field read and a branch, and allocates nothing. Tag values are
/// constants or a method's declared name (bounded by the services mapped: never the path as the caller spelled it, and
/// <c>_OTHER</c> for a call that reached no declared method); never a claim or a token.
/// </summary>
internal sealed class Metrics
{
    public const string DecisionsName = "grpcjwtauth.server.decisions";
    public const string ValidationDurationName = "grpcjwtauth.server.validation.duration";
    public const string TokenCacheLookupsName = "grpcjwtauth.token_cache.lookups";
    public const string KeyRefreshesName = "grpcjwtauth.keys.refreshes";
    public const string KeyRefreshDurationName = "grpcjwtauth.keys.refresh.duration";
    public const string KeysHeldName = "grpcjwtauth.keys.held";
    public const string KeySetAgeName = "grpcjwtauth.keys.age";
    public const string StreamRenewalsName = "grpcjwtauth.server.stream.renewals";

    // OpenTelemetry's names where one exists (rpc.method, error.type), GrpcJwtAuth's own under grpcjwtauth.* otherwise.
    public const string OutcomeTag = "grpcjwtauth.outcome";
    public const string MethodTag = "rpc.method";
    public const string ErrorTypeTag = "error.type";
    public const string ResultTag = "grpcjwtauth.cache.result";
    public const string TriggerTag = "grpcjwtauth.keys.trigger";
    public const string IssuerTag = "grpcjwtauth.issuer";

    // Validation is tens of microseconds, a signature check with a cold key more, a wait for a key refresh up to
    // KeyRefreshWaitTimeout: the default buckets (in milliseconds) would put everything in the first one.
    private static readonly double[] DurationBuckets =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Meter _meter;
    private readonly Counter<long> _decisions;
    private readonly Histogram<double> _validationDuration;
    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _keyRefreshes;
    private readonly Histogram<double> _keyRefreshDuration;
    private readonly Counter<long> _streamRenewals;

    public Metrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(GrpcJwtAuthDefaults.MeterName);

        _decisions = _meter.CreateCounter<long>(
            DecisionsName, "{decision}", "Authentication and authorization decisions on gRPC calls, by outcome, error type and method.");
        _validationDuration = _meter.CreateHistogram(
            ValidationDurationName, "s", "Time to validate a token that was not in the validated-token cache, by error type (none when valid).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _cacheLookups = _meter.CreateCounter<long>(
            TokenCacheLookupsName, "{lookup}", "Lookups in the validated-token cache, by result (hit or miss).");
        _keyRefreshes = _meter.CreateCounter<long>(
            KeyRefreshesName, "{refresh}", "Fetches of signing keys from the key source, by trigger and outcome.");
        _keyRefreshDuration = _meter.CreateHistogram(
            KeyRefreshDurationName, "s", "Time to fetch signing keys from the key source, by trigger and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _streamRenewals = _meter.CreateCounter<long>(
            StreamRenewalsName, "{renewal}", "Renewals of live streaming calls with a fresh token, by outcome (renewed or the reason refused).");
    }

    /// <summary>A stream renewal answered: <paramref name="outcome"/> is one of the constant <see cref="StreamRenewalOutcomes"/>.</summary>
    public void StreamRenewal(string outcome)
    {
        if (_streamRenewals.Enabled)
        {
            _streamRenewals.Add(1, new KeyValuePair<string, object?>(OutcomeTag, outcome));
        }
    }

    /// <summary>Whether validation time is measured: take a timestamp only then.</summary>
    public bool ValidationDurationEnabled => _validationDuration.Enabled;

    /// <summary>A call decided: <see cref="AuthFailure.None"/> when allowed. <paramref name="rpcMethod"/> is <c>package.Service/Method</c> or <c>_OTHER</c>.</summary>
    public void Decision(string rpcMethod, AuthFailure failure)
    {
        if (!_decisions.Enabled)
        {
            return;
        }

        if (failure == AuthFailure.None)
        {
            _decisions.Add(
                1,
                new KeyValuePair<string, object?>(OutcomeTag, Outcomes.Allowed),
                new KeyValuePair<string, object?>(MethodTag, rpcMethod));
            return;
        }

        _decisions.Add(
            1,
            new KeyValuePair<string, object?>(OutcomeTag, Outcome(failure)),
            new KeyValuePair<string, object?>(ErrorTypeTag, AuthFailures.Get(failure).Tag),
            new KeyValuePair<string, object?>(MethodTag, rpcMethod));
    }

    /// <summary>A call to a method that allows anonymous callers.</summary>
    public void Anonymous(string rpcMethod)
    {
        if (!_decisions.Enabled)
        {
            return;
        }

        _decisions.Add(
            1,
            new KeyValuePair<string, object?>(OutcomeTag, Outcomes.Anonymous),
            new KeyValuePair<string, object?>(MethodTag, rpcMethod));
    }

    public void CacheLookup(bool hit)
    {
        if (_cacheLookups.Enabled)
        {
            _cacheLookups.Add(1, new KeyValuePair<string, object?>(ResultTag, hit ? "hit" : "miss"));
        }
    }

    /// <summary>A token validated (cache misses only): <paramref name="failure"/> is <see cref="AuthFailure.None"/> when valid.</summary>
    public void ValidationDuration(long startTimestamp, AuthFailure failure)
    {
        if (!_validationDuration.Enabled)
        {
            return;
        }

        var seconds = Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
        if (failure == AuthFailure.None)
        {
            _validationDuration.Record(seconds);
        }
        else
        {
            _validationDuration.Record(seconds, new KeyValuePair<string, object?>(ErrorTypeTag, AuthFailures.Get(failure).Tag));
        }
    }

    /// <summary>A fetch of an issuer's keys ended; <paramref name="errorType"/> is the exception's type name when it failed.</summary>
    public void KeyRefresh(string issuer, RefreshTrigger trigger, bool succeeded, string? errorType, TimeSpan duration)
    {
        if (!_keyRefreshes.Enabled && !_keyRefreshDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { IssuerTag, issuer },
            { TriggerTag, TriggerName(trigger) },
            { OutcomeTag, succeeded ? "success" : "failure" },
        };
        if (errorType is not null)
        {
            tags.Add(ErrorTypeTag, errorType);
        }

        _keyRefreshes.Add(1, tags);
        _keyRefreshDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>
    /// Publishes the key gauges of every issuer, tagged with its name: how many keys it holds, and how old its fetched
    /// key set is (nothing while no set was fetched, as with static keys only). Read when a listener collects, not per
    /// call. Call once.
    /// </summary>
    public void ObserveKeys(IReadOnlyList<SigningKeyManager> issuers, TimeProvider timeProvider)
    {
        _meter.CreateObservableGauge(
            KeysHeldName,
            () => issuers.Select(keys => new Measurement<long>(
                keys.Current.Keys.Count, new KeyValuePair<string, object?>(IssuerTag, keys.Issuer.KeySourceName))),
            "{key}",
            "Signing keys held, static and fetched, by issuer.");
        _meter.CreateObservableGauge(
            KeySetAgeName,
            () => issuers
                .Where(keys => keys.Current.RefreshedAt is not null)
                .Select(keys => new Measurement<double>(
                    (timeProvider.GetUtcNow() - keys.Current.RefreshedAt!.Value).TotalSeconds,
                    new KeyValuePair<string, object?>(IssuerTag, keys.Issuer.KeySourceName))),
            "s",
            "Time since the signing keys in use were fetched from the key source, by issuer.");
    }

    public static string Outcome(AuthFailure failure) => AuthFailures.Get(failure).Code switch
    {
        StatusCode.OK => Outcomes.Allowed,
        StatusCode.Unauthenticated => Outcomes.Unauthenticated,
        StatusCode.PermissionDenied => Outcomes.PermissionDenied,
        StatusCode.Unavailable => Outcomes.Unavailable,
        _ => Outcomes.Other,
    };

    public static string TriggerName(RefreshTrigger trigger) => trigger switch
    {
        RefreshTrigger.Startup => "startup",
        RefreshTrigger.Scheduled => "scheduled",
        RefreshTrigger.UnknownKey => "unknown_key",
        _ => "other",
    };

    /// <summary>The outcomes of a stream renewal.</summary>
    public static class StreamRenewalOutcomes
    {
        public const string Renewed = "renewed";
        public const string UnknownStream = "unknown_stream";
        public const string RateLimited = "rate_limited";
        public const string NotLater = "not_later";
        public const string PolicyFailed = "policy_failed";
    }

    public static class Outcomes
    {
        public const string Allowed = "allowed";
        public const string Anonymous = "anonymous";
        public const string Unauthenticated = "unauthenticated";
        public const string PermissionDenied = "permission_denied";
        public const string Unavailable = "unavailable";
        public const string Other = "other";
    }
}
