using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Tests;

/// <summary>
/// Real calls through grpc-dotnet to <see cref="GrpcTestServer"/>: TLS with a pinned certificate, or plaintext
/// HTTP/2 where a test is about insecure channels.
/// </summary>
public sealed class JwtCallCredentialsExtensionsTests : IClassFixture<GrpcTestServer>
{
    private readonly GrpcTestServer _server;
    private readonly FakeTokenSource _source = new(TimeProvider.System);
    private readonly RecordingLoggerFactory _loggerFactory = new();

    public JwtCallCredentialsExtensionsTests(GrpcTestServer server)
    {
        _server = server;
        _server.Reset();
    }

    [Fact]
    public async Task CallInvoker_TlsUnaryCall_CarriesTheBearerToken()
    {
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        Assert.Equal("hello you", await client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        var call = Assert.Single(_server.Calls);
        Assert.Equal("/test.Probe/Unary", call.Method);
        Assert.Equal(["Bearer token-1"], call.Authorization);
        Assert.True(call.OverTls);
    }

    [Fact]
    public async Task CallInvoker_ServerRejectsFirstToken_RetriesOnceWithNewToken()
    {
        _server.Reject("token-1");
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source, configure: null, _loggerFactory));

        using var call = client.UnaryAsync("you");

        Assert.Equal("hello you", await call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal([["Bearer token-1"], ["Bearer token-2"]], _server.Calls.Select(received => received.Authorization));
        Assert.Equal(2, _source.Calls);
        Assert.Equal(1, _loggerFactory.Logger.Count("RetryingAfterUnauthenticated"));
    }

    [Fact]
    public async Task CallInvoker_ServerRejectsEveryToken_RetriesOnlyOnce()
    {
        _server.Reject("token-1", "token-2", "token-3");
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal("token rejected by the test server", failure.Status.Detail);
        Assert.Equal(2, _server.Calls.Count);
        Assert.Equal(2, _source.Calls);
    }

    [Fact]
    public async Task CallInvoker_RetryOnUnauthenticatedOff_DoesNotRetry()
    {
        _server.Reject("token-1");
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source, options => options.RetryOnUnauthenticated = false, null));

        await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Single(_server.Calls);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task CallInvoker_ProviderHasNoOtherToken_DoesNotRetry()
    {
        _server.Reject("only-token");
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(new StaticAccessTokenProvider("only-token")));

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal(["Bearer only-token"], Assert.Single(_server.Calls).Authorization);
    }

    [Fact]
    public async Task CallInvoker_BlockingUnaryCall_RetriesOnceWithNewToken()
    {
        _server.Reject("token-1");
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        var reply = await Task.Run(() => client.Unary("you")).DefaultTimeout();

        Assert.Equal("hello you", reply);
        Assert.Equal([["Bearer token-1"], ["Bearer token-2"]], _server.Calls.Select(received => received.Authorization));
    }

    [Fact]
    public async Task CallInvoker_ServerStreamingCall_CarriesTheToken()
    {
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        using var call = client.ServerStreaming("you");

        Assert.Equal(["hello you", "bye"], await ReadAllAsync(call.ResponseStream).DefaultTimeout());
        Assert.Equal(["Bearer token-1"], Assert.Single(_server.Calls).Authorization);
    }

    [Fact]
    public async Task CallInvoker_ServerStreamingCallRejected_IsNotRetried()
    {
        _server.Reject("token-1");
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        using var call = client.ServerStreaming("you");

        var failure = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(call.ResponseStream).DefaultTimeout());
        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Single(_server.Calls);
        Assert.Equal(1, _source.Calls);
    }

    [Fact]
    public async Task CallInvoker_ExplicitAuthorizationHeader_IsSentAloneAndUntouched()
    {
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        await client.UnaryAsync("you", new CallOptions(new Metadata { { "Authorization", "Bearer explicit" } })).ResponseAsync.DefaultTimeout();

        Assert.Equal(["Bearer explicit"], Assert.Single(_server.Calls).Authorization);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task CallInvoker_PlaintextChannelWithoutOptIn_SendsNoTokenAndSaysWhy()
    {
        using var channel = _server.CreateChannel(overTls: false);
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source, configure: null, _loggerFactory));

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Contains("the channel is not secure (http://)", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("UnsafeAllowInsecureChannel", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("UnsafeUseInsecureChannelCallCredentials", failure.Status.Detail, StringComparison.Ordinal);
        var call = Assert.Single(_server.Calls);
        Assert.Empty(call.Authorization);
        Assert.False(call.OverTls);
        Assert.Equal(0, _source.Calls);
        Assert.Equal(1, _loggerFactory.Logger.Count("TokenNotSentOnInsecureChannel"));
    }

    [Fact]
    public async Task CallInvoker_PlaintextChannelWithOnlyTheChannelOptIn_RefusesToSendTheToken()
    {
        using var channel = _server.CreateChannel(overTls: false, options => options.UnsafeUseInsecureChannelCallCredentials = true);
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        // grpc-dotnet turns an exception thrown by call credentials into Internal, "Error starting gRPC call.
        // {type}: {message}", and sends nothing.
        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.StartsWith("Error starting gRPC call. InvalidOperationException: Refusing to send an access token", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("UnsafeAllowInsecureChannel", failure.Status.Detail, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(failure.Status.DebugException);
        Assert.Empty(_server.Calls);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task CallInvoker_PlaintextChannelWithBothOptIns_SendsTheToken()
    {
        using var channel = _server.CreateChannel(overTls: false, options => options.UnsafeUseInsecureChannelCallCredentials = true);
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source, options => options.UnsafeAllowInsecureChannel = true, null));

        Assert.Equal("hello you", await client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        var call = Assert.Single(_server.Calls);
        Assert.Equal(["Bearer token-1"], call.Authorization);
        Assert.False(call.OverTls);
    }

    [Theory]
    [InlineData(AccessTokenFailure.Refused, StatusCode.Unauthenticated)]
    [InlineData(AccessTokenFailure.InvalidResponse, StatusCode.Unauthenticated)]
    [InlineData(AccessTokenFailure.Unavailable, StatusCode.Unavailable)]
    [InlineData(AccessTokenFailure.Unknown, StatusCode.Unavailable)]
    public async Task CallInvoker_ProviderFails_CallFailsBeforeSendingWithTheStatusOfTheCause(AccessTokenFailure cause, StatusCode expected)
    {
        _source.Throws(new AccessTokenException(cause, "The token endpoint refused the request (HTTP 400): invalid_client."));
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.AddJwtCallCredentials(_source));

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Equal(expected, failure.StatusCode);
        Assert.Equal("No access token: The token endpoint refused the request (HTTP 400): invalid_client.", failure.Status.Detail);
        Assert.IsType<AccessTokenException>(failure.Status.DebugException);
        Assert.Empty(_server.Calls);
    }

    [Fact]
    public async Task CallInvoker_OverExistingInvoker_AddsTheToken()
    {
        using var channel = _server.CreateChannel();
        var client = new ProbeClient(channel.CreateCallInvoker().AddJwtCallCredentials(_source));

        await client.UnaryAsync("you").ResponseAsync.DefaultTimeout();

        Assert.Equal(["Bearer token-1"], Assert.Single(_server.Calls).Authorization);
    }

    [Fact]
    public async Task ChannelOptions_Tls_EveryCallCarriesATokenAndIsNotRetried()
    {
        using var channel = GrpcChannel.ForAddress(
            _server.HttpsAddress, new GrpcChannelOptions { HttpHandler = _server.CreatePinnedHandler() }.AddJwtCallCredentials(_source));
        var client = new ProbeClient(channel);

        await client.UnaryAsync("one").ResponseAsync.DefaultTimeout();
        _server.Reject("token-2");
        var failure = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync("two").ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal([["Bearer token-1"], ["Bearer token-2"]], _server.Calls.Select(received => received.Authorization));
        Assert.Equal(2, _source.Calls);
    }

    [Fact]
    public void ChannelOptions_HttpAddress_ChannelCreationThrows()
    {
        var options = new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler(), DisposeHttpClient = true }.AddJwtCallCredentials(_source);

        var failure = Assert.Throws<InvalidOperationException>(() => GrpcChannel.ForAddress(_server.HttpAddress, options));

        Assert.Contains("secure channel credentials", failure.Message, StringComparison.Ordinal);
        Assert.False(options.UnsafeUseInsecureChannelCallCredentials);
    }

    [Fact]
    public async Task ChannelOptions_HttpAddressWithOptIn_SendsTheToken()
    {
        var options = new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler(), DisposeHttpClient = true }
            .AddJwtCallCredentials(_source, settings => settings.UnsafeAllowInsecureChannel = true);
        using var channel = GrpcChannel.ForAddress(_server.HttpAddress, options);

        await new ProbeClient(channel).UnaryAsync("you").ResponseAsync.DefaultTimeout();

        Assert.True(options.UnsafeUseInsecureChannelCallCredentials);
        var call = Assert.Single(_server.Calls);
        Assert.Equal(["Bearer token-1"], call.Authorization);
        Assert.False(call.OverTls);
    }

    [Fact]
    public void ChannelOptions_HttpsAddressWithInsecureOptIn_ChannelCreationThrows()
    {
        var options = new GrpcChannelOptions { HttpHandler = _server.CreatePinnedHandler(), DisposeHttpClient = true }
            .AddJwtCallCredentials(_source, settings => settings.UnsafeAllowInsecureChannel = true);

        Assert.Throws<InvalidOperationException>(() => GrpcChannel.ForAddress(_server.HttpsAddress, options));
    }

    [Fact]
    public async Task ChannelOptions_ProviderFails_CallFailsBeforeSending()
    {
        _source.Throws(new AccessTokenException(AccessTokenFailure.Unavailable, "The token endpoint could not be reached."));
        using var channel = GrpcChannel.ForAddress(
            _server.HttpsAddress, new GrpcChannelOptions { HttpHandler = _server.CreatePinnedHandler() }.AddJwtCallCredentials(_source));

        var failure = await Assert.ThrowsAsync<RpcException>(() => new ProbeClient(channel).UnaryAsync("you").ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Equal("No access token: The token endpoint could not be reached.", failure.Status.Detail);
        Assert.Empty(_server.Calls);
    }

    [Fact]
    public void AddJwtCallCredentials_NullArguments_ThrowArgumentNullException()
    {
        using var channel = _server.CreateChannel();

        Assert.Throws<ArgumentNullException>(() => ((GrpcChannelOptions)null!).AddJwtCallCredentials(_source));
        Assert.Throws<ArgumentNullException>(() => new GrpcChannelOptions().AddJwtCallCredentials(null!));
        Assert.Throws<ArgumentNullException>(() => ((GrpcChannel)null!).AddJwtCallCredentials(_source));
        Assert.Throws<ArgumentNullException>(() => channel.AddJwtCallCredentials(null!));
        Assert.Throws<ArgumentNullException>(() => ((CallInvoker)null!).AddJwtCallCredentials(_source));
        Assert.Throws<ArgumentNullException>(() => channel.CreateCallInvoker().AddJwtCallCredentials(null!));
    }

    private static async Task<List<string>> ReadAllAsync(IAsyncStreamReader<string> stream)
    {
        var messages = new List<string>();
        while (await stream.MoveNext(CancellationToken.None))
        {
            messages.Add(stream.Current);
        }

        return messages;
    }
}
