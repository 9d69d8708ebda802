using Grpc.Core;
using Grpc.Core.Interceptors;

namespace GrpcJwtAuth.Server;

/// <summary>
/// The one server interceptor, registered first for every service: no handler runs before the call is authenticated
/// and authorized. A DI singleton; completes synchronously when validation does.
/// </summary>
internal sealed class GrpcJwtAuthInterceptor(CallAuthenticator authenticator) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var pending = authenticator.AuthenticateAsync(context);
        if (pending.IsCompletedSuccessfully)
        {
            ThrowIfFailed(pending.Result);
            return continuation(request, context);
        }

        return Awaited(pending, request, context, continuation);

        static async Task<TResponse> Awaited(
            ValueTask<AuthFailure> pending, TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            ThrowIfFailed(await pending.ConfigureAwait(false));
            return await continuation(request, context).ConfigureAwait(false);
        }
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var pending = authenticator.AuthenticateAsync(context);
        if (pending.IsCompletedSuccessfully)
        {
            ThrowIfFailed(pending.Result);
            return continuation(requestStream, context);
        }

        return Awaited(pending, requestStream, context, continuation);

        static async Task<TResponse> Awaited(
            ValueTask<AuthFailure> pending, IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
            ClientStreamingServerMethod<TRequest, TResponse> continuation)
        {
            ThrowIfFailed(await pending.ConfigureAwait(false));
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var pending = authenticator.AuthenticateAsync(context);
        if (pending.IsCompletedSuccessfully)
        {
            ThrowIfFailed(pending.Result);
            return continuation(request, responseStream, context);
        }

        return Awaited(pending, request, responseStream, context, continuation);

        static async Task Awaited(
            ValueTask<AuthFailure> pending, TRequest request, IServerStreamWriter<TResponse> responseStream,
            ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        {
            ThrowIfFailed(await pending.ConfigureAwait(false));
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var pending = authenticator.AuthenticateAsync(context);
        if (pending.IsCompletedSuccessfully)
        {
            ThrowIfFailed(pending.Result);
            return continuation(requestStream, responseStream, context);
        }

        return Awaited(pending, requestStream, responseStream, context, continuation);

        static async Task Awaited(
            ValueTask<AuthFailure> pending, IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
            ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            ThrowIfFailed(await pending.ConfigureAwait(false));
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
    }

    private static void ThrowIfFailed(AuthFailure failure)
    {
        if (failure != AuthFailure.None)
        {
            throw AuthFailures.Get(failure).CreateException();
        }
    }
}
