using System.Diagnostics.Metrics;

namespace GrpcJwtAuth.LoadServer;

/// <summary>
/// Counts GrpcJwtAuth's validated-token cache hits and misses from its own metric
/// (<c>grpcjwtauth.token_cache.lookups</c>, tag <c>grpcjwtauth.cache.result</c>), so that the load tool can show how often the cache
/// answered: about never in the unique-token workload, about always in the repeated one. Listens to that one instrument
/// only; the callback is two comparisons and an interlocked increment.
/// </summary>
internal sealed class CacheLookupCounter : IDisposable
{
    private const string MeterName = "GrpcJwtAuth";
    private const string InstrumentName = "grpcjwtauth.token_cache.lookups";

    private readonly MeterListener _listener = new();
    private long _hits;
    private long _misses;

    public CacheLookupCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name == InstrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "grpcjwtauth.cache.result")
            {
                if (tag.Value is "hit")
                {
                    Interlocked.Add(ref _hits, value);
                }
                else
                {
                    Interlocked.Add(ref _misses, value);
                }

                return;
            }
        }
    }
}
