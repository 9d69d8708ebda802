using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Protocol.V1;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>Live streams renewed with fresh tokens (<c>MapGrpcJwtAuthStreamRenewal()</c>), on a fake clock, over TLS.</summary>
public class StreamRenewalTests : IntegrationTest
{
    private const string CallIdHeader = "grpcjwtauth-call-id";
    private const string UnknownStream = "no live stream with this call id for this caller";
    private const string TokenExpiredDuringCall = "token expired during the call; start a new call with a fresh token";

    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));

    private TestTokenFactory Tokens => new(_clock);

    private static Action<GrpcJwtAuthOptions> Options(Action<GrpcJwtAuthOptions>? more = null) => options =>
    {
        TestKeys.StaticOptions(TestKeys.Primary)(options);
        options.ClockSkew = ClockSkew;
        more?.Invoke(options);
    };

    private Task<GrpcTestServer> StartAsync(Action<GrpcJwtAuthOptions>? more = null, bool mapRenewal = true, Action<WebApplication>? app = null) =>
        StartServerAsync(Options(more), timeProvider: _clock, configureApp: built =>
        {
            app?.Invoke(built);
            if (mapRenewal)
            {
                built.MapGrpcJwtAuthStreamRenewal();
            }
        });

    private string Token(string subject = "alice", string[]? roles = null, TimeSpan? lifetime = null, IDictionary<string, object>? claims = null)
    {
        var all = new Dictionary<string, object>(claims ?? new Dictionary<string, object>());
        if (roles is not null)
        {
            all["roles"] = roles;
        }

        return Tokens.Create(TestKeys.Primary, subject: subject, lifetime: lifetime ?? Lifetime, claims: all);
    }

    private static async Task<ProbeReply> EchoAsync(AsyncDuplexStreamingCall<ProbeRequest, ProbeReply> call, string name)
    {
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = name }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(name, call.ResponseStream.Current.Message);
        return call.ResponseStream.Current;
    }

    /// <summary>Starts a duplex stream with <paramref name="token"/> and no automatic renewal; returns it and its call id.</summary>
    private static async Task<(AsyncDuplexStreamingCall<ProbeRequest, ProbeReply> Call, string CallId)> StartStreamAsync(GrpcTestServer server, string token)
    {
        var call = server.Probe.Duplex(Auth.Bearer(token));
        await EchoAsync(call, "one");
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();
        var callId = headers.GetValue(CallIdHeader);
        Assert.False(string.IsNullOrEmpty(callId));
        return (call, callId!);
    }

    /// <summary>A client on its own channel whose calls carry tokens from <paramref name="source"/> and renew their streams on the test's clock.</summary>
    private Probe.ProbeClient RenewingClient(GrpcTestServer server, IAccessTokenProvider source) =>
        new(server.CreateChannel().AddJwtCallCredentials(source, options => options.TimeProvider = _clock, server.ClientLoggerFactory));

    private static Task<RenewStreamReply> RenewAsync(GrpcTestServer server, string callId, string? token) =>
        new StreamRenewal.StreamRenewalClient(server.Channel)
            .RenewAsync(new RenewStreamRequest { CallId = callId }, token is null ? Auth.None : Auth.Bearer(token)).ResponseAsync.DefaultTimeout();

    private async Task AssertEndsAtAsync(AsyncDuplexStreamingCall<ProbeRequest, ProbeReply> call, DateTimeOffset end, string token)
    {
        _clock.Advance(end - _clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        await EchoAsync(call, "still here");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await Rejection.AssertAsync(() => call.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unauthenticated, TokenExpiredDuringCall, token);
    }

    [Fact]
    public async Task Bidi_stream_lives_through_three_token_lifetimes_renewed_automatically()
    {
        var server = await StartAsync();
        var source = new MintingTokenSource(() => Token(), _clock);
        var client = RenewingClient(server, source);
        var started = _clock.GetUtcNow();

        using var call = client.Duplex();
        Assert.Equal("alice", (await EchoAsync(call, "one")).Subject);

        // Each token lives a minute; the client renews half way through (lead = min(1 min, half the lifetime)).
        // Three lifetimes, each one's clock skew included: no token the stream had could have lasted it.
        var renewals = 0;
        while (_clock.GetUtcNow() - started <= 3 * (Lifetime + ClockSkew))
        {
            await server.Logs.WaitForEventCountAsync("StreamRenewalScheduled", renewals + 1).DefaultTimeout();
            _clock.Advance(Lifetime / 2);
            renewals++;
            await server.Logs.WaitForEventCountAsync("StreamRenewed", renewals).DefaultTimeout();
            Assert.Equal("alice", (await EchoAsync(call, $"after renewal {renewals}")).Subject);
        }

        Assert.Equal(10, renewals);
        Assert.Equal(1 + renewals, source.Issued);
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Client_from_the_factory_renews_its_streams_over_the_connection_of_the_stream()
    {
        var connections = new System.Collections.Concurrent.ConcurrentQueue<(string Path, string Connection)>();
        var server = await StartAsync(app: app => app.Use((context, next) =>
        {
            connections.Enqueue((context.Request.Path.Value ?? string.Empty, context.Connection.Id));
            return next(context);
        }));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(server.Logs.CreateProvider()));
        services.AddAccessTokenProvider((_, _) => ValueTask.FromResult(AccessToken.FromJwt(Token())));
        services.AddGrpcClient<Probe.ProbeClient>(options => options.Address = server.Address)
            .ConfigurePrimaryHttpMessageHandler(server.Certificate.CreatePinnedHandler)
            .AddJwtCallCredentials();
        await using var provider = services.BuildServiceProvider();
        var started = _clock.GetUtcNow();

        using var call = provider.GetRequiredService<Probe.ProbeClient>().Duplex();
        await EchoAsync(call, "one");
        for (var renewals = 1; renewals <= 3; renewals++)
        {
            await server.Logs.WaitForEventCountAsync("StreamRenewalScheduled", renewals).DefaultTimeout();
            _clock.Advance(Lifetime / 2);
            await server.Logs.WaitForEventCountAsync("StreamRenewed", renewals).DefaultTimeout();
        }

        // The first token's end (exp + skew) has passed.
        Assert.True(_clock.GetUtcNow() - started >= Lifetime + ClockSkew);
        await EchoAsync(call, "two");
        var stream = Assert.Single(connections, entry => entry.Path == "/test.Probe/Duplex");
        Assert.Equal(3, connections.Count(entry => entry.Path == "/grpcjwtauth.v1.StreamRenewal/Renew"));
        Assert.All(connections, entry => Assert.Equal(stream.Connection, entry.Connection));

        // Nor does the renewal channel open a connection of its own: an idle socket that never starts TLS holds the
        // server's graceful stop until Kestrel's handshake timeout.
        Assert.Single(server.Logs.WithEvent("ConnectionStart"));
    }

    [Fact]
    public async Task Renewal_moves_the_end_to_the_fresh_tokens_exp_plus_skew_and_handlers_see_the_fresh_principal()
    {
        var server = await StartAsync();
        var first = Token(roles: ["reader"]);
        var (call, callId) = await StartStreamAsync(server, first);
        using var _ = call;

        _clock.Advance(TimeSpan.FromSeconds(40));
        var fresh = Token(roles: ["reader", "admin"]);
        var reply = await RenewAsync(server, callId, fresh);

        var expected = _clock.GetUtcNow() + Lifetime + ClockSkew;
        Assert.Equal(expected, reply.AcceptedUntil.ToDateTimeOffset());
        var seen = await EchoAsync(call, "two");
        Assert.Equal(["reader", "admin"], seen.Roles);
        Assert.True(seen.IsInRoleAdmin);

        // Past the first token's end, the stream runs on; it ends at the fresh one's.
        await AssertEndsAtAsync(call, expected, fresh);
    }

    [Fact]
    public async Task Renewal_with_another_subjects_token_is_refused_like_an_unknown_id_and_the_stream_still_ends_on_time()
    {
        var server = await StartAsync();
        var token = Token("alice");
        var (call, callId) = await StartStreamAsync(server, token);
        using var _ = call;
        var end = _clock.GetUtcNow() + Lifetime + ClockSkew;

        var foreign = await Rejection.AssertAsync(() => RenewAsync(server, callId, Token("bob")), StatusCode.NotFound, UnknownStream);
        var unknown = await Rejection.AssertAsync(() => RenewAsync(server, new string('A', 43), Token("alice")), StatusCode.NotFound, UnknownStream);
        var malformed = await Rejection.AssertAsync(() => RenewAsync(server, callId + "x", Token("alice")), StatusCode.NotFound, UnknownStream);
        Assert.Equal(unknown.Status, foreign.Status);
        Assert.Equal(unknown.Status, malformed.Status);
        Assert.Equal(unknown.Trailers.Select(entry => entry.Key), foreign.Trailers.Select(entry => entry.Key));

        await AssertEndsAtAsync(call, end, token);
    }

    [Theory]
    [InlineData("azp", "other-client")]
    [InlineData("client_id", "other-client")]
    [InlineData("cnf", "{\"jkt\":\"other-key\"}")]
    public async Task Renewal_with_the_same_subject_but_another_client_or_binding_is_refused(string claim, string value)
    {
        var server = await StartAsync();
        var claims = new Dictionary<string, object> { ["azp"] = "app", ["client_id"] = "app", ["cnf"] = new Dictionary<string, object> { ["jkt"] = "key" } };
        var (call, callId) = await StartStreamAsync(server, Token(claims: claims));
        using var _ = call;

        claims[claim] = claim == "cnf" ? new Dictionary<string, object> { ["jkt"] = "other-key" } : value;
        await Rejection.AssertAsync(() => RenewAsync(server, callId, Token(claims: claims)), StatusCode.NotFound, UnknownStream);

        // The same token parts renew.
        claims[claim] = claim == "cnf" ? new Dictionary<string, object> { ["jkt"] = "key" } : "app";
        _clock.Advance(TimeSpan.FromSeconds(1));
        await RenewAsync(server, callId, Token(claims: claims));
    }

    [Fact]
    public async Task Renewal_with_a_token_lacking_the_role_the_method_requires_is_refused_and_the_stream_still_ends_on_time()
    {
        var server = await StartAsync(options => options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Duplex", Roles = { "streamer" } }));
        var token = Token(roles: ["streamer"]);
        var (call, callId) = await StartStreamAsync(server, token);
        using var _ = call;
        var end = _clock.GetUtcNow() + Lifetime + ClockSkew;

        _clock.Advance(TimeSpan.FromSeconds(30));
        await Rejection.AssertAsync(() => RenewAsync(server, callId, Token(roles: ["reader"])), StatusCode.PermissionDenied, "missing required role");

        await AssertEndsAtAsync(call, end, token);
    }

    [Fact]
    public async Task Call_id_without_a_valid_token_is_useless()
    {
        var server = await StartAsync();
        var token = Token();
        var (call, callId) = await StartStreamAsync(server, token);
        using var _ = call;
        var end = _clock.GetUtcNow() + Lifetime + ClockSkew;

        await Rejection.AssertAsync(() => RenewAsync(server, callId, token: null), StatusCode.Unauthenticated, Details.MissingToken);
        var expired = Tokens.Create(TestKeys.Primary, subject: "alice", lifetime: -TimeSpan.FromMinutes(5));
        var rejected = await Assert.ThrowsAsync<RpcException>(() => RenewAsync(server, callId, expired));
        Assert.Equal(StatusCode.Unauthenticated, rejected.StatusCode);
        Details.AssertMatches(Details.TokenExpired, rejected.Status.Detail);
        var otherKey = Tokens.Create(TestKeys.Impostor, subject: "alice", lifetime: Lifetime * 10);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => RenewAsync(server, callId, otherKey))).StatusCode);
        var tampered = token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA");
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => RenewAsync(server, callId, tampered))).StatusCode);

        await AssertEndsAtAsync(call, end, token);
    }

    [Fact]
    public async Task Renewal_with_a_token_that_does_not_expire_later_is_refused_with_the_reason()
    {
        var server = await StartAsync();
        var token = Token(lifetime: TimeSpan.FromMinutes(5));
        var (call, callId) = await StartStreamAsync(server, token);
        using var _ = call;

        await Rejection.AssertAsync(
            () => RenewAsync(server, callId, Token(lifetime: TimeSpan.FromMinutes(4))), StatusCode.FailedPrecondition,
            "the token does not expire later than the one the stream runs on; renew with a newer token");
        await Rejection.AssertAsync(
            () => RenewAsync(server, callId, token), StatusCode.FailedPrecondition,
            "the token does not expire later than the one the stream runs on; renew with a newer token");
    }

    [Fact]
    public async Task Renewals_of_one_stream_are_rate_limited_per_minute()
    {
        var server = await StartAsync(options => options.StreamRenewalsPerMinute = 3);
        var (call, callId) = await StartStreamAsync(server, Token());
        using var _ = call;

        for (var i = 1; i <= 3; i++)
        {
            await RenewAsync(server, callId, Token(lifetime: Lifetime + TimeSpan.FromSeconds(i)));
        }

        await Rejection.AssertAsync(
            () => RenewAsync(server, callId, Token(lifetime: Lifetime + TimeSpan.FromSeconds(4))), StatusCode.ResourceExhausted,
            "too many renewals of this stream: at most 3 a minute; retry later");

        // Another caller's attempts are not counted against the stream, and the limit lifts after a minute.
        _clock.Advance(TimeSpan.FromMinutes(1));
        await Rejection.AssertAsync(() => RenewAsync(server, callId, Token("mallory")), StatusCode.NotFound, UnknownStream);
        await RenewAsync(server, callId, Token(lifetime: Lifetime + TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Call_ids_live_only_as_long_as_their_call_and_the_table_is_bounded()
    {
        var server = await StartAsync(options => options.MaxRenewableStreams = 1);
        var (first, callId) = await StartStreamAsync(server, Token());

        // The table is full: a second stream runs, without a call id.
        using (var second = server.Probe.Duplex(Auth.Bearer(Token())))
        {
            await EchoAsync(second, "one");
            Assert.Null((await second.ResponseHeadersAsync.DefaultTimeout()).GetValue(CallIdHeader));
            await second.RequestStream.CompleteAsync().DefaultTimeout();
            Assert.False(await second.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        }

        await first.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await first.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        first.Dispose();

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Rejection.AssertAsync(() => RenewAsync(server, callId, Token()), StatusCode.NotFound, UnknownStream);
        var (third, thirdId) = await StartStreamAsync(server, Token());
        using var _ = third;
        Assert.NotEqual(callId, thirdId);
    }

    [Fact]
    public async Task Without_the_renewal_service_mapped_streams_get_no_call_id()
    {
        var server = await StartAsync(mapRenewal: false);
        using var call = server.Probe.Duplex(Auth.Bearer(Token()));
        await EchoAsync(call, "one");

        Assert.Null((await call.ResponseHeadersAsync.DefaultTimeout()).GetValue(CallIdHeader));
    }

    [Fact]
    public async Task Stream_whose_handler_writes_nothing_gets_its_call_id_after_a_second()
    {
        var server = await StartAsync();
        using var call = server.Probe.ClientStream(Auth.Bearer(Token()));
        await call.RequestStream.WriteAsync(new ProbeRequest { Name = "one" }).DefaultTimeout();
        await server.Entries.WaitForAsync("ClientStream").DefaultTimeout();
        var headers = call.ResponseHeadersAsync;
        Assert.False(headers.IsCompleted);

        _clock.Advance(TimeSpan.FromSeconds(1));
        var callId = (await headers.DefaultTimeout()).GetValue(CallIdHeader);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await RenewAsync(server, callId!, Token());
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.Equal("1", (await call.ResponseAsync.DefaultTimeout()).Message);
    }

    [Fact]
    public async Task Client_does_not_renew_a_call_made_WithoutStreamRenewal()
    {
        var server = await StartAsync();
        var source = new MintingTokenSource(() => Token(), _clock);
        var client = RenewingClient(server, source);

        using var call = client.Duplex(new CallOptions().WithoutStreamRenewal());
        await EchoAsync(call, "one");
        Assert.Empty(server.Logs.WithEvent("StreamRenewalScheduled"));

        _clock.Advance(Lifetime + ClockSkew);
        await Rejection.AssertAsync(() => call.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unauthenticated, TokenExpiredDuringCall);
        Assert.Equal(1, source.Issued);
        Assert.Empty(server.Logs.WithEvent("StreamRenewed"));
    }

    [Fact]
    public async Task Client_retries_a_failed_renewal_with_backoff_until_it_succeeds()
    {
        var server = await StartAsync();
        var source = new MintingTokenSource(() => Token(), _clock) { FailuresBeforeNextToken = 2 };
        var client = RenewingClient(server, source);
        using var call = client.Duplex();
        await EchoAsync(call, "one");

        await server.Logs.WaitForEventCountAsync("StreamRenewalScheduled", 1).DefaultTimeout();
        _clock.Advance(Lifetime / 2);
        await server.Logs.WaitForEventCountAsync("StreamRenewalFailed", 1).DefaultTimeout();
        _clock.Advance(TimeSpan.FromSeconds(1));
        await server.Logs.WaitForEventCountAsync("StreamRenewalFailed", 2).DefaultTimeout();
        _clock.Advance(TimeSpan.FromSeconds(2));
        await server.Logs.WaitForEventCountAsync("StreamRenewed", 1).DefaultTimeout();

        // Past the first token's end the stream runs on.
        _clock.Advance(Lifetime / 2 + ClockSkew);
        await EchoAsync(call, "two");
    }

    [Fact]
    public async Task Client_stops_renewing_when_the_server_refuses_and_the_stream_ends_at_its_tokens_end()
    {
        var server = await StartAsync();
        var subjects = new Queue<string>(["alice", "bob"]);
        var source = new MintingTokenSource(() => Token(subjects.Count > 0 ? subjects.Dequeue() : "bob"), _clock);
        var client = RenewingClient(server, source);
        using var call = client.Duplex();
        await EchoAsync(call, "one");

        await server.Logs.WaitForEventCountAsync("StreamRenewalScheduled", 1).DefaultTimeout();
        _clock.Advance(Lifetime / 2);
        await server.Logs.WaitForEventCountAsync("StreamRenewalStopped", 1).DefaultTimeout();
        Assert.Contains("NotFound", server.Logs.WithEvent("StreamRenewalStopped")[0].Message, StringComparison.Ordinal);

        _clock.Advance(Lifetime / 2 + ClockSkew);
        await Rejection.AssertAsync(() => call.ResponseStream.MoveNext(CancellationToken.None), StatusCode.Unauthenticated, TokenExpiredDuringCall);
    }

    /// <summary>A token source that mints a new token on every request, optionally failing first.</summary>
    private sealed class MintingTokenSource(Func<string> mint, TimeProvider clock) : IAccessTokenProvider
    {
        private int _issued;

        public int Issued => Volatile.Read(ref _issued);

        /// <summary>How many fresh-token requests fail, as an unreachable identity provider would, before one succeeds.</summary>
        public int FailuresBeforeNextToken { get; set; }

        public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _issued);
            return ValueTask.FromResult(AccessToken.FromJwt(mint(), clock.GetUtcNow() + TimeSpan.FromHours(1)));
        }

        public ValueTask<AccessToken> GetFreshTokenAsync(AccessToken rejected, CancellationToken cancellationToken = default)
        {
            if (FailuresBeforeNextToken > 0)
            {
                FailuresBeforeNextToken--;
                throw new AccessTokenException(AccessTokenFailure.Unavailable, "the identity provider could not be reached");
            }

            return GetTokenAsync(cancellationToken);
        }
    }
}
