using System.Diagnostics;
using Grpc.Core;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Server;

/// <summary>
/// Decides one call: finds the method's policy, reads the bearer token, takes its caller from the validated-token
/// cache or validates it, checks roles and scopes, and on success sets <c>HttpContext.User</c> (whose principal carries
/// the <see cref="JwtCaller"/>). Returns the failure, never throws it. Each decision is counted
/// (<see cref="Metrics"/>), tagged on the current activity (<see cref="AuthActivity"/>) and, when rejected, logged at
/// Debug and counted per peer (<see cref="RejectionBursts"/>). A cache hit allocates nothing, with or without listeners
/// on the metrics.
/// </summary>
internal sealed class CallAuthenticator(
    CompiledAuthOptions options,
    MethodPolicyProvider policies,
    JwtTokenValidator validator,
    ValidatedTokenCache cache,
    ILogger<CallAuthenticator> logger,
    Metrics? metrics = null,
    RejectionBursts? bursts = null)
{
    private readonly int _maxTokenLength = options.MaxTokenLength;

    /// <summary>Decides a call that reached the interceptor: the policy is that of the gRPC method it was routed to.</summary>
    public ValueTask<AuthFailure> AuthenticateAsync(ServerCallContext context)
    {
        var httpContext = context.GetHttpContext();
        return AuthenticateAsync(httpContext, policies.Get(httpContext), context.CancellationToken);
    }

    /// <summary>Decides a request under <paramref name="policy"/>; on success <c>HttpContext.User</c> is the caller's principal.</summary>
    public ValueTask<AuthFailure> AuthenticateAsync(HttpContext httpContext, MethodPolicy policy, CancellationToken cancellationToken)
    {
        if (policy.IsUnresolved)
        {
            return ValueTask.FromResult(Reject(httpContext, policy, AuthFailure.UnresolvedMethod, token: null, keyId: null));
        }

        if (policy.AllowAnonymous)
        {
            metrics?.Anonymous(policy.Method);
            AuthActivity.RecordAnonymous();
            return ValueTask.FromResult(AuthFailure.None);
        }

        var failure = BearerHeaderParser.TryGetToken(
            httpContext.Request.Headers.Authorization, _maxTokenLength, out var header, out var start, out var length);
        if (failure != AuthFailure.None)
        {
            return ValueTask.FromResult(Reject(httpContext, policy, failure, token: null, keyId: null));
        }

        var hit = cache.TryGet(header.AsSpan(start, length), out var cached);
        if (cache.Enabled)
        {
            metrics?.CacheLookup(hit);
        }

        if (hit)
        {
            return ValueTask.FromResult(Authorize(httpContext, policy, cached));
        }

        // A slice of the header: the token is copied into a string only if the cache admits it.
        var token = header.AsMemory(start, length);
        var started = metrics is { ValidationDurationEnabled: true } ? Stopwatch.GetTimestamp() : 0;
        var pending = validator.ValidateAsync(token, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.FromResult(Complete(httpContext, policy, token, pending.Result, started));
        }

        return AwaitAsync(httpContext, policy, token, pending, started);
    }

    private async ValueTask<AuthFailure> AwaitAsync(
        HttpContext httpContext, MethodPolicy policy, ReadOnlyMemory<char> token, ValueTask<TokenCheck> pending, long started) =>
        Complete(httpContext, policy, token, await pending.ConfigureAwait(false), started);

    private AuthFailure Complete(HttpContext httpContext, MethodPolicy policy, ReadOnlyMemory<char> token, TokenCheck check, long started)
    {
        if (started != 0)
        {
            metrics!.ValidationDuration(started, check.Failure);
        }

        if (check.Failure != AuthFailure.None)
        {
            return Reject(httpContext, policy, check.Failure, token, check.KeyId);
        }

        var caller = check.Caller!;
        cache.Add(token.Span, caller, check.Issuer!, check.KeySet!);
        return Authorize(httpContext, policy, caller);
    }

    private AuthFailure Authorize(HttpContext httpContext, MethodPolicy policy, JwtCaller caller)
    {
        var denied = policy.Authorize(caller);
        metrics?.Decision(policy.Method, denied);
        AuthActivity.Record(denied, caller.Subject);
        if (denied != AuthFailure.None)
        {
            var peer = CallPeer.Of(httpContext);
            bursts?.Record(peer, denied);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Log.CallDenied(logger, policy.Method, peer, RejectedTokenClaims.Sanitize(caller.Subject),
                    RejectedTokenClaims.Sanitize(caller.Issuer), RejectedTokenClaims.Sanitize(caller.TokenId),
                    RejectedTokenClaims.Sanitize(caller.KeyId), AuthFailures.Get(denied).Tag);
            }

            return denied;
        }

        httpContext.User = caller.Principal;
        return AuthFailure.None;
    }

    // token: when the header held one; its claims are read for the Debug line only.
    private AuthFailure Reject(HttpContext httpContext, MethodPolicy policy, AuthFailure failure, ReadOnlyMemory<char>? token, string? keyId)
    {
        metrics?.Decision(policy.Method, failure);
        AuthActivity.Record(failure, validatedSubject: null);
        var peer = CallPeer.Of(httpContext);
        bursts?.Record(peer, failure);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            // A kid, iss, sub or jti from a rejected token is whatever the sender wrote: Sanitize keeps it short.
            var claims = RejectedTokenClaims.Read(token?.ToString(), failure);
            Log.CallRejected(logger, policy.Method, peer, AuthFailures.Get(failure).Tag,
                RejectedTokenClaims.Sanitize(keyId), claims.Issuer, claims.Subject, claims.TokenId);
        }

        return failure;
    }
}
