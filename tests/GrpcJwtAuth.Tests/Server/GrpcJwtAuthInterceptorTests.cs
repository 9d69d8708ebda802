using Grpc.Core;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Server;

public class GrpcJwtAuthInterceptorTests
{
    private const string Method = "/greet.Greeter/SayHello";

    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TestSigningKey Key = TestSigningKey.Ec("ec-1");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
    private readonly TestTokenFactory _tokens;

    public GrpcJwtAuthInterceptorTests()
    {
        _tokens = new TestTokenFactory(_time);
    }

    [Fact]
    public async Task UnaryServerHandler_NoToken_ThrowsUnauthenticatedWithoutCallingTheHandler()
    {
        var called = false;

        var error = await Assert.ThrowsAsync<RpcException>(() => Create().UnaryServerHandler<string, string>(
            "hi", Call(authorization: null), (_, _) =>
            {
                called = true;
                return Task.FromResult("ok");
            })).WaitAsync(TestTimeout);

        Assert.False(called);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(AuthFailures.Get(AuthFailure.MissingAuthorization).Status.Detail, error.Status.Detail);
    }

    [Fact]
    public async Task UnaryServerHandler_ValidToken_CallsTheHandlerWithTheCaller()
    {
        var context = Call("Bearer " + _tokens.Create(Key));

        var response = await Create().UnaryServerHandler<string, string>(
            "hi", context, (request, ctx) => Task.FromResult(request + " " + ctx.GetRequiredJwtCaller().Subject)).WaitAsync(TestTimeout);

        Assert.Equal("hi user-1", response);
    }

    [Fact]
    public async Task UnaryServerHandler_RequestWithoutAGrpcMethodEndpoint_ThrowsPermissionDeniedEvenWithAValidToken()
    {
        var httpContext = new DefaultHttpContext();
        httpContext.Request.Headers.Authorization = "Bearer " + _tokens.Create(Key);
        var called = false;

        var error = await Assert.ThrowsAsync<RpcException>(() => Create().UnaryServerHandler<string, string>(
            "hi", new TestServerCallContext(Method, httpContext), (_, _) =>
            {
                called = true;
                return Task.FromResult("ok");
            })).WaitAsync(TestTimeout);

        Assert.False(called);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(AuthFailures.Get(AuthFailure.UnresolvedMethod).Status.Detail, error.Status.Detail);
    }

    [Fact]
    public async Task UnaryServerHandler_MissingRole_ThrowsPermissionDenied()
    {
        var context = Call("Bearer " + _tokens.Create(Key), new AuthorizeAttribute { Roles = "admin" });

        var error = await Assert.ThrowsAsync<RpcException>(() => Create().UnaryServerHandler<string, string>(
            "hi", context, (_, _) => Task.FromResult("ok"))).WaitAsync(TestTimeout);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("missing required role", error.Status.Detail);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_TokenExpiresDuringTheCall_CancelsTheHandlerAndEndsUnauthenticated()
    {
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1)));
        var writer = new RecordingWriter();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = Create().ServerStreamingServerHandler<string, string>("hi", writer, context, async (_, stream, ctx) =>
        {
            await stream.WriteAsync("first");
            waiting.SetResult();
            await WhenCancelled(ctx.CancellationToken);
            await stream.WriteAsync("after expiry");
        });
        await waiting.Task.WaitAsync(TestTimeout);

        // exp is one minute away, plus 30 s of clock skew.
        _time.Advance(TimeSpan.FromSeconds(89));
        Assert.False(call.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        var error = await Assert.ThrowsAsync<RpcException>(() => call).WaitAsync(TestTimeout);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(AuthFailures.Get(AuthFailure.TokenExpiredDuringCall).Status.Detail, error.Status.Detail);
        Assert.Equal(["first"], writer.Messages);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_TokenLivingLongerThanATimerCanWait_EndsAtExpPlusSkew()
    {
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: TimeSpan.FromDays(100)));
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = Create().ServerStreamingServerHandler<string, string>("hi", new RecordingWriter(), context, async (_, _, ctx) =>
        {
            waiting.SetResult();
            await WhenCancelled(ctx.CancellationToken);
        });
        await waiting.Task.WaitAsync(TestTimeout);

        // Four timer steps of at most 30 days each, the clock checked at every one.
        for (var day = 0; day < 100; day += 10)
        {
            _time.Advance(TimeSpan.FromDays(10));
        }

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(call.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<RpcException>(() => call).WaitAsync(TestTimeout);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_TokenExpiringAtTheLastRepresentableSecond_RunsWithoutError()
    {
        var lifetime = new DateTime(9999, 12, 31, 23, 59, 59, DateTimeKind.Utc) - _time.GetUtcNow().UtcDateTime;
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: lifetime));
        var writer = new RecordingWriter();

        await Create().ServerStreamingServerHandler<string, string>("hi", writer, context, async (_, stream, _) =>
        {
            await stream.WriteAsync("one");
            _time.Advance(TimeSpan.FromDays(365));
            await stream.WriteAsync("two");
        }).WaitAsync(TestTimeout);

        Assert.Equal(["one", "two"], writer.Messages);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_HandlerSwallowsTheCancellation_StillEndsUnauthenticated()
    {
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1)));
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = Create().ServerStreamingServerHandler<string, string>("hi", new RecordingWriter(), context, async (_, _, ctx) =>
        {
            waiting.SetResult();
            await WhenCancelled(ctx.CancellationToken);
        });
        await waiting.Task.WaitAsync(TestTimeout);
        _time.Advance(TimeSpan.FromMinutes(2));

        var error = await Assert.ThrowsAsync<RpcException>(() => call).WaitAsync(TestTimeout);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_HandlerEndsBeforeExpiry_Succeeds()
    {
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1)));
        var writer = new RecordingWriter();
        CancellationToken seen = default;

        await Create().ServerStreamingServerHandler<string, string>("hi", writer, context, async (_, stream, ctx) =>
        {
            seen = ctx.CancellationToken;
            await stream.WriteAsync(ctx.GetRequiredJwtCaller().Subject!);
        }).WaitAsync(TestTimeout);
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(["user-1"], writer.Messages);
        Assert.False(seen.IsCancellationRequested);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_ExpiryDisabled_DoesNotEndTheCall()
    {
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1)));
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = new RecordingWriter();

        var call = Create(options => options.EndStreamsWhenTokenExpires = false).ServerStreamingServerHandler<string, string>(
            "hi", writer, context, async (_, stream, ctx) =>
            {
                waiting.SetResult();
                await proceed.Task;
                Assert.False(ctx.CancellationToken.IsCancellationRequested);
                await stream.WriteAsync("late");
            });
        await waiting.Task.WaitAsync(TestTimeout);
        _time.Advance(TimeSpan.FromMinutes(5));
        proceed.SetResult();

        await call.WaitAsync(TestTimeout);
        Assert.Equal(["late"], writer.Messages);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_AnonymousMethod_HasNoExpiry()
    {
        var context = Call(authorization: null);
        ServerCallContext? seen = null;

        await Create(options => options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true }))
            .ServerStreamingServerHandler<string, string>("hi", new RecordingWriter(), context, (_, _, ctx) =>
            {
                seen = ctx;
                return Task.CompletedTask;
            }).WaitAsync(TestTimeout);

        Assert.Same(context, seen);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_NoToken_ThrowsBeforeTheHandler()
    {
        var called = false;

        var error = await Assert.ThrowsAsync<RpcException>(() => Create().ServerStreamingServerHandler<string, string>(
            "hi", new RecordingWriter(), Call(authorization: "Bearer"), (_, _, _) =>
            {
                called = true;
                return Task.CompletedTask;
            })).WaitAsync(TestTimeout);

        Assert.False(called);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task ClientStreamingServerHandler_TokenExpiresWhileReading_EndsUnauthenticated()
    {
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1)));
        var reader = new BlockingReader();

        var call = Create().ClientStreamingServerHandler<string, string>(reader, context, async (stream, _) =>
        {
            await stream.MoveNext(CancellationToken.None);
            return "done";
        });
        await reader.Waiting.WaitAsync(TestTimeout);
        _time.Advance(TimeSpan.FromSeconds(90));

        var error = await Assert.ThrowsAsync<RpcException>(() => call).WaitAsync(TestTimeout);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(AuthFailures.Get(AuthFailure.TokenExpiredDuringCall).Status.Detail, error.Status.Detail);
    }

    [Fact]
    public async Task DuplexStreamingServerHandler_TokenExpiresWhileReading_EndsUnauthenticated()
    {
        var context = Call("Bearer " + _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1)));
        var reader = new BlockingReader();
        var writer = new RecordingWriter();

        var call = Create().DuplexStreamingServerHandler<string, string>(reader, writer, context, async (requests, responses, _) =>
        {
            await responses.WriteAsync("hello");
            while (await requests.MoveNext(CancellationToken.None))
            {
                await responses.WriteAsync(requests.Current);
            }
        });
        await reader.Waiting.WaitAsync(TestTimeout);
        _time.Advance(TimeSpan.FromSeconds(90));

        var error = await Assert.ThrowsAsync<RpcException>(() => call).WaitAsync(TestTimeout);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(["hello"], writer.Messages);
    }

    private GrpcJwtAuthInterceptor Create(Action<GrpcJwtAuthOptions>? configure = null)
    {
        var options = new GrpcJwtAuthOptions();
        options.StaticKeys.Add(Key.ToStaticKey());
        options.Issuers.Add(TestTokenFactory.DefaultIssuer);
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        configure?.Invoke(options);

        var compiled = CompiledAuthOptions.Create(options, _time);
        var keys = new SigningKeyManager(compiled.Issuers[0], null, _time, NullLogger<SigningKeyManager>.Instance);
        var endpoints = new EndpointAuthorizationProvider(compiled, NullLogger<EndpointAuthorizationProvider>.Instance);
        var authenticator = new TokenAuthenticator(
            compiled,
            new JwtTokenValidator(new TrustedIssuers([keys], compiled.ValidateIssuer), compiled),
            new ValidatedTokenCache(compiled, _time));
        var authorizer = new CallAuthorizer(compiled, endpoints, authenticator, NullLogger<CallAuthorizer>.Instance);
        return new GrpcJwtAuthInterceptor(authorizer, endpoints, compiled, _time);
    }

    private static TestServerCallContext Call(string? authorization, params object[] metadata)
    {
        return new TestServerCallContext(Method, TestEndpoints.Request(Method, authorization, metadata));
    }

    private static Task WhenCancelled(CancellationToken cancellationToken)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cancellationToken.Register(() => cancelled.TrySetResult());
        return cancelled.Task;
    }

    private sealed class RecordingWriter : IServerStreamWriter<string>
    {
        public List<string> Messages { get; } = [];

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(string message)
        {
            Messages.Add(message);
            return Task.CompletedTask;
        }
    }

    /// <summary>A request stream whose MoveNext waits until its token is cancelled.</summary>
    private sealed class BlockingReader : IAsyncStreamReader<string>
    {
        private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Waiting => _waiting.Task;

        public string Current => throw new InvalidOperationException("No message was read.");

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            _waiting.TrySetResult();
            await WhenCancelled(cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            return false;
        }
    }
}
