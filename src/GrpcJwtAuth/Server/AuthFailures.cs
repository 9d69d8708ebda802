using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Server;

/// <summary>
/// The fixed status of each <see cref="AuthFailure"/>. Details are constant sentences: they never carry the token,
/// the header, an exception message or a claim value, because grpc-dotnet logs every status detail.
/// </summary>
internal static class AuthFailures
{
    private static readonly FailureInfo[] Table = Build();

    public static FailureInfo Get(AuthFailure failure) => Table[(int)failure];

    private static FailureInfo[] Build()
    {
        var table = new FailureInfo[Enum.GetValues<AuthFailure>().Length];
        void Set(AuthFailure failure, StatusCode code, string tag, string detail) =>
            table[(int)failure] = new FailureInfo(failure, code, tag, new Status(code, detail));

        const StatusCode Unauthenticated = StatusCode.Unauthenticated;
        const StatusCode Denied = StatusCode.PermissionDenied;

        Set(AuthFailure.None, StatusCode.OK, "none", string.Empty);
        Set(AuthFailure.MissingAuthorization, Unauthenticated, "missing_token",
            "missing token: send 'authorization: Bearer <token>' metadata");
        Set(AuthFailure.MultipleAuthorization, Unauthenticated, "multiple_authorization",
            "more than one 'authorization' metadata entry; send exactly one");
        Set(AuthFailure.EmptyAuthorization, Unauthenticated, "empty_authorization",
            "'authorization' metadata is empty; send 'Bearer <token>'");
        Set(AuthFailure.NotBearerScheme, Unauthenticated, "not_bearer",
            "'authorization' metadata does not use the Bearer scheme");
        Set(AuthFailure.MissingBearerToken, Unauthenticated, "missing_bearer_token",
            "'authorization' metadata has the Bearer scheme but no token");
        Set(AuthFailure.MalformedBearerValue, Unauthenticated, "malformed_authorization",
            "'authorization' metadata is malformed: expected 'Bearer' followed by one token");
        Set(AuthFailure.TokenTooLarge, Unauthenticated, "token_too_large",
            "token too large");
        Set(AuthFailure.MalformedToken, Unauthenticated, "malformed_token",
            "token is not a well-formed signed JWT");
        Set(AuthFailure.TokenTypeNotAccepted, Unauthenticated, "token_type_not_accepted",
            "token type (typ header) not accepted: send an access token");
        Set(AuthFailure.EncryptedToken, Unauthenticated, "encrypted_token",
            "encrypted tokens (JWE) are not accepted");
        Set(AuthFailure.DuplicateTokenMember, Unauthenticated, "duplicate_token_member",
            "token names a claim or header parameter more than once");
        Set(AuthFailure.UnsupportedTokenHeader, Unauthenticated, "unsupported_token_header",
            "token header has an unsupported parameter: crit, zip or a nested-JWT cty");
        Set(AuthFailure.InvalidTimeClaim, Unauthenticated, "invalid_time_claim",
            "token exp, nbf or iat is not a whole number of seconds between 1970 and 9999");
        Set(AuthFailure.TokenExpired, Unauthenticated, "token_expired",
            "token expired");
        Set(AuthFailure.TokenExpiredDuringCall, Unauthenticated, "token_expired_during_call",
            "token expired during the call; start a new call with a fresh token");
        Set(AuthFailure.TokenNotYetValid, Unauthenticated, "token_not_yet_valid",
            "token not yet valid (nbf is in the future; check the clocks of issuer and server)");
        Set(AuthFailure.TokenIssuedInFuture, Unauthenticated, "token_issued_in_future",
            "token issued in the future (iat is ahead of the server's clock; check the clocks of issuer and server)");
        Set(AuthFailure.NoExpiration, Unauthenticated, "no_expiration",
            "token has no exp claim");
        Set(AuthFailure.InvalidLifetime, Unauthenticated, "invalid_lifetime",
            "token lifetime is invalid");
        Set(AuthFailure.SignatureKeyNotFound, Unauthenticated, "key_not_found",
            "signature key not found");
        Set(AuthFailure.InvalidSignature, Unauthenticated, "invalid_signature",
            "signature invalid");
        Set(AuthFailure.AlgorithmNotAllowed, Unauthenticated, "algorithm_not_allowed",
            "signing algorithm not allowed");
        Set(AuthFailure.IssuerNotAccepted, Unauthenticated, "issuer_not_accepted",
            "issuer not accepted");
        Set(AuthFailure.AudienceNotAccepted, Unauthenticated, "audience_not_accepted",
            "audience not accepted");
        Set(AuthFailure.TokenInvalid, Unauthenticated, "token_invalid",
            "token invalid");
        Set(AuthFailure.KeysUnavailable, StatusCode.Unavailable, "keys_unavailable",
            "signing keys unavailable: the key source could not be reached; retry later");
        Set(AuthFailure.KeyNotFoundSourceUnavailable, StatusCode.Unavailable, "key_not_found_source_unavailable",
            "signature key not found, and the key source could not be read to look for it; retry later");
        Set(AuthFailure.RejectedByEvent, Unauthenticated, "rejected_by_event",
            "token rejected");
        Set(AuthFailure.MissingRole, Denied, "missing_role",
            "missing required role");
        Set(AuthFailure.MissingScope, Denied, "missing_scope",
            "missing required scope");
        Set(AuthFailure.IssuerNotAllowed, Denied, "issuer_not_allowed",
            "token's issuer is not allowed for this method");
        Set(AuthFailure.PolicyFailed, Denied, "policy_failed",
            "authorization policy failed");
        Set(AuthFailure.PolicyNotFound, Denied, "policy_not_found",
            "method requires an authorization policy the server does not define");
        Set(AuthFailure.UnresolvedMethod, Denied, "unresolved_method",
            "the server could not tie this call to a routed gRPC method, so its policy is unknown");

        foreach (var entry in table)
        {
            if (entry.Status.Detail is null)
            {
                throw new InvalidOperationException("Every AuthFailure needs an entry.");
            }
        }

        return table;
    }
}

/// <summary>One row of the failure table: the status sent, and a short tag for logs and metrics.</summary>
internal sealed record FailureInfo(AuthFailure Failure, StatusCode Code, string Tag, Status Status)
{
    /// <summary>The <c>grpc-status</c> header value, encoded once.</summary>
    public string GrpcStatusHeader { get; } = GrpcStatusResponse.StatusHeader(Code);

    /// <summary>The <c>grpc-message</c> header value, encoded once.</summary>
    public string GrpcMessageHeader { get; } = GrpcStatusResponse.MessageHeader(Status.Detail);

    public RpcException CreateException() => new(Status);

    /// <summary>Answers the request with this status, trailers-only, for failures found outside a gRPC call handler.</summary>
    public void WriteResponse(HttpContext httpContext) => GrpcStatusResponse.Write(httpContext, GrpcStatusHeader, GrpcMessageHeader);
}
