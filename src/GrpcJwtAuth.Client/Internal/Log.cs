using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>The client's log lines (event ids 3xx). None carries a token or a secret.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 300, EventName = "TokenAcquired", Level = LogLevel.Debug,
        Message = "Acquired an access token that expires at {ExpiresAt:O} (forced: {Forced}).")]
    public static partial void TokenAcquired(ILogger logger, DateTimeOffset expiresAt, bool forced);

    [LoggerMessage(EventId = 301, EventName = "TokenRefreshFailed", Level = LogLevel.Warning,
        Message = "Getting an access token failed ({Failures} in a row); next attempt after {RetryAfter:O}.")]
    public static partial void RefreshFailed(ILogger logger, int failures, DateTimeOffset retryAfter, Exception exception);

    [LoggerMessage(EventId = 302, EventName = "ForcedRefresh", Level = LogLevel.Debug,
        Message = "The server rejected the access token; getting a new one.")]
    public static partial void ForcedRefresh(ILogger logger);

    [LoggerMessage(EventId = 303, EventName = "RetryingAfterUnauthenticated", Level = LogLevel.Information,
        Message = "Call {Method} was rejected with Unauthenticated; retrying once with a new token.")]
    public static partial void RetryingAfterUnauthenticated(ILogger logger, string method);

    [LoggerMessage(EventId = 304, EventName = "TokenNotSentOnInsecureChannel", Level = LogLevel.Warning,
        Message = "Call {Method} was rejected with Unauthenticated and no token was attached: the channel is not secure (http://), " +
                  "so call credentials were not used. Use https, or opt in with JwtCallCredentialsOptions.UnsafeAllowInsecureChannel " +
                  "and GrpcChannelOptions.UnsafeUseInsecureChannelCallCredentials.")]
    public static partial void TokenNotSentOnInsecureChannel(ILogger logger, string method);

    [LoggerMessage(EventId = 305, EventName = "ClockSkewSuspected", Level = LogLevel.Warning,
        Message = "The token source issued a token that is {Problem} by this machine's clock ({Amount}): the clocks of this machine " +
                  "and the identity provider probably differ; check clock synchronisation. Logged once per token source.")]
    public static partial void ClockSkewSuspected(ILogger logger, string problem, string amount);

    [LoggerMessage(EventId = 306, EventName = "StreamRenewalSucceeded", Level = LogLevel.Debug,
        Message = "Streaming call {Method} renewed with a fresh token (renewal {Renewal}); the server now ends it at {AcceptedUntil:O}.")]
    public static partial void StreamRenewed(ILogger logger, string method, int renewal, DateTimeOffset acceptedUntil);

    [LoggerMessage(EventId = 307, EventName = "StreamRenewalFailed", Level = LogLevel.Warning,
        Message = "Renewing streaming call {Method} failed ({Reason}); next attempt in {RetryIn}, the stream ends at {ExpiresAt:O} unless renewed.")]
    public static partial void StreamRenewalFailed(ILogger logger, string method, string reason, TimeSpan retryIn, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 308, EventName = "StreamRenewalStopped", Level = LogLevel.Warning,
        Message = "Streaming call {Method} will not be renewed again ({Reason}); it ends when its token expires at {ExpiresAt:O}.")]
    public static partial void StreamRenewalStopped(ILogger logger, string method, string reason, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 309, EventName = "StreamRenewalScheduled", Level = LogLevel.Debug,
        Message = "Streaming call {Method} will be renewed at {RenewAt:O}, before its token expires at {ExpiresAt:O}.")]
    public static partial void StreamRenewalScheduled(ILogger logger, string method, DateTimeOffset renewAt, DateTimeOffset expiresAt);
}
