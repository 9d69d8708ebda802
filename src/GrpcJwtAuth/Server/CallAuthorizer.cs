using System.Security.Claims;
using Grpc.Core;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Server;

/// <summary>How one call was decided: allowed, or the reason and the status detail the caller gets.</summary>
internal readonly record struct CallDecision(AuthFailure Failure, string? Detail = null)
{
    public static readonly CallDecision Allowed = new(AuthFailure.None);

    public bool IsAllowed => Failure == AuthFailure.None;

    public Status Status => Detail is null ? AuthFailures.Get(Failure).Status : new Status(AuthFailures.Get(Failure).Code, Detail);

    public RpcException CreateException() => new(Status);
}

/// <summary>
/// Decides one gRPC call, and is the one place that does, whatever ran before it in the pipeline: finds what the
/// routed method requires (<see cref="EndpointAuthorizationProvider"/>), authenticates the caller (reusing what
/// GrpcJwtAuth's authentication handler found earlier in the same request, else with <see cref="TokenAuthenticator"/>,
/// or through ASP.NET Core for the other schemes a policy names), sets <c>HttpContext.User</c>, and evaluates the
/// policy (<see cref="PolicyEvaluation"/>) with the request message as the resource when there is one. ASP.NET Core's
/// authorization middleware leaves gRPC methods' policies to it (<see cref="GrpcPolicyEvaluator"/>), so each is
/// evaluated once per call.
/// Each decision is counted (<see cref="Metrics"/>), tagged on the current activity (<see cref="AuthActivity"/>) and,
/// when rejected, logged at Debug and counted per peer (<see cref="RejectionBursts"/>). Never throws for a denial.
/// </summary>
internal sealed class CallAuthorizer(
    CompiledAuthOptions options,
    EndpointAuthorizationProvider endpoints,
    TokenAuthenticator authenticator,
    ILogger<CallAuthorizer> logger,
    Metrics? metrics = null,
    RejectionBursts? bursts = null)
{
    private readonly PolicyEvaluation _evaluation = new(options.ExposeAuthorizationFailureReasons);
    private readonly bool _recordUserId = options.RecordUserId;
    private readonly bool _hasEvents = options.HasEvents;

    /// <summary>Decides a call that reached the interceptor, the request message being <paramref name="resource"/> when there is one.</summary>
    public ValueTask<CallDecision> AuthorizeAsync(ServerCallContext context, object? resource)
    {
        var httpContext = context.GetHttpContext();
        var pending = endpoints.GetAsync(httpContext);
        return pending.IsCompletedSuccessfully
            ? AuthorizeAsync(httpContext, pending.Result, resource ?? httpContext, context.CancellationToken)
            : AwaitEndpointAsync(httpContext, pending, resource, context.CancellationToken);
    }

    /// <summary>Decides a request under <paramref name="authorization"/>; on success <c>HttpContext.User</c> is the caller.</summary>
    public ValueTask<CallDecision> AuthorizeAsync(
        HttpContext httpContext, EndpointAuthorization authorization, object? resource, CancellationToken cancellationToken)
    {
        if (authorization.Failure != AuthFailure.None)
        {
            return Reject(httpContext, authorization, new CallDecision(authorization.Failure), default);
        }

        if (!authorization.UsesOwnScheme)
        {
            return WithOtherSchemesAsync(httpContext, authorization, resource);
        }

        var pending = AuthenticateAsync(httpContext, cancellationToken);
        return pending.IsCompletedSuccessfully
            ? Authorize(httpContext, authorization, pending.Result, resource)
            : AwaitAuthenticationAsync(httpContext, authorization, pending, resource);
    }

    /// <summary>
    /// Checks <paramref name="authorization"/>'s policy again for a renewal of a stream of that method: for the
    /// renewing request's user (<c>HttpContext.User</c> of <paramref name="renewal"/>) and the stream's
    /// <paramref name="resource"/>. Not counted as a call decision; the renewal service counts its own outcomes.
    /// </summary>
    public async ValueTask<CallDecision> CheckRenewalAsync(EndpointAuthorization authorization, HttpContext renewal, object? resource)
    {
        if (authorization.Policy is not { } policy)
        {
            return CallDecision.Allowed;
        }

        return await _evaluation.EvaluateAsync(authorization, policy, renewal, untouchedCaller: null, resource).ConfigureAwait(false) is { } denied
            ? new CallDecision(denied.Failure, denied.Detail)
            : CallDecision.Allowed;
    }

    private async ValueTask<CallDecision> AwaitEndpointAsync(
        HttpContext httpContext, ValueTask<EndpointAuthorization> pending, object? resource, CancellationToken cancellationToken) =>
        await AuthorizeAsync(httpContext, await pending.ConfigureAwait(false), resource ?? httpContext, cancellationToken).ConfigureAwait(false);

    private async ValueTask<CallDecision> AwaitAuthenticationAsync(
        HttpContext httpContext, EndpointAuthorization authorization, ValueTask<AuthOutcome> pending, object? resource) =>
        await Authorize(httpContext, authorization, await pending.ConfigureAwait(false), resource).ConfigureAwait(false);

    /// <summary>
    /// GrpcJwtAuth's outcome for this request: the one its authentication handler kept (through the authentication
    /// middleware, its claims already transformed by ASP.NET Core), or a fresh one with the app's claims transformation.
    /// </summary>
    private ValueTask<AuthOutcome> AuthenticateAsync(HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (GrpcJwtAuthFeature.Of(httpContext)?.Outcome is { } known)
        {
            var outcome = known;
            if (outcome.Succeeded && RequestFeatures.Get<IAuthenticateResultFeature>(httpContext)?.AuthenticateResult is
                { Succeeded: true, Ticket.AuthenticationScheme: GrpcJwtAuthDefaults.AuthenticationScheme } result
                && !ReferenceEquals(result.Principal, outcome.Principal))
            {
                outcome = outcome with { Principal = result.Principal };
            }

            return ValueTask.FromResult(outcome);
        }

        // Not kept in a feature: once HttpContext.User is this caller's principal, GrpcJwtAuth's authentication service
        // answers HttpContext.AuthenticateAsync with it.
        return authenticator.AuthenticateAsync(httpContext, transform: true, cancellationToken);
    }

    private ValueTask<CallDecision> Authorize(HttpContext httpContext, EndpointAuthorization authorization, AuthOutcome outcome, object? resource)
    {
        var untouched = outcome.Succeeded ? SetUser(httpContext, outcome) : null;

        if (authorization.Policy is not { } policy)
        {
            // Anonymous: a valid token still authenticates the caller; a missing or bad one is no reason to refuse.
            metrics?.Anonymous(authorization.RpcMethod);
            AuthActivity.RecordAnonymous(_recordUserId && outcome.Succeeded ? outcome.Caller?.Subject : null);
            return ValueTask.FromResult(CallDecision.Allowed);
        }

        if (!outcome.Succeeded)
        {
            return Reject(httpContext, authorization, new CallDecision(outcome.Failure, outcome.Detail), outcome);
        }

        var pending = _evaluation.EvaluateAsync(authorization, policy, httpContext, untouched, resource);
        return pending.IsCompletedSuccessfully
            ? Decide(httpContext, authorization, outcome, pending.Result)
            : AwaitEvaluationAsync(httpContext, authorization, outcome, pending);
    }

    /// <summary>
    /// Makes the caller <c>HttpContext.User</c>. When its principal was not needed yet and no other scheme authenticated
    /// the request, it is left to be created on first read (<see cref="JwtCallUserFeature"/>). ASP.NET Core keeps an
    /// authenticate result on the same object as the user (one object is both features), whose result setting the user
    /// clears: that object is kept and its user set. Read from the user's feature, one of the server's own: a feature of
    /// another type costs a search of the request's and the connection's features when absent.
    /// </summary>
    /// <returns>The caller when its principal is left to be created: until then, nothing can have changed it.</returns>
    private static JwtCaller? SetUser(HttpContext httpContext, AuthOutcome outcome)
    {
        if (outcome.Principal is null && RequestFeatures.Get<IHttpAuthenticationFeature>(httpContext) is not IAuthenticateResultFeature)
        {
            RequestFeatures.Set<IHttpAuthenticationFeature>(httpContext, new JwtCallUserFeature(outcome.Caller!));
            return outcome.Caller;
        }

        httpContext.User = outcome.WithPrincipal().Principal!;
        return null;
    }

    private async ValueTask<CallDecision> AwaitEvaluationAsync(
        HttpContext httpContext, EndpointAuthorization authorization, AuthOutcome outcome, ValueTask<PolicyEvaluation.Denial?> pending) =>
        await Decide(httpContext, authorization, outcome, await pending.ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>A policy naming other schemes (JwtBearer, cookies): authenticated and evaluated through ASP.NET Core.</summary>
    private async ValueTask<CallDecision> WithOtherSchemesAsync(HttpContext httpContext, EndpointAuthorization authorization, object? resource)
    {
        var policy = authorization.Policy!;
        if (policy.AuthenticationSchemes.Contains(GrpcJwtAuthDefaults.AuthenticationScheme)
            && GrpcJwtAuthFeature.Of(httpContext)?.Outcome is null)
        {
            // GrpcJwtAuth's part of the policy's schemes: authenticated (and kept) here, so its scheme answers with it.
            var own = await AuthenticateAsync(httpContext, httpContext.RequestAborted).ConfigureAwait(false);
            GrpcJwtAuthAuthenticationService.Keep(httpContext, feature: null, own);
        }

        var evaluator = httpContext.RequestServices.GetRequiredService<IPolicyEvaluator>();
        var authenticated = await evaluator.AuthenticateAsync(policy, httpContext).ConfigureAwait(false);
        var outcome = new AuthOutcome(
            authenticated.Succeeded ? AuthFailure.None : AuthFailure.MissingAuthorization,
            JwtCallUserFeature.CallerOf(httpContext),
            authenticated.Succeeded ? httpContext.User : null,
            KeyId: null);
        if (!authenticated.Succeeded)
        {
            return await Reject(httpContext, authorization, new CallDecision(AuthFailure.MissingAuthorization), outcome).ConfigureAwait(false);
        }

        var denial = await _evaluation.EvaluateAsync(authorization, policy, httpContext, untouchedCaller: null, resource).ConfigureAwait(false);
        return await Decide(httpContext, authorization, outcome, denial).ConfigureAwait(false);
    }

    private ValueTask<CallDecision> Decide(HttpContext httpContext, EndpointAuthorization authorization, AuthOutcome outcome, PolicyEvaluation.Denial? denial)
    {
        if (denial is not { } denied)
        {
            return ValueTask.FromResult(Allow(httpContext, authorization, outcome));
        }

        // An authenticated caller that still fails "authenticated" (a transformation took its identity away): no caller.
        return Reject(httpContext, authorization, new CallDecision(denied.Failure, denied.Detail), outcome);
    }

    private CallDecision Allow(HttpContext httpContext, EndpointAuthorization authorization, AuthOutcome outcome)
    {
        metrics?.Decision(authorization.RpcMethod, AuthFailure.None);
        AuthActivity.Record(AuthFailure.None, _recordUserId ? outcome.Caller?.Subject : null);
        return CallDecision.Allowed;
    }

    /// <summary>Counts, tags and logs a refusal, then lets the events change what the caller is told (never whether it is refused).</summary>
    private ValueTask<CallDecision> Reject(HttpContext httpContext, EndpointAuthorization authorization, CallDecision decision, AuthOutcome outcome)
    {
        Record(httpContext, authorization, decision.Failure, outcome);
        return _hasEvents ? RespondAsync(httpContext, decision) : ValueTask.FromResult(decision);
    }

    private async ValueTask<CallDecision> RespondAsync(HttpContext httpContext, CallDecision decision)
    {
        var detail = decision.Status.Detail;
        var told = await RespondAsync(httpContext, decision.Status).ConfigureAwait(false);
        return string.Equals(told.Detail, detail, StringComparison.Ordinal) ? decision : decision with { Detail = told.Detail };
    }

    /// <summary>
    /// The status a refused call or message ends with, after <see cref="GrpcJwtAuthEvents.OnForbidden"/> (for
    /// <c>PermissionDenied</c>) or <see cref="GrpcJwtAuthEvents.OnChallenge"/> (otherwise) had their say on its detail.
    /// </summary>
    public async ValueTask<Status> RespondAsync(HttpContext httpContext, Status status)
    {
        if (!_hasEvents || options.EventsFor(httpContext) is not { } events)
        {
            return status;
        }

        var response = new GrpcJwtAuthResponseContext(httpContext, status.Detail);
        if (status.StatusCode == StatusCode.PermissionDenied)
        {
            await events.Forbidden(response).ConfigureAwait(false);
        }
        else
        {
            await events.Challenge(response).ConfigureAwait(false);
        }

        return string.Equals(response.Reason, status.Detail, StringComparison.Ordinal) ? status : new Status(status.StatusCode, response.Reason);
    }

    private void Record(HttpContext httpContext, EndpointAuthorization authorization, AuthFailure failure, AuthOutcome outcome)
    {
        metrics?.Decision(authorization.RpcMethod, failure);
        AuthActivity.Record(failure, validatedSubject: null);
        var peer = CallPeer.Of(httpContext);
        bursts?.Record(peer, failure);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var tag = AuthFailures.Get(failure).Tag;
            if (outcome.Caller is { } caller)
            {
                Log.CallDenied(logger, authorization.Method, peer, RejectedTokenClaims.Sanitize(caller.Subject),
                    RejectedTokenClaims.Sanitize(caller.Issuer), RejectedTokenClaims.Sanitize(caller.TokenId),
                    RejectedTokenClaims.Sanitize(caller.KeyId), tag);
            }
            else
            {
                // A kid, iss, sub or jti from a rejected token is whatever the sender wrote: Sanitize keeps it short.
                var claims = RejectedTokenClaims.Read(outcome.RejectedToken, failure);
                Log.CallRejected(logger, authorization.Method, peer, tag,
                    RejectedTokenClaims.Sanitize(outcome.KeyId), claims.Issuer, claims.Subject, claims.TokenId);
            }
        }
    }
}
