using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Attaches a token to every call (as per-call credentials, so the token is fetched asynchronously when the call
/// starts) and retries a unary call once, with a new token, when it fails with <c>Unauthenticated</c>.
/// Streaming calls are never retried: their request messages may already be on the wire. They are renewed instead
/// (<see cref="StreamRenewer"/>), over <paramref name="renewalInvoker"/>, when the server gives them a call id.
/// </summary>
internal sealed class JwtCallCredentialsInterceptor(
    IAccessTokenProvider provider,
    JwtCallCredentialsOptions options,
    ILogger logger,
    Func<CallInvoker>? renewalInvoker = null,
    TimeProvider? timeProvider = null) : Interceptor
{
    /// <summary>A request header, never sent, by which a call asks not to be renewed.</summary>
    internal const string NoRenewalHeader = "grpcjwtauth-stream-renewal";

    private readonly TimeProvider _timeProvider = options.TimeProvider ?? timeProvider ?? TimeProvider.System;

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        RemoveNoRenewalMarker(ref context);
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
        RemoveNoRenewalMarker(ref context);
        var attacher = NewAttacher();
        var call = continuation(request, WithToken(context, attacher));
        if (HasExplicitAuthorization(context))
        {
            return call;
        }

        return RetryingUnaryCall<TRequest, TResponse>.Start(this, request, context, continuation, call, attacher);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var renew = WantsRenewal(ref context);
        var attacher = NewAttacher();
        var call = continuation(request, WithToken(context, attacher));
        if (!renew)
        {
            return call;
        }

        var renewer = StartRenewer(context.Method.FullName, call.ResponseHeadersAsync, attacher);
        return new AsyncServerStreamingCall<TResponse>(
            new RenewedStreamReader<TResponse>(call.ResponseStream, renewer),
            call.ResponseHeadersAsync,
            call.GetStatus,
            call.GetTrailers,
            StopThenDispose(renewer, call));
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var renew = WantsRenewal(ref context);
        var attacher = NewAttacher();
        var call = continuation(WithToken(context, attacher));
        if (!renew)
        {
            return call;
        }

        var renewer = StartRenewer(context.Method.FullName, call.ResponseHeadersAsync, attacher);
        _ = call.ResponseAsync.ContinueWith(
            static (_, state) => ((StreamRenewer)state!).Stop(), renewer, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new AsyncClientStreamingCall<TRequest, TResponse>(
            call.RequestStream,
            call.ResponseAsync,
            call.ResponseHeadersAsync,
            call.GetStatus,
            call.GetTrailers,
            StopThenDispose(renewer, call));
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var renew = WantsRenewal(ref context);
        var attacher = NewAttacher();
        var call = continuation(WithToken(context, attacher));
        if (!renew)
        {
            return call;
        }

        var renewer = StartRenewer(context.Method.FullName, call.ResponseHeadersAsync, attacher);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(
            call.RequestStream,
            new RenewedStreamReader<TResponse>(call.ResponseStream, renewer),
            call.ResponseHeadersAsync,
            call.GetStatus,
            call.GetTrailers,
            StopThenDispose(renewer, call));
    }

    /// <summary>
    /// Whether a streaming call is to be renewed: renewal is on, there is a channel to renew over, the caller did not set
    /// its own authorization header nor opt out. The opt-out header is taken off the call's headers: it is never sent.
    /// </summary>
    private bool WantsRenewal<TRequest, TResponse>(ref ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (RemoveNoRenewalMarker(ref context))
        {
            return false;
        }

        return options.RenewStreams && renewalInvoker is not null && !HasExplicitAuthorization(context);
    }

    /// <summary>A renewed call's dispose action: renewal stops first, so nothing is sent for a call being torn down.</summary>
    private static Action StopThenDispose(StreamRenewer renewer, IDisposable call) => () =>
    {
        renewer.Stop();
        call.Dispose();
    };

    /// <summary>Takes the opt-out header off the call's headers, whatever the call's type; whether it was there.</summary>
    private static bool RemoveNoRenewalMarker<TRequest, TResponse>(ref ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        var headers = context.Options.Headers;
        if (headers?.Get(NoRenewalHeader) is null)
        {
            return false;
        }

        var kept = new Metadata();
        foreach (var entry in headers)
        {
            if (!string.Equals(entry.Key, NoRenewalHeader, StringComparison.Ordinal))
            {
                kept.Add(entry);
            }
        }

        context = new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(kept));
        return true;
    }

    private StreamRenewer StartRenewer(string method, Task<Metadata> responseHeaders, TokenAttacher attacher)
    {
        var renewer = new StreamRenewer(provider, renewalInvoker!, method, options.StreamRenewalLeadTime, _timeProvider, logger);
        renewer.Start(responseHeaders, attacher);
        return renewer;
    }

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

    /// <summary>
    /// One unary call that may be retried once. Its status, trailers and response headers are those of the attempt
    /// that delivers the response: the retry once it has started, else the first attempt.
    /// </summary>
    /// <remarks>
    /// Headers asked for while the first attempt runs are that attempt's, as the server sends them. Nothing seen from
    /// here tells them from those of a trailers-only rejection: grpc-dotnet completes the headers of such a response
    /// (its trailers, less grpc-status and grpc-message) before it fails the call. So a caller who asked that early
    /// and is then retried has the rejected attempt's headers. Asked for once the first attempt has ended, the
    /// headers wait for the decision to retry, then are the retry's (as soon as the server sends them) or the first
    /// attempt's.
    /// </remarks>
    private sealed class RetryingUnaryCall<TRequest, TResponse>
        where TRequest : class
        where TResponse : class
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource<TResponse> _response = new();
        private readonly JwtCallCredentialsInterceptor _interceptor;
        private readonly TRequest _request;
        private readonly ClientInterceptorContext<TRequest, TResponse> _context;
        private readonly AsyncUnaryCallContinuation<TRequest, TResponse> _continuation;
        private readonly TokenAttacher _firstAttacher;
        private readonly AsyncUnaryCall<TResponse> _first;

        // Under _gate. _last is the attempt that delivers the response, once known. The sources are made only when
        // something waits: _lastKnown for headers asked for while a retry is decided, _disposedSignal for a token fetch.
        private AsyncUnaryCall<TResponse>? _last;
        private TaskCompletionSource<AsyncUnaryCall<TResponse>>? _lastKnown;
        private TaskCompletionSource? _disposedSignal;
        private bool _disposed;

        private RetryingUnaryCall(
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
            _first = first;
            _firstAttacher = attacher;
        }

        private AsyncUnaryCall<TResponse> Last => Volatile.Read(ref _last) ?? _first;

        public static AsyncUnaryCall<TResponse> Start(
            JwtCallCredentialsInterceptor interceptor,
            TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation,
            AsyncUnaryCall<TResponse> first,
            TokenAttacher attacher)
        {
            var call = new RetryingUnaryCall<TRequest, TResponse>(interceptor, request, context, continuation, first, attacher);
            _ = call.RunAsync();

            // Headers are looked up each time they are asked for (as grpc-dotnet does), not once when the call starts.
            return new AsyncUnaryCall<TResponse>(
                call._response.Task,
                static state => ((RetryingUnaryCall<TRequest, TResponse>)state).ResponseHeadersAsync(),
                static state => ((RetryingUnaryCall<TRequest, TResponse>)state).Last.GetStatus(),
                static state => ((RetryingUnaryCall<TRequest, TResponse>)state).Last.GetTrailers(),
                static state => ((RetryingUnaryCall<TRequest, TResponse>)state).Dispose(),
                call);
        }

        private Task<Metadata> ResponseHeadersAsync()
        {
            if (!_first.ResponseAsync.IsCompleted)
            {
                return ObservingResponseOnFailure(_first.ResponseHeadersAsync);
            }

            TaskCompletionSource<AsyncUnaryCall<TResponse>> lastKnown;
            lock (_gate)
            {
                if (_last is { } last)
                {
                    return ObservingResponseOnFailure(last.ResponseHeadersAsync);
                }

                lastKnown = _lastKnown ??= new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return ObservingResponseOnFailure(HeadersOfAsync(lastKnown.Task));
        }

        private void Dispose()
        {
            AsyncUnaryCall<TResponse>? retry;
            TaskCompletionSource? disposedSignal;
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                retry = ReferenceEquals(_last, _first) ? null : _last;
                disposedSignal = _disposedSignal;
            }

            _first.Dispose();
            retry?.Dispose();
            disposedSignal?.TrySetResult();

            // As grpc-dotnet does for its calls: nobody need observe the failure of a disposed call.
            Observe(_response.Task);
        }

        private async Task RunAsync()
        {
            try
            {
                AsyncUnaryCall<TResponse> retry;
                try
                {
                    var response = await _first.ResponseAsync.ConfigureAwait(false);
                    Settle(_first);
                    _response.TrySetResult(response);
                    return;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
                {
                    retry = StartRetry(await FreshTokenAsync(ex).ConfigureAwait(false), ex);
                }

                _response.TrySetResult(await retry.ResponseAsync.ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                Settle(_first);
                Fail(ex);
            }
        }

        /// <summary>The token to retry with; rethrows <paramref name="rejection"/> when there is none or the call was disposed meanwhile.</summary>
        private async Task<AccessToken> FreshTokenAsync(RpcException rejection)
        {
            var fetch = _interceptor.FreshTokenForRetry(_context, _firstAttacher, rejection);
            if (fetch.IsCompleted)
            {
                return await fetch.ConfigureAwait(false);
            }

            var pending = fetch.AsTask();
            Task disposed;
            lock (_gate)
            {
                if (_disposed)
                {
                    Observe(pending);
                    throw rejection;
                }

                disposed = (_disposedSignal ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            if (await Task.WhenAny(pending, disposed).ConfigureAwait(false) != pending)
            {
                Observe(pending);
                throw rejection;
            }

            return await pending.ConfigureAwait(false);
        }

        private AsyncUnaryCall<TResponse> StartRetry(AccessToken fresh, RpcException rejection)
        {
            var retry = _continuation(_request, WithToken(_context, _interceptor.NewAttacher(fresh)));
            if (!Settle(retry))
            {
                // Disposed while the retry was being started.
                retry.Dispose();
                throw rejection;
            }

            return retry;
        }

        /// <summary>
        /// Makes <paramref name="attempt"/> the one that delivers the response, unless one already is. A retry is
        /// refused once the call has been disposed.
        /// </summary>
        private bool Settle(AsyncUnaryCall<TResponse> attempt)
        {
            TaskCompletionSource<AsyncUnaryCall<TResponse>>? lastKnown;
            lock (_gate)
            {
                if (_last is not null || (_disposed && !ReferenceEquals(attempt, _first)))
                {
                    return false;
                }

                _last = attempt;
                lastKnown = _lastKnown;
            }

            lastKnown?.TrySetResult(attempt);
            return true;
        }

        /// <summary>Ends the call as its last attempt ended, observing cancellation-like failures as grpc-dotnet does.</summary>
        private void Fail(Exception exception)
        {
            if (exception is OperationCanceledException canceled)
            {
                _response.TrySetCanceled(canceled.CancellationToken);
                return;
            }

            _response.TrySetException(exception);
            if (exception is RpcException { StatusCode: StatusCode.Cancelled or StatusCode.DeadlineExceeded })
            {
                Observe(_response.Task);
            }
        }

        /// <summary>
        /// <paramref name="headers"/>, whose failure is observed and then also that of the response: the caller is
        /// unlikely to look at both (grpc-dotnet does the same).
        /// </summary>
        private Task<Metadata> ObservingResponseOnFailure(Task<Metadata> headers)
        {
            if (!headers.IsCompletedSuccessfully)
            {
                _ = headers.ContinueWith(
                    static (headers, response) =>
                    {
                        _ = headers.Exception;
                        Observe((Task)response!);
                    },
                    _response.Task,
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }

            return headers;
        }

        private static async Task<Metadata> HeadersOfAsync(Task<AsyncUnaryCall<TResponse>> attempt) =>
            await (await attempt.ConfigureAwait(false)).ResponseHeadersAsync.ConfigureAwait(false);

        private static void Observe(Task task)
        {
            if (task.IsCompleted)
            {
                _ = task.Exception;
                return;
            }

            _ = task.ContinueWith(
                static task => _ = task.Exception,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    /// <summary>Reads a renewed stream's responses; its end (or failure) ends the renewal.</summary>
    private sealed class RenewedStreamReader<T>(IAsyncStreamReader<T> inner, StreamRenewer renewer) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var next = inner.MoveNext(cancellationToken);
            if (next.IsCompletedSuccessfully)
            {
                if (!next.Result)
                {
                    renewer.Stop();
                }

                return next;
            }

            return AwaitedAsync(next);
        }

        private async Task<bool> AwaitedAsync(Task<bool> next)
        {
            try
            {
                var more = await next.ConfigureAwait(false);
                if (!more)
                {
                    renewer.Stop();
                }

                return more;
            }
            catch
            {
                renewer.Stop();
                throw;
            }
        }
    }
}
