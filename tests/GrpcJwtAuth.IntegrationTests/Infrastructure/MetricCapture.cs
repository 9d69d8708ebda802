using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// Every measurement of every instrument on the GrpcJwtAuth meters a server made through its own
/// <see cref="IMeterFactory"/> (so parallel tests never mix), with its tags; observable instruments are read when
/// <see cref="RecordObservableInstruments"/> is called.
/// </summary>
public sealed class MetricCapture : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Measured> _measurements = new();

    public MetricCapture(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name.StartsWith("GrpcJwtAuth", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Everything measured so far.</summary>
    public IReadOnlyList<Measured> Measurements => [.. _measurements];

    /// <summary>Reads the observable instruments (gauges) once, adding a measurement for each.</summary>
    public void RecordObservableInstruments() => _listener.RecordObservableInstruments();

    public IReadOnlyList<Measured> Of(string instrument) => Measurements.Where(m => m.Instrument == instrument).ToList();

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _measurements.Enqueue(new Measured(instrument.Meter.Name, instrument.Name, instrument.Unit, value, tags.ToArray().ToDictionary()));

    public sealed record Measured(string Meter, string Instrument, string? Unit, double Value, IReadOnlyDictionary<string, object?> Tags)
    {
        public string? Tag(string name) => Tags.TryGetValue(name, out var value) ? value?.ToString() : null;

        /// <summary>All the text it carries: meter, instrument, unit and each tag.</summary>
        public override string ToString() =>
            $"{Meter} {Instrument} ({Unit}) {Value} " + string.Join(", ", Tags.Select(tag => $"{tag.Key}={tag.Value}"));
    }
}
