namespace GrpcJwtAuth.Client;

/// <summary>
/// Why no access token could be had. Each kind maps to one gRPC status when a call fails for it:
/// <see cref="Unavailable"/> and <see cref="Unknown"/> to <c>Unavailable</c> (worth retrying later), the others to
/// <c>Unauthenticated</c> (retrying the same request will not help).
/// </summary>
public enum AccessTokenFailure
{
    /// <summary>A token source outside this library failed in a way it did not describe.</summary>
    Unknown = 0,

    /// <summary>
    /// The identity provider could not be reached or did not answer in time: connection refused, name not found, TLS
    /// handshake failed, timeout, an HTTP 5xx or 429 answer, or an answer cut off midway.
    /// </summary>
    Unavailable = 1,

    /// <summary>
    /// The identity provider refused the request with an OAuth 2.0 error (<c>invalid_client</c>,
    /// <c>unauthorized_client</c>, <c>invalid_scope</c>, <c>invalid_target</c>, …), or answered another 4xx.
    /// </summary>
    Refused = 2,

    /// <summary>
    /// The identity provider answered, but not with a usable token: no JSON object, no <c>access_token</c>, a token
    /// type other than Bearer, a token already expired, a discovery document without a token endpoint, or an answer
    /// larger than allowed.
    /// </summary>
    InvalidResponse = 3,

    /// <summary>
    /// A token was to be forwarded or exchanged, but the code runs outside a request authenticated by GrpcJwtAuth, so
    /// there is no caller's token to use.
    /// </summary>
    NoCallerToken = 4,
}
