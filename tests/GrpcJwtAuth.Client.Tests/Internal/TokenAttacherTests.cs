using Grpc.Core;
using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests.Internal;

public sealed class TokenAttacherTests
{
    private readonly FakeTokenSource _source = new(new FakeTimeProvider());

    [Fact]
    public async Task AttachAsync_SecureServiceUrl_AddsLowercaseAuthorizationBearerEntry()
    {
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false);
        var metadata = new Metadata();

        await attacher.AttachAsync(new AuthInterceptorContext("https://host/pkg.Svc", "Method"), metadata).DefaultTimeout();

        var entry = Assert.Single(metadata);
        Assert.Equal("authorization", entry.Key);
        Assert.Equal("Bearer token-1", entry.Value);
        Assert.False(entry.IsBinary);
        Assert.Equal("token-1", attacher.SentToken?.Value);
        Assert.True(attacher.Invoked);
        Assert.Equal(1, _source.Calls);
    }

    [Theory]
    [InlineData("http://host/pkg.Svc")]
    [InlineData("HTTP://host/pkg.Svc")]
    public async Task AttachAsync_PlaintextServiceUrl_ThrowsNamingTheOptInAndSendsNothing(string serviceUrl)
    {
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false);
        var metadata = new Metadata();

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(
            () => attacher.AttachAsync(new AuthInterceptorContext(serviceUrl, "Method"), metadata));

        Assert.Contains("UnsafeAllowInsecureChannel", failure.Message, StringComparison.Ordinal);
        Assert.Empty(metadata);
        Assert.Null(attacher.SentToken);
        Assert.True(attacher.Invoked);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task AttachAsync_PlaintextServiceUrlAllowed_AddsTheToken()
    {
        var attacher = new TokenAttacher(_source, allowInsecureChannel: true);
        var metadata = new Metadata();

        await attacher.AttachAsync(new AuthInterceptorContext("http://host/pkg.Svc", "Method"), metadata).DefaultTimeout();

        Assert.Equal("Bearer token-1", metadata.GetValue("authorization"));
    }

    [Fact]
    public async Task AttachAsync_FixedToken_SendsItWithoutAskingTheProvider()
    {
        var fixedToken = new AccessToken("fixed", DateTimeOffset.MaxValue);
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false, fixedToken);
        var metadata = new Metadata();

        await attacher.AttachAsync(new AuthInterceptorContext("https://host/pkg.Svc", "Method"), metadata).DefaultTimeout();

        Assert.Equal("Bearer fixed", metadata.GetValue("authorization"));
        Assert.Same(fixedToken, attacher.SentToken);
        Assert.Equal(0, _source.Calls);
    }

    [Fact]
    public async Task AttachAsync_ProviderFails_ThrowsTheStatusOfTheCauseAndRecordsNoSentToken()
    {
        _source.Throws(new AccessTokenException(AccessTokenFailure.Refused, "no token"));
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false);
        var metadata = new Metadata();

        var failure = await Assert.ThrowsAsync<RpcException>(
            () => attacher.AttachAsync(new AuthInterceptorContext("https://host/pkg.Svc", "Method"), metadata));

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal("No access token: no token", failure.Status.Detail);
        Assert.Empty(metadata);
        Assert.Null(attacher.SentToken);
        Assert.True(attacher.Invoked);
    }

    [Fact]
    public async Task AttachAsync_CallCancelled_CancelsTheProvidersFetch()
    {
        _source.Blocks();
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false);
        using var cancellation = new CancellationTokenSource();
        var attaching = attacher.AttachAsync(new AuthInterceptorContext("https://host/pkg.Svc", "Method", cancellation.Token), new Metadata());
        var fetch = await _source.WaitForCallAsync(1);

        await cancellation.CancelAsync();

        Assert.Equal(cancellation.Token, fetch.CancellationToken);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => attaching.DefaultTimeout());
    }

    [Fact]
    public async Task ToCallCredentials_RunByGrpc_AttachesTheToken()
    {
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false);

        var metadata = await CallCredentialsRunner.RunAsync(attacher.ToCallCredentials()).DefaultTimeout();

        Assert.Equal("Bearer token-1", metadata.GetValue("authorization"));
    }

    [Fact]
    public void Constructor_BeforeAnyCall_NothingInvokedOrSent()
    {
        var attacher = new TokenAttacher(_source, allowInsecureChannel: false);

        Assert.Null(attacher.SentToken);
        Assert.False(attacher.Invoked);
    }
}
