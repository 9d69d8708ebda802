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
/// the <see cref="JwtCaller"/>). Returns the failure, never throws it. A cache hit allocates nothing.
/// </summary>
internal sealed class CallAuthenticator(
    CompiledAuthOptions options,
    MethodPolicyProvider policies,
    JwtTokenValidator validator,
    ValidatedTokenCache cache,
    SigningKeyManager keys,
    ILogger<CallAuthenticator> logger)
{
    private readonly int _maxTokenLength = options.MaxTokenLength;

    public ValueTask<AuthFailure> AuthenticateAsync(ServerCallContext context)
    {
        var httpContext = context.GetHttpContext();
        var policy = policies.Get(context.Method, httpContext);
        if (policy.AllowAnonymous)
        {
            return ValueTask.FromResult(AuthFailure.None);
        }

        var failure = BearerHeaderParser.TryGetToken(
            httpContext.Request.Headers.Authorization, _maxTokenLength, out var header, out var start, out var length);
        if (failure != AuthFailure.None)
        {
            return ValueTask.FromResult(Reject(context, failure, keyId: null));
        }

        if (cache.TryGet(header.AsSpan(start, length), keys.Current.Version, out var cached))
        {
            return ValueTask.FromResult(Authorize(context, httpContext, policy, cached));
        }

        var token = start == 0 && length == header.Length ? header : header.Substring(start, length);
        var pending = validator.ValidateAsync(token, context.CancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.FromResult(Complete(context, httpContext, policy, token, pending.Result));
        }

        return AwaitAsync(context, httpContext, policy, token, pending);
    }

    private async ValueTask<AuthFailure> AwaitAsync(
        ServerCallContext context, HttpContext httpContext, MethodPolicy policy, string token, ValueTask<TokenCheck> pending) =>
        Complete(context, httpContext, policy, token, await pending.ConfigureAwait(false));

    private AuthFailure Complete(ServerCallContext context, HttpContext httpContext, MethodPolicy policy, string token, TokenCheck check)
    {
        if (check.Failure != AuthFailure.None)
        {
            return Reject(context, check.Failure, check.KeyId);
        }

        var caller = check.Caller!;
        cache.Add(token, caller, check.KeySetVersion);
        return Authorize(context, httpContext, policy, caller);
    }

    private AuthFailure Authorize(ServerCallContext context, HttpContext httpContext, MethodPolicy policy, JwtCaller caller)
    {
        var denied = policy.Authorize(caller);
        if (denied != AuthFailure.None)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Log.CallDenied(logger, context.Method, context.Peer, caller.Subject, caller.Issuer, caller.TokenId,
                    AuthFailures.Get(denied).Tag);
            }

            return denied;
        }

        httpContext.User = caller.Principal;
        return AuthFailure.None;
    }

    private AuthFailure Reject(ServerCallContext context, AuthFailure failure, string? keyId)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.CallRejected(logger, context.Method, context.Peer, AuthFailures.Get(failure).Tag, Truncate(keyId));
        }

        return failure;
    }

    // A kid comes from an unvalidated header: keep what reaches the log short.
    private static string? Truncate(string? value) => value is { Length: > 64 } ? value[..64] + "…" : value;
}
