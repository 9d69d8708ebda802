using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// The client's instruments, on a <see cref="Meter"/> named <see cref="MeterName"/>: from the given
/// <see cref="IMeterFactory"/> (DI registrations pass the host's), else one shared static meter. Each method returns
/// before building tags unless an instrument has a listener. Tags are constants and exception type names, never a
/// token or a secret.
/// </summary>
internal sealed class Metrics
{
    public const string MeterName = "GrpcJwtAuth.Client";
    public const string AcquisitionsName = "grpcjwtauth.client.token.acquisitions";
    public const string AcquisitionDurationName = "grpcjwtauth.client.token.acquisition.duration";

    public const string OutcomeTag = "outcome";
    public const string ForcedTag = "forced";
    public const string ErrorTypeTag = "error.type";

    /// <summary>The source did not answer within <c>FetchTimeout</c>.</summary>
    public const string TimeoutError = "timeout";

    /// <summary>The source returned no token, or one already expired or about to.</summary>
    public const string UnusableTokenError = "unusable_token";

    private static readonly object True = true;
    private static readonly object False = false;

    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30];

    private readonly Counter<long> _acquisitions;
    private readonly Histogram<double> _duration;

    public Metrics(IMeterFactory meterFactory)
        : this(meterFactory.Create(MeterName))
    {
    }

    private Metrics(Meter meter)
    {
        _acquisitions = meter.CreateCounter<long>(
            AcquisitionsName, "{acquisition}", "Tokens fetched from the token source, by outcome, whether forced by a rejection, and error type.");
        _duration = meter.CreateHistogram(
            AcquisitionDurationName, "s", "Time to fetch a token from the token source, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
    }

    /// <summary>For caches made without an <see cref="IMeterFactory"/>.</summary>
    public static Metrics Shared { get; } = new(new Meter(MeterName));

    public void Acquired(bool forced, TimeSpan duration)
    {
        if (_acquisitions.Enabled)
        {
            _acquisitions.Add(
                1,
                new KeyValuePair<string, object?>(OutcomeTag, "success"),
                new KeyValuePair<string, object?>(ForcedTag, forced ? True : False));
        }

        if (_duration.Enabled)
        {
            _duration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(OutcomeTag, "success"));
        }
    }

    /// <param name="forced">Whether a rejection by the server forced the fetch.</param>
    /// <param name="errorType"><see cref="TimeoutError"/>, <see cref="UnusableTokenError"/> or the exception's type name.</param>
    /// <param name="duration">How long the fetch took.</param>
    public void Failed(bool forced, string errorType, TimeSpan duration)
    {
        if (_acquisitions.Enabled)
        {
            _acquisitions.Add(
                1,
                new KeyValuePair<string, object?>(OutcomeTag, "failure"),
                new KeyValuePair<string, object?>(ForcedTag, forced ? True : False),
                new KeyValuePair<string, object?>(ErrorTypeTag, errorType));
        }

        if (_duration.Enabled)
        {
            _duration.Record(duration.TotalSeconds, new TagList { { OutcomeTag, "failure" }, { ErrorTypeTag, errorType } });
        }
    }
}
