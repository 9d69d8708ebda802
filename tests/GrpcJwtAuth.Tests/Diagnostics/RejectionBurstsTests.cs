using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Diagnostics;

public class RejectionBurstsTests
{
    private const string PeerA = "ipv4:203.0.113.7:50001";
    private const string PeerB = "ipv4:198.51.100.9:40000";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(60);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
    private readonly FakeLogger<RejectionBursts> _logger;

    public RejectionBurstsTests()
    {
        // Records are stamped with the fake clock, so the time between summaries can be checked.
        _logger = new FakeLogger<RejectionBursts>(FakeLogCollector.Create(new FakeLogCollectorOptions { TimeProvider = _time }));
    }

    [Fact]
    public void Record_BelowThresholdWithinTheInterval_LogsNothing()
    {
        var bursts = Create(threshold: 5);

        for (var i = 0; i < 4; i++)
        {
            bursts.Record(PeerA, AuthFailure.InvalidSignature);
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Empty(Summaries());
    }

    [Fact]
    public void Record_ThresholdReachedFromOnePeer_OneWarningWithCountAndReasons()
    {
        var bursts = Create(threshold: 5);

        for (var i = 0; i < 3; i++)
        {
            bursts.Record(PeerA, AuthFailure.InvalidSignature);
        }

        _time.Advance(TimeSpan.FromSeconds(12));
        bursts.Record(PeerA, AuthFailure.TokenExpired);
        bursts.Record(PeerA, AuthFailure.InvalidSignature);

        var summary = Assert.Single(Summaries());
        Assert.Equal(LogLevel.Warning, summary.Level);
        Assert.Equal(104, summary.Id.Id);
        Assert.Equal(
            "5 call(s) from ipv4:203.0.113.7 rejected in the last 12 s (invalid_signature 4, token_expired 1). Rejections from " +
            "this peer are summarized at most once every 60 s; each one is logged at Debug (event 100, 101).",
            summary.Message);
        Assert.Equal("ipv4:203.0.113.7", summary.GetStructuredStateValue("Peer"));
        Assert.Equal("5", summary.GetStructuredStateValue("Count"));
    }

    [Fact]
    public void Record_RejectionsGoOn_AtMostOneWarningPerIntervalCountingThoseSinceTheLast()
    {
        var bursts = Create(threshold: 5);

        // One rejection a second for three and a half minutes.
        for (var second = 0; second < 210; second++)
        {
            bursts.Record(PeerA, AuthFailure.MissingAuthorization);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var summaries = Summaries();
        Assert.Equal(["5", "60", "60", "60"], summaries.Select(s => s.GetStructuredStateValue("Count")));
        Assert.Equal(["4", "60", "60", "60"], summaries.Select(s => s.GetStructuredStateValue("Seconds")));
        var times = summaries.Select(s => s.Timestamp).ToList();
        for (var i = 1; i < times.Count; i++)
        {
            Assert.True(times[i] - times[i - 1] >= Interval, $"Summaries {i - 1} and {i} are less than an interval apart.");
        }
    }

    [Fact]
    public void Record_SlowTrickle_NeverReachesTheThresholdWithinAnInterval()
    {
        var bursts = Create(threshold: 5);

        // Four rejections per interval, for ten intervals: 40 in all, never 5 within 60 s.
        for (var i = 0; i < 40; i++)
        {
            bursts.Record(PeerA, AuthFailure.TokenExpired);
            _time.Advance(TimeSpan.FromSeconds(15));
        }

        Assert.Empty(Summaries());
    }

    [Fact]
    public void Record_TwoPeers_CountedApart()
    {
        var bursts = Create(threshold: 3);

        bursts.Record(PeerA, AuthFailure.InvalidSignature);
        bursts.Record(PeerB, AuthFailure.InvalidSignature);
        bursts.Record(PeerA, AuthFailure.InvalidSignature);
        bursts.Record(PeerB, AuthFailure.InvalidSignature);
        Assert.Empty(Summaries());

        bursts.Record(PeerB, AuthFailure.InvalidSignature);

        Assert.Equal(["ipv4:198.51.100.9"], Summaries().Select(s => s.GetStructuredStateValue("Peer")));
    }

    [Fact]
    public void Record_SameAddressFromManyPorts_IsOnePeer()
    {
        var bursts = Create(threshold: 3);

        bursts.Record("ipv6:[2001:db8::1]:1000", AuthFailure.NotBearerScheme);
        bursts.Record("ipv6:[2001:db8::1]:1001", AuthFailure.NotBearerScheme);
        bursts.Record("ipv6:[2001:db8::1]:1002", AuthFailure.NotBearerScheme);

        Assert.Equal(["ipv6:[2001:db8::1]"], Summaries().Select(s => s.GetStructuredStateValue("Peer")));
        Assert.Equal(1, bursts.TrackedPeers);
    }

    [Theory]
    [InlineData("ipv4:10.0.0.7:51234", "ipv4:10.0.0.7")]
    [InlineData("ipv6:[::1]:443", "ipv6:[::1]")]
    [InlineData("unix:/tmp/grpc.sock", "unix:/tmp/grpc.sock")]
    [InlineData("unknown", "unknown")]
    [InlineData("ipv4:10.0.0.7", "ipv4:10.0.0.7")]
    [InlineData("ipv4:10.0.0.7:", "ipv4:10.0.0.7:")]
    public void Address_DropsOnlyANumericPortOfAnIpPeer(string peer, string expected)
    {
        Assert.Equal(expected, RejectionBursts.Address(peer).ToString());
    }

    [Fact]
    public void Record_MorePeersThanTheTableHolds_TheRestShareTheOtherPeersEntry()
    {
        var bursts = Create(threshold: 4, maxPeers: 3);

        for (var i = 0; i < 10; i++)
        {
            bursts.Record($"ipv4:192.0.2.{i}:1234", AuthFailure.InvalidSignature);
        }

        Assert.Equal(3, bursts.TrackedPeers);

        // Peers 3 to 9 are counted together: seven rejections, over the threshold of four.
        var summary = Assert.Single(Summaries());
        Assert.Equal(RejectionBursts.OtherPeers, summary.GetStructuredStateValue("Peer"));
        Assert.Equal("4", summary.GetStructuredStateValue("Count"));
    }

    [Fact]
    public void Record_TableFullOfQuietPeers_DropsThemForNewOnes()
    {
        var bursts = Create(threshold: 4, maxPeers: 3);
        for (var i = 0; i < 3; i++)
        {
            bursts.Record($"ipv4:192.0.2.{i}:1234", AuthFailure.InvalidSignature);
        }

        _time.Advance(Interval);
        for (var i = 0; i < 4; i++)
        {
            bursts.Record(PeerA, AuthFailure.InvalidSignature);
        }

        Assert.Equal(1, bursts.TrackedPeers);
        Assert.Equal(["ipv4:203.0.113.7"], Summaries().Select(s => s.GetStructuredStateValue("Peer")));
    }

    [Fact]
    public void Record_ManyPeersAtOnce_TheTableStaysBounded()
    {
        var bursts = new RejectionBursts(_time, _logger);

        for (var i = 0; i < 5000; i++)
        {
            bursts.Record($"ipv4:10.{i / 65536}.{i / 256 % 256}.{i % 256}:443", AuthFailure.MalformedToken);
        }

        Assert.Equal(RejectionBursts.DefaultMaxPeers, bursts.TrackedPeers);
        Assert.Equal(RejectionBursts.OtherPeers, Assert.Single(Summaries()).GetStructuredStateValue("Peer"));
    }

    [Fact]
    public void Record_WarningDisabled_TracksNothing()
    {
        _logger.ControlLevel(LogLevel.Warning, enabled: false);
        var bursts = Create(threshold: 1);

        bursts.Record(PeerA, AuthFailure.InvalidSignature);

        Assert.Equal(0, bursts.TrackedPeers);
        Assert.Empty(_logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Constructor_Defaults_TenRejectionsPerMinuteAnd1024Peers()
    {
        var bursts = new RejectionBursts(_time, _logger);

        Assert.Equal(10, bursts.Threshold);
        Assert.Equal(Interval, bursts.Interval);
        Assert.Equal(1024, bursts.MaxPeers);
    }

    private RejectionBursts Create(int threshold, int maxPeers = RejectionBursts.DefaultMaxPeers) =>
        new(_time, _logger, Interval, threshold, maxPeers);

    private List<FakeLogRecord> Summaries() =>
        _logger.Collector.GetSnapshot().Where(record => record.Id.Name == "RejectionBurst").ToList();
}
