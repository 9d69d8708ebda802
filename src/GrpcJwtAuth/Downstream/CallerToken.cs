using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Downstream;

/// <summary>
/// The token of the request being handled, once GrpcJwtAuth authenticated it: the one an
/// <see cref="GrpcJwtAuthEvents.OnMessageReceived"/> handler supplied, else the <c>authorization: Bearer</c> value that
/// was validated. Never a token of a request GrpcJwtAuth did not authenticate.
/// </summary>
internal static class CallerToken
{
    /// <summary>Where a token supplied by an event is kept for the request.</summary>
    public static readonly object ItemKey = new();

    /// <summary>The caller's token and its expiry.</summary>
    /// <exception cref="AccessTokenException">No request, or one GrpcJwtAuth did not authenticate (<see cref="AccessTokenFailure.NoCallerToken"/>).</exception>
    public static AccessToken Get(HttpContext? httpContext, int maxTokenLength)
    {
        if (httpContext is null)
        {
            throw new AccessTokenException(
                AccessTokenFailure.NoCallerToken,
                "There is no caller's token to forward or exchange: this call is not made while handling a request.");
        }

        if (JwtCallUserFeature.CallerOf(httpContext) is not { } caller)
        {
            throw new AccessTokenException(
                AccessTokenFailure.NoCallerToken,
                "There is no caller's token to forward or exchange: the request being handled was not authenticated by GrpcJwtAuth.");
        }

        if (httpContext.Items.TryGetValue(ItemKey, out var supplied) && supplied is string fromEvent)
        {
            return new AccessToken(fromEvent, caller.ExpiresAt);
        }

        if (BearerHeaderParser.TryGetToken(httpContext.Request.Headers.Authorization, maxTokenLength, out var header, out var start, out var length) != AuthFailure.None)
        {
            throw new AccessTokenException(
                AccessTokenFailure.NoCallerToken, "There is no caller's token to forward or exchange: the request has no bearer token.");
        }

        return new AccessToken(header.Substring(start, length), caller.ExpiresAt);
    }
}
