using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Attaches a token to every call (as per-call credentials, so the token is fetched asynchronously when the call
/// starts) and retries a unary call once, with a new token, when it fails with <c>Unauthenticated</c>.
/// Streaming calls are never retried: their request messages may already be on the wire.
/// </summary>
internal sealed class JwtCallCredentialsInterceptor(
    IAccessTokenProvider provider,
    JwtCallCredentialsOptions options,
    ILogger logger) : Interceptor
{
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var attacher = NewAttacher();
        try
        {
            return continuation(request, WithToken(context, attacher));
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
        {
            var fresh = FreshTokenForRetry(context, attacher, ex).AsTask().GetAwaiter().GetResult();
            return continuation(request, WithToken(context, NewAttacher(fresh)));
        }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var attacher = NewAttacher();
        var call = continuation(request, WithToken(context, attacher));
        if (HasExplicitAuthorization(context))
        {
            return call;
        }

        var retrying = new RetryingUnaryCall<TRequest, TResponse>(this, request, context, continuation, call, attacher);
        return new AsyncUnaryCall<TResponse>(
            retrying.ResponseAsync, retrying.ResponseHeadersAsync(), retrying.GetStatus, retrying.GetTrailers, retrying.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithToken(context, NewAttacher()));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithToken(context, NewAttacher()));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithToken(context, NewAttacher()));

    /// <summary>
    /// The token to retry with, or rethrows <paramref name="rejection"/> when a retry cannot help: retries are off,
    /// the caller set its own authorization header, no token was sent, or no different token can be had.
    /// </summary>
    internal async ValueTask<AccessToken> FreshTokenForRetry<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, TokenAttacher attacher, RpcException rejection)
        where TRequest : class
        where TResponse : class
    {
        if (HasExplicitAuthorization(context))
        {
            throw rejection;
        }

        if (attacher.SentToken is not { } sent)
        {
            if (!attacher.Invoked)
            {
                // grpc-dotnet skips call credentials on insecure channels unless told otherwise: say so.
                Log.TokenNotSentOnInsecureChannel(logger, context.Method.FullName);
                throw new RpcException(
                    new Status(StatusCode.Unauthenticated,
                        "No access token was sent: the channel is not secure (http://), so call credentials were not used. " +
                        "Use https, or opt in with JwtCallCredentialsOptions.UnsafeAllowInsecureChannel and " +
                        "GrpcChannelOptions.UnsafeUseInsecureChannelCallCredentials (development only)."),
                    rejection.Trailers);
            }

            throw rejection;
        }

        if (!options.RetryOnUnauthenticated || context.Options.CancellationToken.IsCancellationRequested)
        {
            throw rejection;
        }

        AccessToken fresh;
        try
        {
            fresh = await provider.GetFreshTokenAsync(sent, context.Options.CancellationToken).ConfigureAwait(false);
        }
        catch (AccessTokenException)
        {
            throw rejection;
        }

        if (string.Equals(fresh.Value, sent.Value, StringComparison.Ordinal))
        {
            throw rejection;
        }

        Log.RetryingAfterUnauthenticated(logger, context.Method.FullName);
        return fresh;
    }

    internal TokenAttacher NewAttacher(AccessToken? fixedToken = null) =>
        new(provider, options.UnsafeAllowInsecureChannel, fixedToken);

    internal static ClientInterceptorContext<TRequest, TResponse> WithToken<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, TokenAttacher attacher)
        where TRequest : class
        where TResponse : class
    {
        if (HasExplicitAuthorization(context))
        {
            return context;
        }

        var credentials = attacher.ToCallCredentials();
        if (context.Options.Credentials is { } existing)
        {
            credentials = CallCredentials.Compose(existing, credentials);
        }

        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithCredentials(credentials));
    }

    private static bool HasExplicitAuthorization<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
        => context.Options.Headers?.Get(TokenAttacher.HeaderName) is not null;

    /// <summary>One unary call that may be retried once; status, trailers and headers come from the last attempt.</summary>
    private sealed class RetryingUnaryCall<TRequest, TResponse>
        where TRequest : class
        where TResponse : class
    {
        private readonly JwtCallCredentialsInterceptor _interceptor;
        private readonly TRequest _request;
        private readonly ClientInterceptorContext<TRequest, TResponse> _context;
        private readonly AsyncUnaryCallContinuation<TRequest, TResponse> _continuation;
        private readonly TokenAttacher _firstAttacher;
        private AsyncUnaryCall<TResponse> _current;
        private AsyncUnaryCall<TResponse>? _first;

        public RetryingUnaryCall(
            JwtCallCredentialsInterceptor interceptor,
            TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation,
            AsyncUnaryCall<TResponse> first,
            TokenAttacher attacher)
        {
            _interceptor = interceptor;
            _request = request;
            _context = context;
            _continuation = continuation;
            _current = first;
            _firstAttacher = attacher;
            ResponseAsync = RunAsync();
        }

        public Task<TResponse> ResponseAsync { get; }

        public async Task<Metadata> ResponseHeadersAsync()
        {
            try
            {
                await ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException)
            {
                // Headers of a failed call are still read below.
            }

            return await _current.ResponseHeadersAsync.ConfigureAwait(false);
        }

        public Status GetStatus() => _current.GetStatus();

        public Metadata GetTrailers() => _current.GetTrailers();

        public void Dispose()
        {
            _first?.Dispose();
            _current.Dispose();
        }

        private async Task<TResponse> RunAsync()
        {
            try
            {
                return await _current.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                var fresh = await _interceptor.FreshTokenForRetry(_context, _firstAttacher, ex).ConfigureAwait(false);
                var retry = _continuation(_request, WithToken(_context, _interceptor.NewAttacher(fresh)));
                _first = _current;
                _current = retry;
                return await retry.ResponseAsync.ConfigureAwait(false);
            }
        }
    }
}
