using Grpc.Core;
using Grpc.Core.Interceptors;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
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
    Metrics? metrics = null) : Interceptor
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
        using var expiry = StartExpiry(context);
        if (expiry is null)
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }

        try
        {
            var response = await continuation(
                new ExpiringStreamReader<TRequest>(requestStream, expiry), new ExpiringServerCallContext(context, expiry)).ConfigureAwait(false);
            expiry.ThrowIfExpired();
            return response;
        }
        catch (Exception ex) when (expiry.Expired && EndedByExpiry(context, ex))
        {
            throw StreamExpiry.CreateException();
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfFailed(await authorizer.AuthorizeAsync(context, request).ConfigureAwait(false));
        using var expiry = StartExpiry(context);
        if (expiry is null)
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
            return;
        }

        try
        {
            await continuation(
                request, new ExpiringStreamWriter<TResponse>(responseStream, expiry), new ExpiringServerCallContext(context, expiry)).ConfigureAwait(false);
            expiry.ThrowIfExpired();
        }
        catch (Exception ex) when (expiry.Expired && EndedByExpiry(context, ex))
        {
            throw StreamExpiry.CreateException();
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfFailed(await authorizer.AuthorizeAsync(context, resource: null).ConfigureAwait(false));
        using var expiry = StartExpiry(context);
        if (expiry is null)
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
            return;
        }

        try
        {
            await continuation(
                new ExpiringStreamReader<TRequest>(requestStream, expiry),
                new ExpiringStreamWriter<TResponse>(responseStream, expiry),
                new ExpiringServerCallContext(context, expiry)).ConfigureAwait(false);
            expiry.ThrowIfExpired();
        }
        catch (Exception ex) when (expiry.Expired && EndedByExpiry(context, ex))
        {
            throw StreamExpiry.CreateException();
        }
    }

    /// <summary>Watches the caller's token for the length of a streaming call, however far away its end; none for anonymous calls.</summary>
    private StreamExpiry? StartExpiry(ServerCallContext context)
    {
        if (!_endStreamsWhenTokenExpires || context.GetJwtCaller() is not { } caller)
        {
            return null;
        }

        return StreamExpiry.Start(context, caller.AcceptedUntil, timeProvider);
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
}
