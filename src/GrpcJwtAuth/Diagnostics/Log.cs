using GrpcJwtAuth.Keys;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// Every log line GrpcJwtAuth writes. Event ids are stable: 1xx server, 2xx keys (3xx are the client package's). No
/// line carries a token, a signature, an authorization header or an exception that could quote one.
/// </summary>
internal static partial class Log
{
    // 1xx: server

    // kid, iss, sub and jti of a rejected token are unvalidated: the caller truncates them (see CallAuthenticator).
    [LoggerMessage(EventId = 100, EventName = "CallRejected", Level = LogLevel.Debug,
        Message = "Call to {Method} from {Peer} rejected: {Reason}; kid={KeyId} iss={Issuer} sub={Subject} jti={TokenId}")]
    public static partial void CallRejected(
        ILogger logger, string method, string peer, string reason, string? keyId, string? issuer, string? subject, string? tokenId);

    [LoggerMessage(EventId = 101, EventName = "CallDenied", Level = LogLevel.Debug,
        Message = "Call to {Method} from {Peer} denied: {Reason}; sub={Subject} iss={Issuer} jti={TokenId} kid={KeyId}")]
    public static partial void CallDenied(
        ILogger logger, string method, string peer, string? subject, string? issuer, string? tokenId, string? keyId, string reason);

    [LoggerMessage(EventId = 108, EventName = "UndefinedAuthorizationPolicy", Level = LogLevel.Error,
        Message = "Method {Method} requires an authorization policy the application does not define, so no call to it " +
                  "can pass: {Problem} Define it with AddAuthorization(o => o.AddPolicy(...)).")]
    public static partial void UndefinedAuthorizationPolicy(ILogger logger, string method, string problem);

    [LoggerMessage(EventId = 103, EventName = "MethodPolicyResolved", Level = LogLevel.Debug,
        Message = "Method {Method}: rule {Prefix}, anonymous {AllowAnonymous}, {RequirementCount} authorization requirement(s).")]
    public static partial void MethodPolicyResolved(
        ILogger logger, string method, string prefix, bool allowAnonymous, int requirementCount);

    [LoggerMessage(EventId = 104, EventName = "RejectionBurst", Level = LogLevel.Warning,
        Message = "{Count} call(s) from {Peer} rejected in the last {Seconds} s ({Reasons}). Rejections from this peer are " +
                  "summarized at most once every {IntervalSeconds} s; each one is logged at Debug (event 100, 101).")]
    public static partial void RejectionBurst(ILogger logger, string peer, int count, long seconds, string reasons, int intervalSeconds);

    [LoggerMessage(EventId = 105, EventName = "StreamTokenExpired", Level = LogLevel.Debug,
        Message = "Streaming call to {Method} from {Peer} by sub {Subject} ended: its token expired ({Reason}).")]
    public static partial void StreamTokenExpired(ILogger logger, string method, string peer, string? subject, string reason);

    [LoggerMessage(EventId = 106, EventName = "RuleMatchesNoMethod", Level = LogLevel.Warning,
        Message = "The rule with prefix {Prefix} covers no gRPC method this server maps, so it protects nothing here.")]
    public static partial void RuleMatchesNoMethod(ILogger logger, string prefix);

    [LoggerMessage(EventId = 107, EventName = "RuleMatchesNoMethodButCaseDiffers", Level = LogLevel.Warning,
        Message = "The rule with prefix {Prefix} covers no gRPC method this server maps; it would cover {Method} if case " +
                  "were ignored. Rules match the names declared in the .proto case-sensitively: fix the prefix, or the " +
                  "method gets only the default policy.")]
    public static partial void RuleMatchesNoMethodButCaseDiffers(ILogger logger, string prefix, string method);

    [LoggerMessage(EventId = 109, EventName = "MethodRequirementsNotResolved", Level = LogLevel.Warning,
        Message = "At startup, the authorization policy provider failed to resolve what a gRPC method requires; it will be " +
                  "resolved again on the method's first call.")]
    public static partial void EndpointPreparationFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 110, EventName = "StreamRenewed", Level = LogLevel.Debug,
        Message = "Streaming call to {Method} by sub {Subject} renewed (renewal {Renewal}): it now ends at {AcceptedUntil:O}.")]
    public static partial void StreamRenewed(ILogger logger, string method, string? subject, int renewal, DateTimeOffset acceptedUntil);

    [LoggerMessage(EventId = 111, EventName = "StreamRenewalRefused", Level = LogLevel.Debug,
        Message = "Renewal of a streaming call from {Peer} by sub {Subject} refused: {Reason}.")]
    public static partial void StreamRenewalRefused(ILogger logger, string peer, string? subject, string reason);

    // 2xx: keys

    [LoggerMessage(EventId = 200, EventName = "KeysRefreshed", Level = LogLevel.Information,
        Message = "Loaded {KeyCount} signing key(s) of issuer {IssuerName} from {Address} ({Trigger}).")]
    public static partial void KeysRefreshed(ILogger logger, int keyCount, string issuerName, string address, RefreshTrigger trigger);

    [LoggerMessage(EventId = 201, EventName = "KeyRefreshFailedUsingLastKnownGood", Level = LogLevel.Warning,
        Message = "Refreshing the signing keys of issuer {IssuerName} from {Address} failed ({Trigger}); still validating " +
                  "with the {KeyCount} last known good key(s) loaded at {RefreshedAt:O}.")]
    public static partial void KeyRefreshFailedUsingLastKnownGood(
        ILogger logger, string issuerName, string address, RefreshTrigger trigger, int keyCount, DateTimeOffset? refreshedAt, Exception exception);

    [LoggerMessage(EventId = 202, EventName = "KeyRefreshFailedNoKeys", Level = LogLevel.Error,
        Message = "Fetching the signing keys of issuer {IssuerName} from {Address} failed ({Trigger}) and none are held: " +
                  "its tokens are rejected with Unavailable until the key source answers. Retrying in the background.")]
    public static partial void KeyRefreshFailedNoKeys(ILogger logger, string issuerName, string address, RefreshTrigger trigger, Exception exception);

    [LoggerMessage(EventId = 203, EventName = "UnknownKeyRefreshSuppressed", Level = LogLevel.Debug,
        Message = "A token named an unknown kid, but keys were refreshed for that reason less than the minimum refresh interval ago.")]
    public static partial void UnknownKeyRefreshSuppressed(ILogger logger);

    [LoggerMessage(EventId = 205, EventName = "KeySkipped", Level = LogLevel.Warning,
        Message = "A key of issuer {IssuerName} (kid {KeyId}) from {Address} is not used: {Reason}.")]
    public static partial void KeySkipped(ILogger logger, string issuerName, string? keyId, string address, string reason);

    [LoggerMessage(EventId = 206, EventName = "DiscoveryIssuerMismatch", Level = LogLevel.Error,
        Message = "The discovery document of issuer {IssuerName} at {Address} names the issuer {DocumentIssuer}, but it was fetched " +
                  "for {ExpectedIssuer}; it is not used (OpenID Connect Discovery section 4.3). Check GrpcJwtAuth:Authority, " +
                  "GrpcJwtAuth:MetadataAddress and GrpcJwtAuth:Issuers.")]
    public static partial void DiscoveryIssuerMismatch(ILogger logger, string issuerName, string address, string documentIssuer, string expectedIssuer);

    [LoggerMessage(EventId = 204, EventName = "KeyRefreshWaitTimedOut", Level = LogLevel.Warning,
        Message = "A call waited {Timeout} for a key refresh and gave up; the refresh goes on in the background.")]
    public static partial void KeyRefreshWaitTimedOut(ILogger logger, TimeSpan timeout);
}
