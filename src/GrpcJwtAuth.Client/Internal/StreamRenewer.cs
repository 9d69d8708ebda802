using Grpc.Core;
using GrpcJwtAuth.Protocol.V1;
using GrpcJwtAuth.Shared;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Keeps one streaming call renewed. Once the call's response headers bring a call id, it waits until shortly before
/// the token the call was started with expires, gets a fresh token from the same provider and sends it with the call
/// id to the server's <c>grpcjwtauth.v1.StreamRenewal/Renew</c> over the same channel; then again before the fresh one
/// expires, for as long as the call lives. A failed attempt is retried with backoff (1 s doubling to 30 s) while the
/// current token lasts; after that the server ends the stream, as it would without renewal. Stops for good when the
/// call ends, or when the server says renewal cannot work (<c>Unimplemented</c>: not mapped; <c>NotFound</c>: the
/// stream is gone). Every wait is on the injected <see cref="TimeProvider"/>; nothing runs after <see cref="Stop"/>.
/// </summary>
internal sealed class StreamRenewer
{
    internal const string CallIdHeader = "grpcjwtauth-call-id";

    /// <summary>The longest call id accepted from a response header; the server's are 43 characters.</summary>
    internal const int MaxCallIdLength = 128;

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stop = new();
    private readonly IAccessTokenProvider _provider;
    private readonly Func<CallInvoker> _invoker;
    private readonly string _method;
    private readonly TimeSpan _leadTime;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private int _stopped;

    public StreamRenewer(
        IAccessTokenProvider provider, Func<CallInvoker> invoker, string method, TimeSpan leadTime, TimeProvider timeProvider, ILogger logger)
    {
        _provider = provider;
        _invoker = invoker;
        _method = method;
        _leadTime = leadTime;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>How many times the call has been renewed.</summary>
    public int Renewals { get; private set; }

    /// <summary>Completes when renewing has stopped for good.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Starts renewing once <paramref name="responseHeaders"/> arrive, the call having been sent with <paramref name="attacher"/>'s token.</summary>
    public void Start(Task<Metadata> responseHeaders, TokenAttacher attacher) =>
        Completion = RunAsync(responseHeaders, attacher);

    /// <summary>Stops renewing: the call has ended. Safe to call more than once, from any thread.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _stop.Cancel();
        }
    }

    private async Task RunAsync(Task<Metadata> responseHeaders, TokenAttacher attacher)
    {
        try
        {
            var headers = await responseHeaders.WaitAsync(_stop.Token).ConfigureAwait(false);
            if (headers.GetValue(CallIdHeader) is not { Length: > 0 and <= MaxCallIdLength } callId || attacher.SentToken is not { } current)
            {
                return;
            }

            while (current.ExpiresAt != DateTimeOffset.MaxValue)
            {
                var remaining = current.ExpiresAt - _timeProvider.GetUtcNow();
                var lead = remaining / 2 < _leadTime ? remaining / 2 : _leadTime;

                // The wait is set before it is logged: whoever reads the log may move the clock right away.
                var wait = DelayAsync(remaining - lead);
                Log.StreamRenewalScheduled(_logger, _method, current.ExpiresAt - lead, current.ExpiresAt);
                await wait.ConfigureAwait(false);
                if (await RenewOnceAsync(callId, current).ConfigureAwait(false) is not { } fresh)
                {
                    return;
                }

                current = fresh;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The call ended.
        }
        catch (RpcException)
        {
            // The call failed before its headers arrived: nothing to renew.
        }
    }

    /// <summary>Renews once, retrying with backoff until <paramref name="current"/> expires; the fresh token, or <see langword="null"/> to stop.</summary>
    private async Task<AccessToken?> RenewOnceAsync(string callId, AccessToken current)
    {
        var failures = 0;
        while (true)
        {
            string reason;
            try
            {
                var fresh = await _provider.GetFreshTokenAsync(current, _stop.Token).ConfigureAwait(false);
                if (fresh.ExpiresAt <= current.ExpiresAt)
                {
                    reason = "the token source gave no token expiring later than the current one";
                }
                else
                {
                    var acceptedUntil = await SendAsync(callId, fresh).ConfigureAwait(false);
                    Renewals++;
                    Log.StreamRenewed(_logger, _method, Renewals, acceptedUntil);
                    return fresh;
                }
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unimplemented or StatusCode.NotFound && !_stop.IsCancellationRequested)
            {
                Log.StreamRenewalStopped(_logger, _method, Describe(ex), current.ExpiresAt);
                return null;
            }
            catch (RpcException ex) when (!_stop.IsCancellationRequested)
            {
                reason = Describe(ex);
            }
            catch (AccessTokenException ex) when (!_stop.IsCancellationRequested)
            {
                reason = "no fresh token: " + ex.Message;
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                reason = $"no answer within {AttemptTimeout.TotalSeconds:0} s";
            }

            var backoff = RefreshGate.Backoff(++failures, FirstBackoff, LongestBackoff);
            if (_timeProvider.GetUtcNow() + backoff >= current.ExpiresAt)
            {
                Log.StreamRenewalStopped(_logger, _method, reason, current.ExpiresAt);
                return null;
            }

            var wait = DelayAsync(backoff);
            Log.StreamRenewalFailed(_logger, _method, reason, backoff, current.ExpiresAt);
            await wait.ConfigureAwait(false);
        }
    }

    private async Task<DateTimeOffset> SendAsync(string callId, AccessToken fresh)
    {
        using var timeout = new CancellationTokenSource(AttemptTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, timeout.Token);
        var headers = new Metadata { { TokenAttacher.HeaderName, "Bearer " + fresh.Value } };
        var client = new StreamRenewal.StreamRenewalClient(_invoker());
        var call = client.RenewAsync(new RenewStreamRequest { CallId = callId }, new CallOptions(headers, cancellationToken: linked.Token));
        var reply = await call.ResponseAsync.ConfigureAwait(false);
        return reply.AcceptedUntil?.ToDateTimeOffset() ?? fresh.ExpiresAt;
    }

    private Task DelayAsync(TimeSpan delay) =>
        delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, _timeProvider, _stop.Token);

    /// <summary>The server's status; its detail names the reason and never a token (GrpcJwtAuth's details never do).</summary>
    private static string Describe(RpcException exception) =>
        string.IsNullOrEmpty(exception.Status.Detail)
            ? exception.StatusCode.ToString()
            : $"{exception.StatusCode}: {SafeText.Sanitize(exception.Status.Detail, 200)}";
}
