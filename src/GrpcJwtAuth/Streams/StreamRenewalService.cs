using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Protocol.V1;
using GrpcJwtAuth.Server;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Streams;

/// <summary>
/// <c>grpcjwtauth.v1.StreamRenewal/Renew</c>: moves the end of a live stream to the expiry of a fresh token. The call
/// itself is authenticated and authorized like any other (the interceptor validated the fresh token before this runs),
/// then the token must belong to the stream's owner (<see cref="StreamOwner"/>), the stream's method policy must pass
/// for its principal, and it must expire later than the stream's current one. An unknown, ended or someone else's call
/// id all get the one <c>NotFound</c> answer, so a caller learns nothing about ids that are not its own.
/// </summary>
internal sealed class StreamRenewalService(
    RenewableStreams streams,
    CallAuthorizer authorizer,
    CompiledAuthOptions options,
    ILogger<StreamRenewalService> logger,
    Metrics? metrics = null) : StreamRenewal.StreamRenewalBase
{
    internal const string UnknownStreamDetail = "no live stream with this call id for this caller";
    internal const string NotLaterDetail = "the token does not expire later than the one the stream runs on; renew with a newer token";

    public override async Task<RenewStreamReply> Renew(RenewStreamRequest request, ServerCallContext context)
    {
        var httpContext = context.GetHttpContext();
        var caller = context.GetJwtCaller();
        if (caller is null || streams.Find(request.CallId) is not { } stream || !stream.Owner.Owns(caller))
        {
            throw Refuse(context, caller, Metrics.StreamRenewalOutcomes.UnknownStream, new Status(StatusCode.NotFound, UnknownStreamDetail));
        }

        if (!stream.TryCountAttempt(options.StreamRenewalsPerMinute))
        {
            throw Refuse(context, caller, Metrics.StreamRenewalOutcomes.RateLimited, new Status(
                StatusCode.ResourceExhausted,
                $"too many renewals of this stream: at most {options.StreamRenewalsPerMinute} a minute; retry later"));
        }

        if (caller.AcceptedUntil <= stream.Expiry.Deadline)
        {
            throw Refuse(context, caller, Metrics.StreamRenewalOutcomes.NotLater, new Status(StatusCode.FailedPrecondition, NotLaterDetail));
        }

        var principal = httpContext.User;
        var decision = await stream.RenewAsync(
            principal, caller.AcceptedUntil, () => authorizer.CheckRenewalAsync(stream.Authorization, httpContext, stream.Resource)).ConfigureAwait(false);
        if (decision is not { } decided)
        {
            throw Refuse(context, caller, Metrics.StreamRenewalOutcomes.UnknownStream, new Status(StatusCode.NotFound, UnknownStreamDetail));
        }

        if (!decided.IsAllowed)
        {
            throw Refuse(context, caller, Metrics.StreamRenewalOutcomes.PolicyFailed, decided.Status);
        }

        metrics?.StreamRenewal(Metrics.StreamRenewalOutcomes.Renewed);
        Log.StreamRenewed(logger, stream.Authorization.Method, RejectedTokenClaims.Sanitize(caller.Subject), stream.Renewals, caller.AcceptedUntil);
        return new RenewStreamReply { AcceptedUntil = Timestamp.FromDateTimeOffset(caller.AcceptedUntil) };
    }

    private RpcException Refuse(ServerCallContext context, JwtCaller? caller, string outcome, Status status)
    {
        metrics?.StreamRenewal(outcome);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.StreamRenewalRefused(logger, CallPeer.Of(context.GetHttpContext()), RejectedTokenClaims.Sanitize(caller?.Subject), outcome);
        }

        return new RpcException(status);
    }
}
