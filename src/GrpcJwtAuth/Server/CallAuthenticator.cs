using System.Diagnostics;
using Grpc.Core;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Keys;
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
    SigningKeyManager keys,
    ILogger<CallAuthenticator> logger,
    Metrics? metrics = null,
    RejectionBursts? bursts = null)
{
    private readonly int _maxTokenLength = options.MaxTokenLength;

    public ValueTask<AuthFailure> AuthenticateAsync(ServerCallContext context)
    {
        var httpContext = context.GetHttpContext();
        var policy = policies.Get(context.Method, httpContext);
        if (policy.AllowAnonymous)
        {
            metrics?.Anonymous(context.Method);
            AuthActivity.RecordAnonymous();
            return ValueTask.FromResult(AuthFailure.None);
        }

        var failure = BearerHeaderParser.TryGetToken(
            httpContext.Request.Headers.Authorization, _maxTokenLength, out var header, out var start, out var length);
        if (failure != AuthFailure.None)
        {
            return ValueTask.FromResult(Reject(context, failure, token: null, keyId: null));
        }

        var hit = cache.TryGet(header.AsSpan(start, length), keys.Current.Version, out var cached);
        if (cache.Enabled)
        {
            metrics?.CacheLookup(hit);
        }

        if (hit)
        {
            return ValueTask.FromResult(Authorize(context, httpContext, policy, cached));
        }

        // A slice of the header: the token is copied into a string only if the cache admits it.
        var token = header.AsMemory(start, length);
        var started = metrics is { ValidationDurationEnabled: true } ? Stopwatch.GetTimestamp() : 0;
        var pending = validator.ValidateAsync(token, context.CancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.FromResult(Complete(context, httpContext, policy, token, pending.Result, started));
        }

        return AwaitAsync(context, httpContext, policy, token, pending, started);
    }

    private async ValueTask<AuthFailure> AwaitAsync(
        ServerCallContext context, HttpContext httpContext, MethodPolicy policy, ReadOnlyMemory<char> token, ValueTask<TokenCheck> pending, long started) =>
        Complete(context, httpContext, policy, token, await pending.ConfigureAwait(false), started);

    private AuthFailure Complete(
        ServerCallContext context, HttpContext httpContext, MethodPolicy policy, ReadOnlyMemory<char> token, TokenCheck check, long started)
    {
        if (started != 0)
        {
            metrics!.ValidationDuration(started, check.Failure);
        }

        if (check.Failure != AuthFailure.None)
        {
            return Reject(context, check.Failure, token, check.KeyId);
        }

        var caller = check.Caller!;
        cache.Add(token.Span, caller, check.KeySetVersion);
        return Authorize(context, httpContext, policy, caller);
    }

    private AuthFailure Authorize(ServerCallContext context, HttpContext httpContext, MethodPolicy policy, JwtCaller caller)
    {
        var denied = policy.Authorize(caller);
        metrics?.Decision(context.Method, denied);
        AuthActivity.Record(denied, caller.Subject);
        if (denied != AuthFailure.None)
        {
            bursts?.Record(context.Peer, denied);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Log.CallDenied(logger, context.Method, context.Peer, RejectedTokenClaims.Sanitize(caller.Subject),
                    RejectedTokenClaims.Sanitize(caller.Issuer), RejectedTokenClaims.Sanitize(caller.TokenId),
                    RejectedTokenClaims.Sanitize(caller.KeyId), AuthFailures.Get(denied).Tag);
            }

            return denied;
        }

        httpContext.User = caller.Principal;
        return AuthFailure.None;
    }

    // token: when the header held one; its claims are read for the Debug line only.
    private AuthFailure Reject(ServerCallContext context, AuthFailure failure, ReadOnlyMemory<char>? token, string? keyId)
    {
        metrics?.Decision(context.Method, failure);
        AuthActivity.Record(failure, validatedSubject: null);
        bursts?.Record(context.Peer, failure);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            // A kid, iss, sub or jti from a rejected token is whatever the sender wrote: Sanitize keeps it short.
            var claims = RejectedTokenClaims.Read(token?.ToString(), failure);
            Log.CallRejected(logger, context.Method, context.Peer, AuthFailures.Get(failure).Tag,
                RejectedTokenClaims.Sanitize(keyId), claims.Issuer, claims.Subject, claims.TokenId);
        }

        return failure;
    }
}
