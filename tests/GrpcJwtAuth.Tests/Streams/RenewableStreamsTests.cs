using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Streams;
using GrpcJwtAuth.Tests.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Streams;

public sealed class RenewableStreamsTests : IDisposable
{
    private const string Method = "/pkg.Svc/Stream";

    private readonly FakeTimeProvider _time = new();
    private readonly List<StreamExpiry> _expiries = [];

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Find_NoId_ReturnsNull(string? callId)
    {
        var streams = Create();

        Assert.Null(streams.Find(callId));
    }

    [Theory]
    [InlineData(42)]
    [InlineData(44)]
    [InlineData(10_000)]
    public void Find_WrongLength_ReturnsNull(int length)
    {
        var streams = Create();
        Register(streams);

        Assert.Null(streams.Find(new string('A', length)));
    }

    [Fact]
    public void Find_UnknownIdOfTheRightLength_ReturnsNull()
    {
        var streams = Create();
        Register(streams);

        Assert.Null(streams.Find(new string('A', RenewableStreams.CallIdLength)));
    }

    [Fact]
    public void Find_RegisteredId_ReturnsItsStream()
    {
        var streams = Create();

        var stream = Register(streams);

        Assert.NotNull(stream);
        Assert.Equal(RenewableStreams.CallIdLength, stream.CallId.Length);
        Assert.Same(stream, streams.Find(stream.CallId));
        Assert.Null(streams.Find((stream.CallId[0] == 'A' ? "B" : "A") + stream.CallId[1..]));
        Assert.Equal(1, streams.Count);
    }

    [Fact]
    public void Register_NotEnabled_ReturnsNull()
    {
        var streams = Create(enabled: false);

        Assert.Null(Register(streams));
        Assert.Equal(0, streams.Count);
    }

    [Fact]
    public void Register_CallerWithoutSubject_ReturnsNull()
    {
        var streams = Create();

        Assert.Null(Register(streams, StreamOwnerTests.Caller(sub: null)));
        Assert.Equal(0, streams.Count);
    }

    [Fact]
    public void Register_PolicyOfAnotherScheme_ReturnsNull()
    {
        var streams = Create();
        var policy = new AuthorizationPolicyBuilder("Cookies").RequireAuthenticatedUser().Build();

        Assert.Null(Register(streams, authorization: Authorization(policy)));
        Assert.Equal(0, streams.Count);
    }

    [Fact]
    public void Register_TableFull_ReturnsNullAndKeepsTheCount()
    {
        var streams = Create(maxStreams: 2);
        var first = Register(streams);
        Assert.NotNull(Register(streams));

        Assert.Null(Register(streams));

        Assert.Equal(2, streams.Count);
        Assert.Same(first, streams.Find(first!.CallId));
    }

    [Fact]
    public void Register_ZeroCapacity_ReturnsNull()
    {
        var streams = Create(maxStreams: 0);

        Assert.Null(Register(streams));
        Assert.Equal(0, streams.Count);
    }

    [Fact]
    public async Task Register_AfterAStreamEnded_HasRoomAgainAndForgetsTheOldId()
    {
        var streams = Create(maxStreams: 1);
        var first = Register(streams)!;

        await first.EndAsync();

        Assert.Null(streams.Find(first.CallId));
        Assert.Equal(0, streams.Count);
        var second = Register(streams);
        Assert.NotNull(second);
        Assert.NotEqual(first.CallId, second.CallId);
    }

    [Fact]
    public async Task Remove_Twice_CountsOnce()
    {
        var streams = Create();
        var first = Register(streams)!;
        Register(streams);

        await first.EndAsync();
        await first.EndAsync();

        Assert.Equal(1, streams.Count);
    }

    public void Dispose()
    {
        foreach (var expiry in _expiries)
        {
            expiry.Dispose();
        }
    }

    private RenewableStreams Create(bool enabled = true, int maxStreams = 100)
    {
        var options = new GrpcJwtAuthOptions { MaxRenewableStreams = maxStreams };
        var issuer = new GrpcJwtAuthIssuerOptions { JwksUri = "https://keys.test/jwks" };
        issuer.Issuers.Add("https://issuer.test");
        options.TrustedIssuers["default"] = issuer;
        return new RenewableStreams(CompiledAuthOptions.Create(options, _time), _time) { Enabled = enabled };
    }

    private RenewableStream? Register(RenewableStreams streams, JwtCaller? caller = null, EndpointAuthorization? authorization = null)
    {
        var context = new TestServerCallContext(Method);
        var expiry = StreamExpiry.Start(context, _time.GetUtcNow() + TimeSpan.FromMinutes(5), _time);
        _expiries.Add(expiry);
        return streams.Register(context, expiry, caller ?? StreamOwnerTests.Caller(), authorization ?? Authorization(policy: null), resource: null);
    }

    private static EndpointAuthorization Authorization(AuthorizationPolicy? policy) =>
        new(Method, rule: null, policy, metadataPolicy: null, rulePolicy: null, new Dictionary<IAuthorizationRequirement, string>());
}
