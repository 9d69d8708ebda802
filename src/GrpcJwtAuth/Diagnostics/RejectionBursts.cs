using System.Text;
using GrpcJwtAuth.Server;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// Reports peers that cause many rejections (probing, brute force, a client stuck on a bad token) without flooding the
/// log: per peer address (the port is dropped, so reconnecting does not make a new peer), once
/// <see cref="Threshold"/> rejections accumulate within <see cref="Interval"/>, one Warning (event 104) with the count
/// and the reasons; after that at most one more per <see cref="Interval"/> while rejections go on, each counting those
/// since the last. No timers: the table is updated, and old entries dropped, as rejections arrive, on the injected
/// <see cref="TimeProvider"/>. Bounded: at most <see cref="MaxPeers"/> peers are tracked, the rest share one
/// "other peers" entry. Does nothing while Warning is off for its category.
/// </summary>
internal sealed class RejectionBursts
{
    public const string OtherPeers = "(other peers)";
    public const int DefaultThreshold = 10;
    public const int DefaultMaxPeers = 1024;
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(60);

    private static readonly int FailureCount = Enum.GetValues<AuthFailure>().Length;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PeerCounts> _peers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PeerCounts>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly PeerCounts _others = new(OtherPeers, FailureCount);
    private long _lastSweep;

    public RejectionBursts(TimeProvider timeProvider, ILogger<RejectionBursts> logger)
        : this(timeProvider, logger, DefaultInterval, DefaultThreshold, DefaultMaxPeers)
    {
    }

    internal RejectionBursts(TimeProvider timeProvider, ILogger logger, TimeSpan interval, int threshold, int maxPeers)
    {
        _timeProvider = timeProvider;
        _logger = logger;
        Interval = interval;
        Threshold = threshold;
        MaxPeers = maxPeers;
        _lookup = _peers.GetAlternateLookup<ReadOnlySpan<char>>();
        _lastSweep = timeProvider.GetTimestamp();
    }

    public TimeSpan Interval { get; }

    public int Threshold { get; }

    public int MaxPeers { get; }

    /// <summary>How many peers have an entry of their own now (the "other peers" entry not included).</summary>
    public int TrackedPeers
    {
        get
        {
            lock (_gate)
            {
                return _peers.Count;
            }
        }
    }

    /// <summary>Counts one rejection of a call from <paramref name="peer"/> (as <c>ServerCallContext.Peer</c> gives it).</summary>
    public void Record(string peer, AuthFailure failure)
    {
        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        var now = _timeProvider.GetTimestamp();
        Summary? summary;
        lock (_gate)
        {
            summary = Find(Address(peer), now).Add(failure, now, this);
        }

        if (summary is { } burst)
        {
            Log.RejectionBurst(_logger, burst.Peer, burst.Count, burst.Seconds, burst.Reasons, (int)Interval.TotalSeconds);
        }
    }

    /// <summary>"ipv4:10.0.0.7:51234" → "ipv4:10.0.0.7", "ipv6:[::1]:443" → "ipv6:[::1]"; anything else as it is.</summary>
    internal static ReadOnlySpan<char> Address(string peer)
    {
        var span = peer.AsSpan();
        if (!span.StartsWith("ipv4:", StringComparison.Ordinal) && !span.StartsWith("ipv6:", StringComparison.Ordinal))
        {
            return span;
        }

        var colon = span.LastIndexOf(':');
        return colon > 5 && colon < span.Length - 1 && !span[(colon + 1)..].ContainsAnyExceptInRange('0', '9')
            ? span[..colon]
            : span;
    }

    private PeerCounts Find(ReadOnlySpan<char> address, long now)
    {
        if (_lookup.TryGetValue(address, out var counts))
        {
            return counts;
        }

        if (_peers.Count >= MaxPeers)
        {
            Sweep(now);
            if (_peers.Count >= MaxPeers)
            {
                return _others;
            }
        }

        var key = address.ToString();
        counts = new PeerCounts(key, FailureCount);
        _peers.Add(key, counts);
        return counts;
    }

    /// <summary>Drops peers quiet for a whole interval since their window began and their last report; at most once a second.</summary>
    private void Sweep(long now)
    {
        if (_timeProvider.GetElapsedTime(_lastSweep, now) < SweepInterval)
        {
            return;
        }

        _lastSweep = now;
        List<string>? stale = null;
        foreach (var (peer, counts) in _peers)
        {
            if (counts.IsQuiet(now, this))
            {
                (stale ??= []).Add(peer);
            }
        }

        stale?.ForEach(peer => _peers.Remove(peer));
    }

    private readonly record struct Summary(string Peer, int Count, long Seconds, string Reasons);

    private sealed class PeerCounts(string peer, int failureCount)
    {
        private readonly int[] _reasons = new int[failureCount];
        private long _windowStart;
        private long _lastReport;
        private bool _started;
        private bool _reported;
        private int _count;

        public Summary? Add(AuthFailure failure, long now, RejectionBursts owner)
        {
            var time = owner._timeProvider;
            if (!_started || (_count < owner.Threshold && time.GetElapsedTime(_windowStart, now) >= owner.Interval))
            {
                Reset(now);
            }

            _count++;
            _reasons[(int)failure]++;
            if (_count < owner.Threshold || (_reported && time.GetElapsedTime(_lastReport, now) < owner.Interval))
            {
                return null;
            }

            var summary = new Summary(peer, _count, (long)Math.Ceiling(time.GetElapsedTime(_windowStart, now).TotalSeconds), Reasons());
            _lastReport = now;
            _reported = true;
            Reset(now);
            return summary;
        }

        public bool IsQuiet(long now, RejectionBursts owner) =>
            owner._timeProvider.GetElapsedTime(_windowStart, now) >= owner.Interval
            && (!_reported || owner._timeProvider.GetElapsedTime(_lastReport, now) >= owner.Interval);

        private void Reset(long now)
        {
            _started = true;
            _windowStart = now;
            _count = 0;
            Array.Clear(_reasons);
        }

        /// <summary>"invalid_signature 7, token_expired 3": the reasons, most frequent first.</summary>
        private string Reasons()
        {
            var order = Enumerable.Range(0, _reasons.Length).Where(i => _reasons[i] > 0).OrderByDescending(i => _reasons[i]).ThenBy(i => i);
            var text = new StringBuilder();
            foreach (var index in order)
            {
                if (text.Length > 0)
                {
                    text.Append(", ");
                }

                text.Append(AuthFailures.Get((AuthFailure)index).Tag).Append(' ').Append(_reasons[index]);
            }

            return text.ToString();
        }
    }
}
