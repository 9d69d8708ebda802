using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// Authenticates one request's bearer token: the one GrpcJwtAuth core behind both its authentication handler and its
/// gRPC interceptor. Reads <c>authorization: Bearer</c> (or the token an <see cref="GrpcJwtAuthEvents.OnMessageReceived"/>
/// gives), takes the caller from the validated-token cache or validates the token, gives the request its own principal,
/// and runs the events. When asked (the interceptor, where ASP.NET Core's authentication service did not run), also the
/// app's <see cref="IClaimsTransformation"/>. Never throws for a bad token; records nothing about the call's decision.
/// A cache hit without events or transformation costs a lookup; the request's principal is created only when needed.
/// </summary>
internal sealed class TokenAuthenticator(
    CompiledAuthOptions options,
    JwtTokenValidator validator,
    ValidatedTokenCache cache,
    Metrics? metrics = null)
{
    private readonly int _maxTokenLength = options.MaxTokenLength;
    private readonly bool _hasEvents = options.HasEvents;

    // Resolved on the first request: after the host is built, registrations no longer change.
    private volatile int _transformation; // 0 unknown, 1 none (the framework's no-op), 2 one is registered

    public ValueTask<AuthOutcome> AuthenticateAsync(HttpContext httpContext, bool transform, CancellationToken cancellationToken)
    {
        if (_hasEvents)
        {
            return AuthenticateWithEventsAsync(httpContext, transform, cancellationToken);
        }

        // The common path, not an async method: no events, and a transformation only when the app registered one. The
        // token's characters are checked only if it is not a token validated before.
        var failure = BearerHeaderParser.TryGetToken(
            httpContext.Request.Headers.Authorization, _maxTokenLength, checkTokenSyntax: false, out var header, out var start, out var length);
        if (failure != AuthFailure.None)
        {
            return ValueTask.FromResult(AuthOutcome.Fail(failure));
        }

        return ValidateAsync(
            httpContext, header.AsMemory(start, length), header, events: null, transform && HasTransformation(httpContext), cancellationToken, checkTokenSyntax: true);
    }

    private async ValueTask<AuthOutcome> AuthenticateWithEventsAsync(HttpContext httpContext, bool transform, CancellationToken cancellationToken)
    {
        var events = _hasEvents ? options.EventsFor(httpContext) : null;
        ReadOnlyMemory<char> token;
        string? header = null;
        if (events is not null)
        {
            var received = new GrpcJwtAuthMessageReceivedContext(httpContext);
            await events.MessageReceived(received).ConfigureAwait(false);
            if (received.FailureReason is { } reason)
            {
                return new AuthOutcome(AuthFailure.RejectedByEvent, null, null, null, reason);
            }

            if (received.EndedWithNoResult)
            {
                return AuthOutcome.Fail(AuthFailure.MissingAuthorization);
            }

            if (received.Token is { } given)
            {
                if (string.IsNullOrEmpty(given))
                {
                    return AuthOutcome.Fail(AuthFailure.MissingAuthorization);
                }

                if (given.Length > _maxTokenLength)
                {
                    return await FailedAsync(events, httpContext, AuthOutcome.Fail(AuthFailure.TokenTooLarge)).ConfigureAwait(false);
                }

                header = given;
                token = given.AsMemory();

                // Not from the authorization header: a forwarding or exchanging token source must find it here.
                httpContext.Items[Downstream.CallerToken.ItemKey] = given;
                return await ValidateAsync(httpContext, token, header, events, transform, cancellationToken).ConfigureAwait(false);
            }
        }

        var failure = BearerHeaderParser.TryGetToken(
            httpContext.Request.Headers.Authorization, _maxTokenLength, out header, out var start, out var length);
        if (failure != AuthFailure.None)
        {
            return failure == AuthFailure.MissingAuthorization || events is null
                ? AuthOutcome.Fail(failure)
                : await FailedAsync(events, httpContext, AuthOutcome.Fail(failure)).ConfigureAwait(false);
        }

        token = header.AsMemory(start, length);
        if (events is null && !transform)
        {
            // The common path: no events, and the authentication service (not this class) transforms claims.
            var pending = ValidateAsync(httpContext, token, header, events: null, transform: false, cancellationToken);
            return pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
        }

        return await ValidateAsync(httpContext, token, header, events, transform, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<AuthOutcome> ValidateAsync(
        HttpContext httpContext,
        ReadOnlyMemory<char> token,
        string header,
        GrpcJwtAuthEvents? events,
        bool transform,
        CancellationToken cancellationToken,
        bool checkTokenSyntax = false)
    {
        var hit = MemoryMarshal.TryGetString(token, out var source, out var start, out var length)
            ? cache.TryGet(source, start, length, out var cached)
            : cache.TryGet(token.Span, out cached);
        if (cache.Enabled)
        {
            metrics?.CacheLookup(hit);
        }

        if (hit)
        {
            // Equal to a token that passed validation, so well-formed too.
            return Authenticated(httpContext, cached, keyId: cached.KeyId, events, transform);
        }

        if (checkTokenSyntax && !BearerHeaderParser.IsToken(token.Span))
        {
            return ValueTask.FromResult(AuthOutcome.Fail(AuthFailure.MalformedBearerValue));
        }

        var started = metrics is { ValidationDurationEnabled: true } ? Stopwatch.GetTimestamp() : 0;
        var pending = validator.ValidateAsync(token, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            return Validated(httpContext, token, header, pending.Result, started, events, transform);
        }

        return AwaitValidationAsync(httpContext, token, header, pending, started, events, transform);
    }

    private async ValueTask<AuthOutcome> AwaitValidationAsync(
        HttpContext httpContext, ReadOnlyMemory<char> token, string header, ValueTask<TokenCheck> pending, long started, GrpcJwtAuthEvents? events, bool transform) =>
        await Validated(httpContext, token, header, await pending.ConfigureAwait(false), started, events, transform).ConfigureAwait(false);

    private ValueTask<AuthOutcome> Validated(
        HttpContext httpContext, ReadOnlyMemory<char> token, string header, TokenCheck check, long started, GrpcJwtAuthEvents? events, bool transform)
    {
        if (started != 0)
        {
            metrics!.ValidationDuration(started, check.Failure);
        }

        if (check.Failure != AuthFailure.None)
        {
            // The token is kept only for the Debug line that reads its unvalidated claims (never a status or a metric).
            var failed = AuthOutcome.Fail(check.Failure, check.KeyId, token.Length == header.Length ? header : token.ToString()) with { Detail = check.Detail };
            return events is null ? ValueTask.FromResult(failed) : FailedAsync(events, httpContext, failed);
        }

        cache.Add(token.Span, check.Caller!, check.Issuer!, check.KeySet!);
        return Authenticated(httpContext, check.Caller!, check.KeyId, events, transform);
    }

    private ValueTask<AuthOutcome> Authenticated(HttpContext httpContext, JwtCaller caller, string? keyId, GrpcJwtAuthEvents? events, bool transform)
    {
        if (events is null && (!transform || !HasTransformation(httpContext)))
        {
            // Nothing to hand a principal to: it is created when something needs it (AuthOutcome.WithPrincipal).
            return ValueTask.FromResult(new AuthOutcome(AuthFailure.None, caller, Principal: null, keyId));
        }

        return AuthenticatedAsync(httpContext, caller, JwtCallPrincipal.For(caller), keyId, events, transform);
    }

    private async ValueTask<AuthOutcome> AuthenticatedAsync(
        HttpContext httpContext, JwtCaller caller, ClaimsPrincipal principal, string? keyId, GrpcJwtAuthEvents? events, bool transform)
    {
        if (events is not null)
        {
            var validated = new GrpcJwtAuthTokenValidatedContext(httpContext, principal, caller);
            await events.TokenValidated(validated).ConfigureAwait(false);
            if (validated.FailureReason is { } reason)
            {
                return new AuthOutcome(AuthFailure.RejectedByEvent, null, null, keyId, reason);
            }

            principal = validated.Principal;
        }

        if (transform && HasTransformation(httpContext))
        {
            var transformation = httpContext.RequestServices.GetRequiredService<IClaimsTransformation>();
            principal = await transformation.TransformAsync(principal).ConfigureAwait(false);
        }

        return new AuthOutcome(AuthFailure.None, caller, principal, keyId);
    }

    private static async ValueTask<AuthOutcome> FailedAsync(GrpcJwtAuthEvents events, HttpContext httpContext, AuthOutcome failed)
    {
        var info = AuthFailures.Get(failed.Failure);
        await events.AuthenticationFailed(new GrpcJwtAuthFailedContext(httpContext, failed.StatusDetail, info.Tag)).ConfigureAwait(false);
        return failed;
    }

    /// <summary>Whether the app registered an <see cref="IClaimsTransformation"/> of its own (not the framework's no-op).</summary>
    private bool HasTransformation(HttpContext httpContext)
    {
        var known = _transformation;
        if (known == 0)
        {
            var registered = httpContext.RequestServices.GetService<IClaimsTransformation>();
            known = registered is null or NoopClaimsTransformation ? 1 : 2;
            _transformation = known;
        }

        return known == 2;
    }
}
