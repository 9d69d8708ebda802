namespace GrpcJwtAuth.Server;

/// <summary>Why a call was not let through. Each value maps to one fixed entry of <see cref="AuthFailures"/>.</summary>
internal enum AuthFailure
{
    None = 0,

    // Metadata
    MissingAuthorization,
    MultipleAuthorization,
    EmptyAuthorization,
    NotBearerScheme,
    MissingBearerToken,
    MalformedBearerValue,
    TokenTooLarge,

    // Token
    MalformedToken,
    TokenTypeNotAccepted,
    EncryptedToken,
    DuplicateTokenMember,
    UnsupportedTokenHeader,
    InvalidTimeClaim,
    TokenExpired,
    TokenExpiredDuringCall,
    TokenNotYetValid,
    TokenIssuedInFuture,
    NoExpiration,
    InvalidLifetime,
    SignatureKeyNotFound,
    InvalidSignature,
    AlgorithmNotAllowed,
    IssuerNotAccepted,
    AudienceNotAccepted,
    TokenInvalid,
    KeysUnavailable,
    KeyNotFoundSourceUnavailable,
    RejectedByEvent,

    // Authorization
    MissingRole,
    MissingScope,
    IssuerNotAllowed,
    PolicyFailed,
    PolicyNotFound,
    UnresolvedMethod,
}
