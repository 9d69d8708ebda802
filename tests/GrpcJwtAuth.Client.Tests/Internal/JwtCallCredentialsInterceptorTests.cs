using Grpc.Core;
using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests.Internal;

/// <summary>
/// The interceptor without a network: its continuations are a <see cref="FakeTransport"/>, which runs the call
/// credentials the interceptor attached and answers each attempt with the status the test picks.
/// </summary>
public sealed class JwtCallCredentialsInterceptorTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly FakeTokenSource _source;
    private readonly FakeTransport _transport = new();
    private readonly RecordingLogger<JwtCallCredentialsInterceptor> _logger = new();

    public JwtCallCredentialsInterceptorTests()
    {
        _source = new FakeTokenSource(_time);
    }

    [Fact]
    public async Task AsyncUnaryCall_Succeeds_CarriesBearerTokenFromProvider()
    {
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        Assert.Equal("reply to attempt 1", await call.ResponseAsync.DefaultTimeout());
        var attempt = Assert.Single(_transport.Attempts);
        Assert.Equal(["Bearer token-1"], attempt.Authorization);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task AsyncUnaryCall_UnauthenticatedOnce_RetriesOnceWithNewToken()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        Assert.Equal("reply to attempt 2", await call.ResponseAsync.DefaultTimeout());
        Assert.Equal([["Bearer token-1"], ["Bearer token-2"]], _transport.Attempts.Select(attempt => attempt.Authorization));
        Assert.Equal(2, _source.Calls);

        // Status, trailers and headers are the retry's.
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal("2", call.GetTrailers().GetValue("attempt"));
        Assert.Equal("2", (await call.ResponseHeadersAsync.DefaultTimeout()).GetValue("attempt"));
        var retrying = Assert.Single(_logger.Entries, entry => entry.EventName == "RetryingAfterUnauthenticated");
        Assert.Equal(LogLevel.Information, retrying.Level);
        Assert.Contains("/test.Probe/Unary", retrying.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("token-", retrying.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AsyncUnaryCall_UnauthenticatedAgainAfterRetry_IsNotRetriedTwice()
    {
        _transport.Respond = _ => StatusCode.Unauthenticated;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal("attempt 2", failure.Status.Detail);
        Assert.Equal(2, _transport.Attempts.Count);
        Assert.Equal(2, _source.Calls);
        Assert.Equal("attempt 2", call.GetStatus().Detail);
    }

    [Fact]
    public async Task AsyncUnaryCall_RetryOnUnauthenticatedOff_DoesNotRetry()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor(options => options.RetryOnUnauthenticated = false);

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal("attempt 1", failure.Status.Detail);
        Assert.Single(_transport.Attempts);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task AsyncUnaryCall_FreshTokenEqualsTheSentOne_DoesNotRetry()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor(provider: new StaticAccessTokenProvider(new AccessToken("only-token", DateTimeOffset.MaxValue)));

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal("attempt 1", failure.Status.Detail);
        Assert.Equal(["Bearer only-token"], Assert.Single(_transport.Attempts).Authorization);
        Assert.Empty(_logger.Entries);
    }

    [Fact]
    public async Task AsyncUnaryCall_FreshTokenUnavailable_RethrowsTheRejection()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        _source.Does(call =>
        {
            if (call.Number == 1)
            {
                call.Complete(FakeTokenSource.DefaultLifetime);
            }
            else
            {
                call.Fail(new AccessTokenException("token endpoint down"));
            }
        });
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal("attempt 1", failure.Status.Detail);
        Assert.Single(_transport.Attempts);
        Assert.Equal(2, _source.Calls);
    }

    [Theory]
    [InlineData(StatusCode.PermissionDenied)]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.DeadlineExceeded)]
    [InlineData(StatusCode.Cancelled)]
    public async Task AsyncUnaryCall_OtherFailure_IsNotRetried(StatusCode status)
    {
        _transport.Respond = attempt => attempt.Number == 1 ? status : StatusCode.OK;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(status, failure.StatusCode);
        Assert.Single(_transport.Attempts);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task AsyncUnaryCall_CallerCancelled_IsNotRetried()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(options: new CallOptions(cancellationToken: cancellation.Token)), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Single(_transport.Attempts);
    }

    [Theory]
    [InlineData("authorization")]
    [InlineData("Authorization")]
    public async Task AsyncUnaryCall_ExplicitAuthorizationHeader_IsLeftAloneAndNotRetried(string headerName)
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();
        var headers = new Metadata { { headerName, "Bearer explicit" } };

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(options: new CallOptions(headers)), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        var attempt = Assert.Single(_transport.Attempts);
        Assert.Equal(["Bearer explicit"], attempt.Authorization);
        Assert.Null(attempt.Options.Credentials);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task AsyncUnaryCall_CallerCredentials_AreKeptAlongsideTheToken()
    {
        var apiKey = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("x-api-key", "key-1");
            return Task.CompletedTask;
        });
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(options: new CallOptions(credentials: apiKey)), _transport.UnaryCall);
        await call.ResponseAsync.DefaultTimeout();

        var sent = Assert.Single(_transport.Attempts).Sent;
        Assert.Equal("key-1", sent.GetValue("x-api-key"));
        Assert.Equal("Bearer token-1", sent.GetValue("authorization"));
    }

    [Fact]
    public async Task AsyncUnaryCall_InsecureChannelSkippedCredentials_ExplainsWhyNoTokenWasSent()
    {
        _transport.RunsCredentials = false;
        _transport.Respond = _ => StatusCode.Unauthenticated;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Contains("the channel is not secure (http://)", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("JwtCallCredentialsOptions.UnsafeAllowInsecureChannel", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("GrpcChannelOptions.UnsafeUseInsecureChannelCallCredentials", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("1", failure.Trailers.GetValue("attempt"));
        Assert.Empty(Assert.Single(_transport.Attempts).Authorization);
        Assert.Equal(0, _source.Calls);
        var warning = Assert.Single(_logger.Entries);
        Assert.Equal("TokenNotSentOnInsecureChannel", warning.EventName);
        Assert.Equal(LogLevel.Warning, warning.Level);
    }

    [Fact]
    public async Task AsyncUnaryCall_PlaintextServiceUrlWithoutOptIn_FailsWithoutSendingAToken()
    {
        // What grpc-dotnet does with UnsafeUseInsecureChannelCallCredentials but without our opt-in: the
        // credentials run, refuse, and the call fails with Internal before anything is sent.
        _transport.ServiceUrl = "http://host/test.Probe";
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("UnsafeAllowInsecureChannel", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(Assert.Single(_transport.Attempts).Authorization);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task AsyncUnaryCall_PlaintextServiceUrlWithOptIn_SendsTheToken()
    {
        _transport.ServiceUrl = "http://host/test.Probe";
        var interceptor = CreateInterceptor(options => options.UnsafeAllowInsecureChannel = true);

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        await call.ResponseAsync.DefaultTimeout();
        Assert.Equal(["Bearer token-1"], Assert.Single(_transport.Attempts).Authorization);
    }

    [Fact]
    public async Task AsyncUnaryCall_ProviderFails_CallFailsAndIsNotRetried()
    {
        _source.Throws(new AccessTokenException(AccessTokenFailure.Refused, "The token endpoint refused the request (HTTP 400): invalid_client."));
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal("No access token: The token endpoint refused the request (HTTP 400): invalid_client.", failure.Status.Detail);
        Assert.Single(_transport.Attempts);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task AsyncUnaryCall_Dispose_DisposesEveryAttempt()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();
        var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);
        await call.ResponseAsync.DefaultTimeout();

        call.Dispose();

        Assert.Equal(2, _transport.Disposed);
    }

    [Fact]
    public async Task AsyncUnaryCall_DisposedWhileFetchingAFreshToken_SendsNoRetryAndEndsWithTheRejection()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        _source.Does(call =>
        {
            if (call.Number == 1)
            {
                call.Complete(FakeTokenSource.DefaultLifetime);
            }
        });
        var interceptor = CreateInterceptor();
        var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);
        var fetch = await _source.WaitForCallAsync(2);

        call.Dispose();

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal("attempt 1", failure.Status.Detail);
        Assert.Equal(StatusCode.Unauthenticated, call.GetStatus().StatusCode);
        Assert.Equal("1", (await call.ResponseHeadersAsync.DefaultTimeout()).GetValue("attempt"));
        fetch.Complete(FakeTokenSource.DefaultLifetime);
        await fetch.Task.DefaultTimeout();
        Assert.Single(_transport.Attempts);
        Assert.Equal(1, _transport.Disposed);
    }

    [Fact]
    public async Task AsyncUnaryCall_FailedCall_HeadersAreStillAvailable()
    {
        _transport.Respond = _ => StatusCode.PermissionDenied;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);

        await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal("1", (await call.ResponseHeadersAsync.DefaultTimeout()).GetValue("attempt"));
    }

    [Fact]
    public async Task BlockingUnaryCall_UnauthenticatedOnce_RetriesOnceWithNewToken()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();

        var reply = await Task.Run(() => interceptor.BlockingUnaryCall("hi", FakeTransport.Context(), _transport.BlockingUnaryCall)).DefaultTimeout();

        Assert.Equal("reply to attempt 2", reply);
        Assert.Equal([["Bearer token-1"], ["Bearer token-2"]], _transport.Attempts.Select(attempt => attempt.Authorization));
    }

    [Fact]
    public async Task BlockingUnaryCall_UnauthenticatedAgain_IsNotRetriedTwice()
    {
        _transport.Respond = _ => StatusCode.Unauthenticated;
        var interceptor = CreateInterceptor();

        var failure = await Assert.ThrowsAsync<RpcException>(
            () => Task.Run(() => interceptor.BlockingUnaryCall("hi", FakeTransport.Context(), _transport.BlockingUnaryCall)).DefaultTimeout());

        Assert.Equal("attempt 2", failure.Status.Detail);
        Assert.Equal(2, _transport.Attempts.Count);
    }

    [Fact]
    public async Task BlockingUnaryCall_RetryOff_DoesNotRetry()
    {
        _transport.Respond = _ => StatusCode.Unauthenticated;
        var interceptor = CreateInterceptor(options => options.RetryOnUnauthenticated = false);

        await Assert.ThrowsAsync<RpcException>(
            () => Task.Run(() => interceptor.BlockingUnaryCall("hi", FakeTransport.Context(), _transport.BlockingUnaryCall)).DefaultTimeout());

        Assert.Single(_transport.Attempts);
    }

    [Fact]
    public async Task AsyncUnaryCall_InsecureChannelWithRetryOff_StillExplainsWhyNoTokenWasSent()
    {
        _transport.RunsCredentials = false;
        _transport.Respond = _ => StatusCode.Unauthenticated;
        var interceptor = CreateInterceptor(options => options.RetryOnUnauthenticated = false);

        var failure = await Assert.ThrowsAsync<RpcException>(
            () => interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall).ResponseAsync.DefaultTimeout());

        Assert.Contains("the channel is not secure", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Single(_transport.Attempts);
    }

    [Fact]
    public async Task BlockingUnaryCall_InsecureChannelSkippedCredentials_ExplainsWhyNoTokenWasSent()
    {
        _transport.RunsCredentials = false;
        _transport.Respond = _ => StatusCode.Unauthenticated;
        var interceptor = CreateInterceptor();

        var failure = await Assert.ThrowsAsync<RpcException>(
            () => Task.Run(() => interceptor.BlockingUnaryCall("hi", FakeTransport.Context(), _transport.BlockingUnaryCall)).DefaultTimeout());

        Assert.Contains("the channel is not secure", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Single(_transport.Attempts);
    }

    [Fact]
    public async Task AsyncServerStreamingCall_Unauthenticated_CarriedTheTokenAndIsNotRetried()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncServerStreamingCall("hi", FakeTransport.Context(MethodType.ServerStreaming), _transport.ServerStreamingCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal(["Bearer token-1"], Assert.Single(_transport.Attempts).Authorization);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task AsyncClientStreamingCall_Unauthenticated_CarriedTheTokenAndIsNotRetried()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncClientStreamingCall(FakeTransport.Context(MethodType.ClientStreaming), _transport.ClientStreamingCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal(["Bearer token-1"], Assert.Single(_transport.Attempts).Authorization);
    }

    [Fact]
    public async Task AsyncDuplexStreamingCall_Unauthenticated_CarriedTheTokenAndIsNotRetried()
    {
        _transport.Respond = attempt => attempt.Number == 1 ? StatusCode.Unauthenticated : StatusCode.OK;
        var interceptor = CreateInterceptor();

        using var call = interceptor.AsyncDuplexStreamingCall(FakeTransport.Context(MethodType.DuplexStreaming), _transport.DuplexStreamingCall);

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal(["Bearer token-1"], Assert.Single(_transport.Attempts).Authorization);
    }

    [Fact]
    public async Task AsyncDuplexStreamingCall_ExplicitAuthorizationHeader_IsLeftAlone()
    {
        var interceptor = CreateInterceptor();
        var headers = new Metadata { { "authorization", "Bearer explicit" } };

        using var call = interceptor.AsyncDuplexStreamingCall(
            FakeTransport.Context(MethodType.DuplexStreaming, new CallOptions(headers)), _transport.DuplexStreamingCall);

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(["Bearer explicit"], Assert.Single(_transport.Attempts).Authorization);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task AsyncUnaryCall_SuccessiveCalls_EachAsksTheProvider()
    {
        var interceptor = CreateInterceptor();

        for (var i = 0; i < 3; i++)
        {
            using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(), _transport.UnaryCall);
            await call.ResponseAsync.DefaultTimeout();
        }

        Assert.Equal([["Bearer token-1"], ["Bearer token-2"], ["Bearer token-3"]], _transport.Attempts.Select(attempt => attempt.Authorization));
    }

    [Fact]
    public async Task AsyncDuplexStreamingCall_ServerGivesACallId_IsRenewedBeforeItsTokenExpires()
    {
        var (interceptor, renewals) = CreateRenewingInterceptor();

        using var call = interceptor.AsyncDuplexStreamingCall(FakeTransport.Context(MethodType.DuplexStreaming), _transport.DuplexStreamingCall);
        await _logger.WaitForAsync("StreamRenewalScheduled");
        _time.Advance(TimeSpan.FromMinutes(9));

        var attempt = await renewals.WaitForAttemptAsync(1);
        Assert.Equal("Bearer token-2", attempt.Headers.GetValue("authorization"));
        Assert.Equal(new string('c', 43), attempt.CallId);
    }

    [Fact]
    public async Task AsyncDuplexStreamingCall_ResponseStreamEnds_StopsRenewing()
    {
        var (interceptor, renewals) = CreateRenewingInterceptor();
        using var call = interceptor.AsyncDuplexStreamingCall(FakeTransport.Context(MethodType.DuplexStreaming), _transport.DuplexStreamingCall);
        await _logger.WaitForAsync("StreamRenewalScheduled");

        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
        }

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(renewals.Attempts);
    }

    public static TheoryData<string, Func<Metadata, CallOptions>> OptOuts() => new()
    {
        { "CallOptions.WithoutStreamRenewal()", headers => new CallOptions(headers).WithoutStreamRenewal() },
        { "Metadata.WithoutStreamRenewal()", headers => new CallOptions(headers.WithoutStreamRenewal()) },
        { "marker in the middle", headers => new CallOptions(WithMarkerAt(headers, 1)) },
    };

    [Theory]
    [MemberData(nameof(OptOuts))]
    public async Task AsyncDuplexStreamingCall_WithoutStreamRenewal_MarkerIsNotSentAndNothingIsRenewed(string description, Func<Metadata, CallOptions> optOut)
    {
        var (interceptor, renewals) = CreateRenewingInterceptor();
        var options = optOut(new Metadata { { "a", "1" }, { "b", "2" }, { "a", "3" } });

        using var call = interceptor.AsyncDuplexStreamingCall(FakeTransport.Context(MethodType.DuplexStreaming, options), _transport.DuplexStreamingCall);
        Assert.Equal(new string('c', 43), (await call.ResponseHeadersAsync.DefaultTimeout()).GetValue("grpcjwtauth-call-id"));
        _time.Advance(TimeSpan.FromHours(1));

        var sent = Assert.Single(_transport.Attempts);
        Assert.Equal(["a=1", "b=2", "a=3"], sent.Options.Headers!.Select(entry => $"{entry.Key}={entry.Value}"));
        Assert.Equal(["a=1", "b=2", "a=3", "authorization=Bearer token-1"], sent.Sent.Select(entry => $"{entry.Key}={entry.Value}"));
        Assert.Empty(renewals.Attempts);
        Assert.Equal(0, _logger.Count("StreamRenewalScheduled"));
        Assert.Equal(1, _source.Calls);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout(), description);
    }

    [Fact]
    public async Task AsyncServerStreamingCall_WithoutStreamRenewal_MarkerIsNotSent()
    {
        var (interceptor, renewals) = CreateRenewingInterceptor();

        using var call = interceptor.AsyncServerStreamingCall(
            "hi", FakeTransport.Context(MethodType.ServerStreaming, new CallOptions().WithoutStreamRenewal()), _transport.ServerStreamingCall);
        await call.ResponseHeadersAsync.DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Empty(Assert.Single(_transport.Attempts).Options.Headers!);
        Assert.Empty(renewals.Attempts);
    }

    [Fact]
    public async Task AsyncClientStreamingCall_WithoutStreamRenewal_MarkerIsNotSent()
    {
        var (interceptor, renewals) = CreateRenewingInterceptor();

        using var call = interceptor.AsyncClientStreamingCall(
            FakeTransport.Context(MethodType.ClientStreaming, new CallOptions().WithoutStreamRenewal()), _transport.ClientStreamingCall);
        await call.ResponseAsync.DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Empty(Assert.Single(_transport.Attempts).Options.Headers!);
        Assert.Empty(renewals.Attempts);
    }

    [Fact]
    public async Task AsyncUnaryCall_WithoutStreamRenewal_MarkerIsNotSent()
    {
        var (interceptor, _) = CreateRenewingInterceptor();
        var headers = new Metadata { { "a", "1" } };

        using var call = interceptor.AsyncUnaryCall("hi", FakeTransport.Context(options: new CallOptions(headers).WithoutStreamRenewal()), _transport.UnaryCall);
        await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(["a=1", "authorization=Bearer token-1"], Assert.Single(_transport.Attempts).Sent.Select(entry => $"{entry.Key}={entry.Value}"));
    }

    [Fact]
    public async Task BlockingUnaryCall_WithoutStreamRenewal_MarkerIsNotSent()
    {
        var (interceptor, _) = CreateRenewingInterceptor();

        await Task.Run(() => interceptor.BlockingUnaryCall(
            "hi", FakeTransport.Context(options: new CallOptions().WithoutStreamRenewal()), _transport.BlockingUnaryCall)).DefaultTimeout();

        Assert.Equal(["authorization=Bearer token-1"], Assert.Single(_transport.Attempts).Sent.Select(entry => $"{entry.Key}={entry.Value}"));
    }

    private (JwtCallCredentialsInterceptor Interceptor, FakeRenewalInvoker Renewals) CreateRenewingInterceptor()
    {
        _transport.ResponseHeaders.Add("grpcjwtauth-call-id", new string('c', 43));
        var renewals = new FakeRenewalInvoker(_time);
        return (new JwtCallCredentialsInterceptor(_source, new JwtCallCredentialsOptions(), _logger, () => renewals, _time), renewals);
    }

    private static Metadata WithMarkerAt(Metadata headers, int index)
    {
        var marked = new Metadata();
        for (var i = 0; i < headers.Count; i++)
        {
            if (i == index)
            {
                marked.WithoutStreamRenewal();
            }

            marked.Add(headers[i]);
        }

        return marked;
    }

    private JwtCallCredentialsInterceptor CreateInterceptor(Action<JwtCallCredentialsOptions>? configure = null, IAccessTokenProvider? provider = null)
    {
        var options = new JwtCallCredentialsOptions();
        configure?.Invoke(options);
        return new JwtCallCredentialsInterceptor(provider ?? _source, options, _logger);
    }
}
