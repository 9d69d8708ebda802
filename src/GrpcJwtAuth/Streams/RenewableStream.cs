using System.Security.Claims;
using Grpc.Core;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace GrpcJwtAuth.Streams;

/// <summary>
/// One live streaming call that can be renewed: its call id, whose token it runs on, what its method requires, and its
/// <see cref="StreamExpiry"/>. Lives exactly as long as the call: the interceptor registers it when the call starts and
/// ends it (<see cref="EndAsync"/>) before the call completes, and only then is its id forgotten.
/// </summary>
/// <remarks>
/// A renewal runs on another request's thread and never touches this call's <see cref="HttpContext"/>: it replaces
/// the principal held by <see cref="RenewableUserFeature"/>, which this call's <c>HttpContext.User</c> reads. The one
/// gate serialises what must not overlap: sending the call id header (by the handler's first write, or by the
/// header timer when the handler writes nothing), a renewal's policy check and update, and the end of the call.
/// </remarks>
internal sealed class RenewableStream
{
    /// <summary>The response header that carries the call id.</summary>
    public const string CallIdHeader = "grpcjwtauth-call-id";

    /// <summary>How long a handler has to send its own response headers before the call id is sent without them.</summary>
    public static readonly TimeSpan HeaderDelay = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _attemptsGate = new();
    private readonly RenewableStreams _registry;
    private readonly HttpContext _httpContext;
    private readonly ServerCallContext _callContext;
    private readonly RenewableUserFeature _user;
    private readonly TimeProvider _timeProvider;
    private ITimer? _headerTimer;
    private volatile bool _headersSent;
    private bool _ended;
    private DateTimeOffset _windowStart;
    private int _attempts;
    private int _renewals;

    internal RenewableStream(
        RenewableStreams registry,
        string callId,
        StreamOwner owner,
        EndpointAuthorization authorization,
        object? resource,
        ServerCallContext callContext,
        StreamExpiry expiry,
        TimeProvider timeProvider)
    {
        _registry = registry;
        CallId = callId;
        Owner = owner;
        Authorization = authorization;
        Resource = resource;
        Expiry = expiry;
        _callContext = callContext;
        _httpContext = callContext.GetHttpContext();
        _timeProvider = timeProvider;
        _windowStart = timeProvider.GetUtcNow();
        _user = RenewableUserFeature.Install(_httpContext);
    }

    public string CallId { get; }

    /// <summary>Whose stream this is: a renewal must bring a token of the same issuer, subject, client and binding.</summary>
    public StreamOwner Owner { get; }

    /// <summary>What the stream's method requires; checked again, with the renewal's principal, on every renewal.</summary>
    public EndpointAuthorization Authorization { get; }

    /// <summary>The resource the method's policy saw when the call started: its request message, or its <see cref="HttpContext"/>.</summary>
    public object? Resource { get; }

    public StreamExpiry Expiry { get; }

    /// <summary>How many times the stream has been renewed.</summary>
    public int Renewals => Volatile.Read(ref _renewals);

    /// <summary>Whether the call id has gone out with the response headers; from then on writes need no gate.</summary>
    public bool HeadersSent => _headersSent;

    /// <summary>Sends the call id with the handler's first response message, or after <see cref="HeaderDelay"/> on its own.</summary>
    internal void StartHeaderTimer() =>
        _headerTimer = _timeProvider.CreateTimer(
            static state => _ = ((RenewableStream)state!).SendHeadersAsync(), this, HeaderDelay, Timeout.InfiniteTimeSpan);

    /// <summary>Before the handler's first response message: the call id goes out with the headers that message sends.</summary>
    public async Task BeforeFirstWriteAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_headersSent && !_ended)
            {
                _httpContext.Response.Headers.Append(CallIdHeader, CallId);
                _headersSent = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The handler sends its own response headers: the call id goes with them, unless it already went out alone.</summary>
    public async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_headersSent)
            {
                throw new InvalidOperationException(
                    "Response headers were already sent: GrpcJwtAuth sends a renewable stream's call id in its response " +
                    $"headers when the handler has sent none {HeaderDelay.TotalSeconds:0} s after the call starts. Send " +
                    "response headers before then, or unmap the stream renewal service.");
            }

            if (!_ended)
            {
                responseHeaders.Add(CallIdHeader, CallId);
                _headersSent = true;
            }

            await _callContext.WriteResponseHeadersAsync(responseHeaders).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task SendHeadersAsync()
    {
        try
        {
            await _gate.WaitAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            if (!_headersSent && !_ended && !_httpContext.Response.HasStarted)
            {
                _headersSent = true;
                await _callContext.WriteResponseHeadersAsync(new Metadata { { CallIdHeader, CallId } }).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException)
        {
            // The call is ending: its headers are no longer needed.
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Counts a renewal attempt against the per-minute limit. Only attempts by the stream's owner are counted, so nobody
    /// else can use up a stream's renewals.
    /// </summary>
    public bool TryCountAttempt(int perMinute)
    {
        var now = _timeProvider.GetUtcNow();
        lock (_attemptsGate)
        {
            if (now - _windowStart >= TimeSpan.FromMinutes(1) || now < _windowStart)
            {
                _windowStart = now;
                _attempts = 0;
            }

            if (_attempts >= perMinute)
            {
                return false;
            }

            _attempts++;
            return true;
        }
    }

    /// <summary>
    /// Renews the stream once <paramref name="check"/> (the method's policy, for the renewal's principal) passes:
    /// its end moves to <paramref name="acceptedUntil"/> and its <c>HttpContext.User</c> becomes <paramref name="principal"/>.
    /// </summary>
    /// <returns>The check's refusal, <see cref="CallDecision.Allowed"/> when renewed, or <see langword="null"/> when the call has ended.</returns>
    public async Task<CallDecision?> RenewAsync(
        ClaimsPrincipal principal, DateTimeOffset acceptedUntil, Func<ValueTask<CallDecision>> check)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_ended || Expiry.Expired)
            {
                return null;
            }

            var decision = await check().ConfigureAwait(false);
            if (!decision.IsAllowed)
            {
                return decision;
            }

            if (!Expiry.Extend(acceptedUntil))
            {
                return null;
            }

            _user.Renew(principal);
            Interlocked.Increment(ref _renewals);
            return decision;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Ends the stream's renewability: waits for a renewal or header write in flight, then forgets the id.</summary>
    public async Task EndAsync()
    {
        _headerTimer?.Dispose();
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _ended = true;
            _registry.Remove(this);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>
/// A renewable stream's <see cref="IHttpAuthenticationFeature"/>: the call's own principal until a renewal replaces it,
/// then the renewal's. Only the reference is shared with the renewing request, never the call's <see cref="HttpContext"/>.
/// </summary>
internal sealed class RenewableUserFeature(IHttpAuthenticationFeature? inner) : IHttpAuthenticationFeature
{
    private ClaimsPrincipal? _renewed;

    public ClaimsPrincipal? User
    {
        get => Volatile.Read(ref _renewed) ?? inner?.User;
        set
        {
            Volatile.Write(ref _renewed, null);
            if (inner is not null)
            {
                inner.User = value;
            }
            else
            {
                Volatile.Write(ref _renewed, value);
            }
        }
    }

    public static RenewableUserFeature Install(HttpContext httpContext)
    {
        var feature = new RenewableUserFeature(RequestFeatures.Get<IHttpAuthenticationFeature>(httpContext));
        RequestFeatures.Set<IHttpAuthenticationFeature>(httpContext, feature);
        return feature;
    }

    public void Renew(ClaimsPrincipal principal) => Volatile.Write(ref _renewed, principal);
}
