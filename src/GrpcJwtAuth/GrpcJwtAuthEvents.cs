using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth;

/// <summary>
/// Hooks into GrpcJwtAuth's authentication, modelled on JwtBearer's <c>JwtBearerEvents</c>. Set an instance on
/// <see cref="GrpcJwtAuthOptions.Events"/>, or register a subclass in DI and name it in
/// <see cref="GrpcJwtAuthOptions.EventsType"/>. Each event runs once per request, on gRPC calls and on any other
/// endpoint the GrpcJwtAuth scheme authenticates; an event left <see langword="null"/> costs nothing.
/// </summary>
public class GrpcJwtAuthEvents
{
    /// <summary>
    /// Before the <c>authorization</c> metadata is read: set <see cref="GrpcJwtAuthMessageReceivedContext.Token"/> to take
    /// the token from elsewhere, or end authentication with <see cref="GrpcJwtAuthMessageReceivedContext.NoResult"/> or
    /// <see cref="GrpcJwtAuthMessageReceivedContext.Fail"/>.
    /// </summary>
    public Func<GrpcJwtAuthMessageReceivedContext, Task>? OnMessageReceived { get; set; }

    /// <summary>
    /// After the token validated, also when its validation came from the cache: look the caller up, add claims to this
    /// request's principal, or reject with <see cref="GrpcJwtAuthTokenValidatedContext.Fail"/> and a reason the caller
    /// sees.
    /// </summary>
    public Func<GrpcJwtAuthTokenValidatedContext, Task>? OnTokenValidated { get; set; }

    /// <summary>When a token was sent but did not validate; the reason is GrpcJwtAuth's fixed sentence.</summary>
    public Func<GrpcJwtAuthFailedContext, Task>? OnAuthenticationFailed { get; set; }

    /// <summary>
    /// Before a caller without a valid token is refused (<c>Unauthenticated</c> on a gRPC call, 401 elsewhere): change
    /// <see cref="GrpcJwtAuthResponseContext.Reason"/>, or on other requests write your own answer and call
    /// <see cref="GrpcJwtAuthResponseContext.HandleResponse"/>.
    /// </summary>
    public Func<GrpcJwtAuthResponseContext, Task>? OnChallenge { get; set; }

    /// <summary>
    /// Before an authenticated caller is refused by authorization (<c>PermissionDenied</c> on a gRPC call, 403
    /// elsewhere); as <see cref="OnChallenge"/>.
    /// </summary>
    public Func<GrpcJwtAuthResponseContext, Task>? OnForbidden { get; set; }

    /// <summary>Whether any event is set: without one, GrpcJwtAuth does not look at the events at all.</summary>
    internal bool IsEmpty => OnMessageReceived is null && OnTokenValidated is null && OnAuthenticationFailed is null
        && OnChallenge is null && OnForbidden is null && GetType() == typeof(GrpcJwtAuthEvents);

    /// <summary>Invokes <see cref="OnMessageReceived"/>.</summary>
    public virtual Task MessageReceived(GrpcJwtAuthMessageReceivedContext context) => OnMessageReceived?.Invoke(context) ?? Task.CompletedTask;

    /// <summary>Invokes <see cref="OnTokenValidated"/>.</summary>
    public virtual Task TokenValidated(GrpcJwtAuthTokenValidatedContext context) => OnTokenValidated?.Invoke(context) ?? Task.CompletedTask;

    /// <summary>Invokes <see cref="OnAuthenticationFailed"/>.</summary>
    public virtual Task AuthenticationFailed(GrpcJwtAuthFailedContext context) => OnAuthenticationFailed?.Invoke(context) ?? Task.CompletedTask;

    /// <summary>Invokes <see cref="OnChallenge"/>.</summary>
    public virtual Task Challenge(GrpcJwtAuthResponseContext context) => OnChallenge?.Invoke(context) ?? Task.CompletedTask;

    /// <summary>Invokes <see cref="OnForbidden"/>.</summary>
    public virtual Task Forbidden(GrpcJwtAuthResponseContext context) => OnForbidden?.Invoke(context) ?? Task.CompletedTask;
}

/// <summary>The request an event is about.</summary>
public abstract class GrpcJwtAuthEventContext
{
    private protected GrpcJwtAuthEventContext(HttpContext httpContext)
    {
        HttpContext = httpContext;
    }

    /// <summary>The request: for a gRPC call, <c>ServerCallContext.GetHttpContext()</c>.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>Whether the request is a gRPC call (its answers are gRPC statuses, not HTTP ones).</summary>
    public bool IsGrpcCall => Server.GrpcRequests.IsGrpc(HttpContext);
}

/// <summary>For <see cref="GrpcJwtAuthEvents.OnMessageReceived"/>.</summary>
public sealed class GrpcJwtAuthMessageReceivedContext : GrpcJwtAuthEventContext
{
    internal GrpcJwtAuthMessageReceivedContext(HttpContext httpContext)
        : base(httpContext)
    {
    }

    /// <summary>The token to validate instead of the one in the <c>authorization</c> metadata. Defaults to none.</summary>
    public string? Token { get; set; }

    internal bool EndedWithNoResult { get; private set; }

    internal string? FailureReason { get; private set; }

    /// <summary>Authenticates no one: the request goes on anonymous, as with no token.</summary>
    public void NoResult() => EndedWithNoResult = true;

    /// <summary>Rejects the request; <paramref name="reason"/> is the status detail the caller sees.</summary>
    public void Fail(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        FailureReason = reason;
    }
}

/// <summary>For <see cref="GrpcJwtAuthEvents.OnTokenValidated"/>.</summary>
public sealed class GrpcJwtAuthTokenValidatedContext : GrpcJwtAuthEventContext
{
    internal GrpcJwtAuthTokenValidatedContext(HttpContext httpContext, ClaimsPrincipal principal, JwtCaller caller)
        : base(httpContext)
    {
        Principal = principal;
        Caller = caller;
    }

    /// <summary>This request's own principal: claims added to it reach no other request. Replace it to change more.</summary>
    public ClaimsPrincipal Principal { get; set; }

    /// <summary>The validated token's caller.</summary>
    public JwtCaller Caller { get; }

    internal string? FailureReason { get; private set; }

    /// <summary>Rejects the request although the token is valid; <paramref name="reason"/> is the status detail the caller sees.</summary>
    public void Fail(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        FailureReason = reason;
    }
}

/// <summary>For <see cref="GrpcJwtAuthEvents.OnAuthenticationFailed"/>.</summary>
public sealed class GrpcJwtAuthFailedContext : GrpcJwtAuthEventContext
{
    internal GrpcJwtAuthFailedContext(HttpContext httpContext, string reason, string reasonTag)
        : base(httpContext)
    {
        Reason = reason;
        ReasonTag = reasonTag;
    }

    /// <summary>The status detail the caller gets, such as <c>token expired</c>.</summary>
    public string Reason { get; }

    /// <summary>The short tag of the reason, as in logs and metrics, such as <c>token_expired</c>.</summary>
    public string ReasonTag { get; }
}

/// <summary>For <see cref="GrpcJwtAuthEvents.OnChallenge"/> and <see cref="GrpcJwtAuthEvents.OnForbidden"/>.</summary>
public sealed class GrpcJwtAuthResponseContext : GrpcJwtAuthEventContext
{
    internal GrpcJwtAuthResponseContext(HttpContext httpContext, string reason)
        : base(httpContext)
    {
        Reason = reason;
    }

    /// <summary>
    /// The reason the caller is told: the gRPC status detail, or on other requests the <c>error_description</c> of
    /// <c>WWW-Authenticate</c>. Set it to say something else; it must not be empty.
    /// </summary>
    public string Reason
    {
        get;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            field = value;
        }
    }

    internal bool Handled { get; private set; }

    /// <summary>
    /// Skips GrpcJwtAuth's answer because the handler wrote its own. Honoured where GrpcJwtAuth writes the response
    /// (the authentication middleware's challenge or forbid); a gRPC call refused by GrpcJwtAuth's interceptor is
    /// refused with its status whatever this says, so no call runs because an event forgot to answer.
    /// </summary>
    public void HandleResponse() => Handled = true;
}
