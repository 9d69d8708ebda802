using GrpcJwtAuth.Server;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Server;

public sealed class StreamExpiryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestServerCallContext _context = new("/pkg.Svc/Stream");
    private readonly List<StreamExpiry> _expiries = [];

    [Fact]
    public void Start_DeadlineReached_CancelsTheToken()
    {
        var expiry = Start(TimeSpan.FromMinutes(1));

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(expiry.Expired);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(expiry.Expired);
        Assert.True(expiry.Token.IsCancellationRequested);
    }

    [Fact]
    public void Extend_LaterDeadline_EndsAtTheNewDeadlineNotTheOld()
    {
        var expiry = Start(TimeSpan.FromMinutes(1));
        var later = _time.GetUtcNow() + TimeSpan.FromMinutes(5);

        Assert.True(expiry.Extend(later));

        Assert.Equal(later, expiry.Deadline);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(expiry.Expired);
        Assert.False(expiry.Token.IsCancellationRequested);
        _time.Advance(TimeSpan.FromMinutes(4) - TimeSpan.FromTicks(1));
        Assert.False(expiry.Expired);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(expiry.Expired);
        Assert.True(expiry.Token.IsCancellationRequested);
    }

    [Fact]
    public void Extend_EarlierDeadline_KeepsTheOldDeadlineAndReturnsTrue()
    {
        var expiry = Start(TimeSpan.FromMinutes(1));
        var deadline = expiry.Deadline;

        Assert.True(expiry.Extend(_time.GetUtcNow() + TimeSpan.FromSeconds(30)));

        Assert.Equal(deadline, expiry.Deadline);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.False(expiry.Expired);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(expiry.Expired);
    }

    [Fact]
    public void Extend_SameDeadline_ReturnsTrueAndKeepsIt()
    {
        var expiry = Start(TimeSpan.FromMinutes(1));
        var deadline = expiry.Deadline;

        Assert.True(expiry.Extend(deadline));

        Assert.Equal(deadline, expiry.Deadline);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(expiry.Expired);
    }

    [Fact]
    public void Extend_AfterExpiry_ReturnsFalseAndTheCallStaysEnded()
    {
        var expiry = Start(TimeSpan.FromMinutes(1));
        var deadline = expiry.Deadline;
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.False(expiry.Extend(_time.GetUtcNow() + TimeSpan.FromMinutes(10)));

        Assert.Equal(deadline, expiry.Deadline);
        Assert.True(expiry.Expired);
        Assert.True(expiry.Token.IsCancellationRequested);
    }

    [Fact]
    public void Extend_FarDeadline_EndsTheCallAfterLongestTimerSteps()
    {
        var expiry = Start(TimeSpan.FromMinutes(1));
        var far = _time.GetUtcNow() + (StreamExpiry.LongestTimer * 3) + TimeSpan.FromDays(5);

        Assert.True(expiry.Extend(far));

        // Each step fires a timer of at most LongestTimer, which checks the clock and waits again.
        while (_time.GetUtcNow() + StreamExpiry.LongestTimer < far)
        {
            _time.Advance(StreamExpiry.LongestTimer);
            Assert.False(expiry.Expired);
        }

        _time.Advance(far - _time.GetUtcNow() - TimeSpan.FromTicks(1));
        Assert.False(expiry.Expired);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(expiry.Expired);
        Assert.True(expiry.Token.IsCancellationRequested);
    }

    [Fact]
    public void Extend_TwiceLater_EndsAtTheLastDeadline()
    {
        var expiry = Start(TimeSpan.FromMinutes(1));
        Assert.True(expiry.Extend(_time.GetUtcNow() + TimeSpan.FromMinutes(2)));
        _time.Advance(TimeSpan.FromSeconds(90));

        Assert.True(expiry.Extend(_time.GetUtcNow() + TimeSpan.FromMinutes(2)));

        _time.Advance(TimeSpan.FromSeconds(90));
        Assert.False(expiry.Expired);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(expiry.Expired);
    }

    [Fact]
    public void Extend_AfterTheCallEnded_ReturnsFalse()
    {
        // The system clock's timer refuses changes once disposed; nothing here waits for it.
        var expiry = StreamExpiry.Start(_context, TimeProvider.System.GetUtcNow() + TimeSpan.FromHours(1), TimeProvider.System);
        expiry.Dispose();

        Assert.False(expiry.Extend(TimeProvider.System.GetUtcNow() + TimeSpan.FromHours(2)));
    }

    public void Dispose()
    {
        foreach (var expiry in _expiries)
        {
            expiry.Dispose();
        }
    }

    private StreamExpiry Start(TimeSpan lifetime)
    {
        var expiry = StreamExpiry.Start(_context, _time.GetUtcNow() + lifetime, _time);
        _expiries.Add(expiry);
        return expiry;
    }
}
