using Grpc.Core;
using Grpc.Core.Interceptors;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Streams;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Server;

/// <summary>
/// The one server interceptor, registered first for every service: no handler runs before the call is authenticated
/// and authorized. A DI singleton. Unary calls complete synchronously when validation does; streaming calls are also
/// ended when their token expires (see <see cref="StreamExpiry"/>), which is counted, tagged and logged like any other
/// rejection.
/// </summary>
internal sealed class GrpcJwtAuthInterceptor(
    CallAuthorizer authorizer,
    EndpointAuthorizationProvider endpoints,
    CompiledAuthOptions options,
    TimeProvider timeProvider,
    ILogger<GrpcJwtAuthInterceptor>? logger = null,
    Metrics? metrics = null,
    RenewableStreams? streams = null) : Interceptor
{
    private readonly bool _endStreamsWhenTokenExpires = options.EndStreamsWhenTokenExpires;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var pending = authorizer.AuthorizeAsync(context, request);
        if (pending.IsCompletedSuccessfully)
        {
            ThrowIfFailed(pending.Result);
            return continuation(request, context);
        }

        return Awaited(pending, request, context, continuation);

        static async Task<TResponse> Awaited(
            ValueTask<CallDecision> pending, TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            ThrowIfFailed(await pending.ConfigureAwait(false));
            return await continuation(request, context).ConfigureAwait(false);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfFailed(await authorizer.AuthorizeAsync(context, resource: null).ConfigureAwait(false));
        var watch = await WatchAsync(context, resource: null).ConfigureAwait(false);
        if (watch is null)
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }

        try
        {
            var response = await continuation(new ExpiringStreamReader<TRequest>(requestStream, watch.Expiry), watch.Context).ConfigureAwait(false);
            watch.Expiry.ThrowIfExpired();
            return response;
        }
        catch (Exception ex) when (watch.Expiry.Expired && EndedByExpiry(context, ex))
        {
            throw StreamExpiry.CreateException();
        }
        finally
        {
            await watch.EndAsync().ConfigureAwait(false);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfFailed(await authorizer.AuthorizeAsync(context, request).ConfigureAwait(false));
        var watch = await WatchAsync(context, request).ConfigureAwait(false);
        if (watch is null)
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
            return;
        }

        try
        {
            await continuation(request, watch.Writer(responseStream), watch.Context).ConfigureAwait(false);
            watch.Expiry.ThrowIfExpired();
        }
        catch (Exception ex) when (watch.Expiry.Expired && EndedByExpiry(context, ex))
        {
            throw StreamExpiry.CreateException();
        }
        finally
        {
            await watch.EndAsync().ConfigureAwait(false);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfFailed(await authorizer.AuthorizeAsync(context, resource: null).ConfigureAwait(false));
        var watch = await WatchAsync(context, resource: null).ConfigureAwait(false);
        if (watch is null)
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
            return;
        }

        try
        {
            await continuation(
                new ExpiringStreamReader<TRequest>(requestStream, watch.Expiry), watch.Writer(responseStream), watch.Context).ConfigureAwait(false);
            watch.Expiry.ThrowIfExpired();
        }
        catch (Exception ex) when (watch.Expiry.Expired && EndedByExpiry(context, ex))
        {
            throw StreamExpiry.CreateException();
        }
        finally
        {
            await watch.EndAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Watches the caller's token for the length of a streaming call, however far away its end, and makes the call
    /// renewable when the renewal service is mapped; nothing for anonymous calls. <paramref name="resource"/> is what the
    /// method's policy saw: the request message, or <see langword="null"/> for the call's <c>HttpContext</c>.
    /// </summary>
    private async ValueTask<StreamWatch?> WatchAsync(ServerCallContext context, object? resource)
    {
        if (!_endStreamsWhenTokenExpires || context.GetJwtCaller() is not { } caller)
        {
            return null;
        }

        var expiry = StreamExpiry.Start(context, caller.AcceptedUntil, timeProvider);
        RenewableStream? renewable = null;
        if (streams is { Enabled: true })
        {
            var httpContext = context.GetHttpContext();
            var authorization = await endpoints.GetAsync(httpContext).ConfigureAwait(false);
            renewable = streams.Register(context, expiry, caller, authorization, resource ?? httpContext);
        }

        return new StreamWatch(expiry, renewable, new ExpiringServerCallContext(context, expiry, renewable));
    }

    /// <summary>
    /// Records that a streaming call ends because its token expired; whether <paramref name="exception"/> (the
    /// handler's, typically a cancellation) must be replaced by the expiry status rather than passed on as it is.
    /// </summary>
    private bool EndedByExpiry(ServerCallContext context, Exception exception)
    {
        const AuthFailure Failure = AuthFailure.TokenExpiredDuringCall;
        var httpContext = context.GetHttpContext();
        var resolved = endpoints.GetAsync(httpContext);
        var method = resolved.IsCompletedSuccessfully ? resolved.Result.Method : EndpointAuthorization.OtherMethod;
        metrics?.Decision(method, Failure);
        var caller = context.GetJwtCaller();
        AuthActivity.Record(Failure, caller?.Subject);
        if (logger is not null && logger.IsEnabled(LogLevel.Debug))
        {
            Log.StreamTokenExpired(
                logger, method, CallPeer.Of(httpContext), RejectedTokenClaims.Sanitize(caller?.Subject), AuthFailures.Get(Failure).Tag);
        }

        return exception is not RpcException { StatusCode: StatusCode.Unauthenticated };
    }

    private static void ThrowIfFailed(CallDecision decision)
    {
        if (!decision.IsAllowed)
        {
            throw decision.CreateException();
        }
    }

    /// <summary>A watched streaming call: its expiry, its renewal state when renewable, and the context its handler sees.</summary>
    private sealed class StreamWatch(StreamExpiry expiry, RenewableStream? renewable, ExpiringServerCallContext context)
    {
        public StreamExpiry Expiry => expiry;

        public ExpiringServerCallContext Context => context;

        public ExpiringStreamWriter<T> Writer<T>(IServerStreamWriter<T> inner) => new(inner, expiry, renewable);

        /// <summary>Forgets the call id (after any renewal in flight), then stops the timer.</summary>
        public async Task EndAsync()
        {
            if (renewable is not null)
            {
                await renewable.EndAsync().ConfigureAwait(false);
            }

            expiry.Dispose();
        }
    }
}
