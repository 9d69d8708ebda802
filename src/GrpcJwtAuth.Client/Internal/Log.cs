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
}
