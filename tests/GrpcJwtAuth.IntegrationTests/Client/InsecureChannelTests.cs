using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>
/// Tokens and plaintext channels: against a server on plain HTTP/2 (h2c), no token leaves the client unless both the
/// library and grpc-dotnet are told it may.
/// </summary>
public class InsecureChannelTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task Without_opt_in_no_token_is_sent_over_a_plaintext_channel_and_the_call_is_Unauthenticated(CallKind kind)
    {
        var server = await StartPlaintextServerAsync();
        var source = CountingTokenSource.FromJwts(_ => Tokens.Create(TestKeys.Primary));
        var client = new Probe.ProbeClient(server.Channel.AddJwtCallCredentials(source, configure: null, server.ClientLoggerFactory));

        var rejection = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync(kind, new CallOptions()));

        Assert.Equal(StatusCode.Unauthenticated, rejection.StatusCode);
        Assert.Equal(0, source.Calls);
        Assert.Equal(1, server.Requests["/test.Probe/" + kind.Method()]);
        Assert.Equal(0, server.Entries.Total);
        var rejected = Assert.Single(server.Logs.WithEvent("CallRejected"));
        Assert.Contains(rejected.StructuredState!, pair => pair.Key == "Reason" && pair.Value == "missing_token");
        if (kind == CallKind.Unary)
        {
            // The unary path (where retries happen) knows no token was attached, and says why instead of passing on
            // "missing token". Streaming calls are passed through untouched, so they carry the server's detail.
            Assert.Contains("the channel is not secure (http://)", rejection.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("UnsafeUseInsecureChannelCallCredentials", rejection.Status.Detail, StringComparison.Ordinal);
            Assert.Single(server.Logs.WithEvent("TokenNotSentOnInsecureChannel"));
        }
        else
        {
            Assert.Equal(Details.MissingToken, rejection.Status.Detail);
        }
    }

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task With_both_opt_ins_a_call_invoker_sends_the_token_over_a_plaintext_channel(CallKind kind)
    {
        var server = await StartPlaintextServerAsync();
        var source = CountingTokenSource.FromJwts(_ => Tokens.Create(TestKeys.Primary, subject: "dev-box"));
        var channel = server.CreateChannel(options => options.UnsafeUseInsecureChannelCallCredentials = true);
        var client = new Probe.ProbeClient(channel.AddJwtCallCredentials(
            source, settings => settings.UnsafeAllowInsecureChannel = true, server.ClientLoggerFactory));

        var replies = await client.CallAsync(kind, new CallOptions());

        Assert.All(replies, reply => Assert.Equal("dev-box", reply.Subject));
        Assert.Equal(1, source.Calls);
        Assert.Equal(1, server.Entries[kind.Method()]);
    }

    [Theory]
    [InlineData(CallKind.Unary)]
    [InlineData(CallKind.ServerStream)]
    [InlineData(CallKind.ClientStream)]
    [InlineData(CallKind.Duplex)]
    public async Task With_opt_in_channel_options_send_the_token_over_a_plaintext_channel(CallKind kind)
    {
        var server = await StartPlaintextServerAsync();
        var source = CountingTokenSource.FromJwts(_ => Tokens.Create(TestKeys.Primary, subject: "dev-box"));
        var channel = server.CreateChannel(options => options.AddJwtCallCredentials(
            source, settings => settings.UnsafeAllowInsecureChannel = true));
        var client = new Probe.ProbeClient(channel);

        var replies = await client.CallAsync(kind, new CallOptions());

        Assert.All(replies, reply => Assert.Equal("dev-box", reply.Subject));
        Assert.Equal(1, source.Calls);
        Assert.Equal(1, server.Entries[kind.Method()]);
    }

    [Fact]
    public async Task Opt_in_of_the_channel_alone_does_not_make_the_library_send_a_token_over_plaintext()
    {
        var server = await StartPlaintextServerAsync();
        var source = CountingTokenSource.FromJwts(_ => Tokens.Create(TestKeys.Primary));
        var channel = server.CreateChannel(options => options.UnsafeUseInsecureChannelCallCredentials = true);
        var client = new Probe.ProbeClient(channel.AddJwtCallCredentials(source, configure: null, server.ClientLoggerFactory));

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.CallUnaryAsync(new CallOptions()));

        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("UnsafeAllowInsecureChannel", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, source.Calls);
        Assert.Equal(0, server.Requests.Total);
    }

    [Fact]
    public async Task Channel_options_with_call_credentials_cannot_make_a_channel_to_an_http_address_without_opt_in()
    {
        var server = await StartPlaintextServerAsync();
        var source = CountingTokenSource.FromJwts(_ => Tokens.Create(TestKeys.Primary));

        var refused = Assert.Throws<InvalidOperationException>(() => server.CreateChannel(options => options.AddJwtCallCredentials(source)));

        // grpc-dotnet's check: the options now hold TLS channel credentials, which an http:// address contradicts.
        Assert.Contains("secure channel credentials", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'http' scheme", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, source.Calls);
        Assert.Equal(0, server.Requests.Total);
    }

    private Task<GrpcTestServer> StartPlaintextServerAsync() =>
        StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary), plaintext: true);
}
