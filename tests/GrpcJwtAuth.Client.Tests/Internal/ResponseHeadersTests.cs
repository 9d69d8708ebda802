using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.Client.Tests.Infrastructure;

namespace GrpcJwtAuth.Client.Tests.Internal;

/// <summary>
/// <c>ResponseHeadersAsync</c> of unary calls made through the interceptor, over real calls to
/// <see cref="GrpcTestServer"/> (TLS, pinned certificate): headers come as the server sends them, from the attempt
/// that delivers the response, and a failed call gives what grpc-dotnet gives for the same call without the
/// interceptor. The server rejects a token with a trailers-only response (trailer <c>x-stage: rejected</c>), and
/// its <see cref="TestMethods.HeadersFirst"/> method sends <c>x-stage: headers</c> and <c>x-call: N</c> before it
/// waits for the test to let it answer.
/// </summary>
public sealed class ResponseHeadersTests : IClassFixture<GrpcTestServer>
{
    private readonly GrpcTestServer _server;
    private readonly FakeTokenSource _source = new(TimeProvider.System);

    public ResponseHeadersTests(GrpcTestServer server)
    {
        _server = server;
        _server.Reset();
    }

    [Fact]
    public async Task AsyncUnaryCall_ServerSendsHeadersBeforeAnswering_HeadersArriveBeforeTheResponse()
    {
        var held = _server.HoldAfterHeaders();
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        using var call = client.HeadersFirstAsync("you");
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();

        Assert.Equal("headers", headers.GetValue("x-stage"));
        Assert.Equal("1", headers.GetValue("x-call"));
        Assert.False(call.ResponseAsync.IsCompleted);

        held.Release();
        Assert.Equal("hello you", await call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal(["Bearer token-1"], Assert.Single(_server.Calls).Authorization);
    }

    [Fact]
    public async Task AsyncUnaryCall_RejectedThenRetried_HeadersAreTheRetrysBeforeItsResponse()
    {
        _server.Reject("token-1");
        var held = _server.HoldAfterHeaders();
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        using var call = client.HeadersFirstAsync("you");
        await held.HeadersSent;
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();

        Assert.Equal("headers", headers.GetValue("x-stage"));
        Assert.Equal("2", headers.GetValue("x-call"));
        Assert.False(call.ResponseAsync.IsCompleted);

        held.Release();
        Assert.Equal("hello you", await call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal([["Bearer token-1"], ["Bearer token-2"]], _server.Calls.Select(received => received.Authorization));
    }

    /// <summary>
    /// The limit of what the interceptor can know: grpc-dotnet completes the headers of a trailers-only response
    /// before it fails the call, so while the first attempt runs its headers are given as they come, and a
    /// rejection's headers cannot be told from those of a response still to come. Asked for again once the retry
    /// has started, the headers are the retry's.
    /// </summary>
    [Fact]
    public async Task AsyncUnaryCall_HeadersAskedForBeforeARejection_AreTheRejectedAttemptsAndTheCallIsStillRetried()
    {
        _server.Reject("token-1");
        var held = _server.HoldAfterHeaders();
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        using var call = client.HeadersFirstAsync("you");
        var early = call.ResponseHeadersAsync;
        await held.HeadersSent;

        Assert.Equal("rejected", (await early.DefaultTimeout()).GetValue("x-stage"));
        var late = await call.ResponseHeadersAsync.DefaultTimeout();
        Assert.Equal("headers", late.GetValue("x-stage"));
        Assert.Equal("2", late.GetValue("x-call"));

        held.Release();
        Assert.Equal("hello you", await call.ResponseAsync.DefaultTimeout());
    }

    [Fact]
    public async Task AsyncUnaryCall_RejectedAndNoOtherTokenToRetryWith_HeadersAndFailureAreThoseOfThePlainCall()
    {
        _source.Returns(_ => new AccessToken("same", DateTimeOffset.UtcNow.AddMinutes(10)));
        _server.Reject("same");
        using var channel = _server.CreateChannel();
        var plain = new ProbeClient(channel);
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        using var expected = plain.UnaryAsync("you");
        var expectedHeaders = await expected.ResponseHeadersAsync.DefaultTimeout();
        var expectedFailure = await Assert.ThrowsAsync<RpcException>(() => expected.ResponseAsync.DefaultTimeout());
        using var call = client.UnaryAsync("you");
        var early = call.ResponseHeadersAsync;
        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        var late = call.ResponseHeadersAsync;

        // grpc-dotnet gives a trailers-only response's metadata as its headers, without grpc-status and grpc-message.
        Assert.Equal("rejected", expectedHeaders.GetValue("x-stage"));
        Assert.Equal(Entries(expectedHeaders), Entries(await early.DefaultTimeout()));
        Assert.Equal(Entries(expectedHeaders), Entries(await late.DefaultTimeout()));
        Assert.Equal(Describe(expectedFailure.Status), Describe(failure.Status));
        Assert.Equal(Describe(expected.GetStatus()), Describe(call.GetStatus()));
        Assert.Equal(Entries(expected.GetTrailers()), Entries(call.GetTrailers()));
        Assert.Equal(2, _source.Calls);
        Assert.Equal(["Bearer same"], _server.Calls.Skip(1).Single().Authorization);
    }

    [Fact]
    public async Task AsyncUnaryCall_NoTokenCanBeHad_HeadersFailWithTheStatusOfTheCauseAsTheResponseDoes()
    {
        _source.Throws(new AccessTokenException(AccessTokenFailure.Refused, "no token for you"));
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        using var call = client.UnaryAsync("you");
        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseHeadersAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal("No access token: no token for you", failure.Status.Detail);
        Assert.Equal(Describe(failure.Status), Describe((await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout())).Status));
        Assert.Empty(_server.Calls);
    }

    [Fact]
    public async Task AsyncUnaryCall_DisposedWhileTheRetryWaitsToAnswer_CancelsTheRetry()
    {
        _server.Reject("token-1");
        var held = _server.HoldAfterHeaders();
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));
        var call = client.HeadersFirstAsync("you");
        await held.HeadersSent;
        Assert.Equal("2", (await call.ResponseHeadersAsync.DefaultTimeout()).GetValue("x-call"));

        call.Dispose();

        await held.Abandoned;

        // The failure itself is grpc-dotnet's, and it varies for a plain call too: "gRPC call disposed." or
        // "Error starting gRPC call. ObjectDisposedException", as disposal races the read of the response.
        await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal("Cancelled: gRPC call disposed.", Describe(call.GetStatus()));
        Assert.Equal(2, _server.Calls.Count);
    }

    [Fact]
    public async Task AsyncUnaryCall_FailsWithoutHeadersBeingRead_LeavesNoUnobservedTaskException()
    {
        var marker = Guid.NewGuid().ToString("N");
        var unobserved = new ConcurrentQueue<Exception>();
        void Record(object? sender, UnobservedTaskExceptionEventArgs args) => unobserved.Enqueue(args.Exception);
        TaskScheduler.UnobservedTaskException += Record;
        try
        {
            await FailAndForgetAsync(marker);
            await FailAndForgetAsync(marker, readHeaders: true, dispose: false);

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= Record;
        }

        Assert.DoesNotContain(unobserved, exception => exception.ToString().Contains(marker, StringComparison.Ordinal));
    }

    /// <summary>One call that fails before the server answers, the way a caller may leave it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task FailAndForgetAsync(string marker, bool readHeaders = false, bool dispose = true)
    {
        _source.Throws(new AccessTokenException(marker));
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));
        var call = client.UnaryAsync("you");
        if (readHeaders)
        {
            await Assert.ThrowsAsync<RpcException>(() => call.ResponseHeadersAsync.DefaultTimeout());
        }
        else
        {
            await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        }

        if (dispose)
        {
            call.Dispose();
        }
    }

    private static string Describe(Status status) => $"{status.StatusCode}: {status.Detail}";

    /// <summary>The entries of <paramref name="metadata"/> but <c>date</c>, which may differ between two responses.</summary>
    private static string[] Entries(Metadata metadata) =>
        [.. metadata.Where(entry => entry.Key != "date").Select(entry => $"{entry.Key}={entry.Value}")];
}
