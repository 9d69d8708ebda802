namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// The status details of src/GrpcJwtAuth/Server/AuthFailures.cs, copied on purpose: a change to what clients see
/// must change a test too.
/// </summary>
public static class Details
{
    public const string MissingToken = "missing token: send 'authorization: Bearer <token>' metadata";
    public const string MultipleAuthorization = "more than one 'authorization' metadata entry; send exactly one";
    public const string EmptyAuthorization = "'authorization' metadata is empty; send 'Bearer <token>'";
    public const string NotBearer = "'authorization' metadata does not use the Bearer scheme";
    public const string MissingBearerToken = "'authorization' metadata has the Bearer scheme but no token";
    public const string MalformedAuthorization = "'authorization' metadata is malformed: expected 'Bearer' followed by one token";
    public const string TokenTooLarge = "token too large";
    public const string MalformedToken = "token is not a well-formed signed JWT";
    public const string EncryptedToken = "encrypted tokens (JWE) are not accepted";
    public const string DuplicateTokenMember = "token names a claim or header parameter more than once";
    public const string UnsupportedTokenHeader = "token header has an unsupported parameter: crit, zip or a nested-JWT cty";
    public const string InvalidTimeClaim = "token exp, nbf or iat is not a whole number of seconds between 1970 and 9999";
    public const string TokenExpired = "token expired";
    public const string TokenNotYetValid = "token not yet valid (nbf is in the future; check the clocks of issuer and server)";
    public const string NoExpiration = "token has no exp claim";
    public const string KeyNotFound = "signature key not found";
    public const string InvalidSignature = "signature invalid";
    public const string AlgorithmNotAllowed = "signing algorithm not allowed";
    public const string IssuerNotAccepted = "issuer not accepted";
    public const string AudienceNotAccepted = "audience not accepted";
    public const string KeysUnavailable = "signing keys unavailable: the key source could not be reached; retry later";
    public const string KeyNotFoundSourceUnavailable = "signature key not found, and the key source could not be read to look for it; retry later";
    public const string TokenTypeNotAccepted = "token type (typ header) not accepted: send an access token";
    public const string MissingRole = "missing required role";
    public const string MissingScope = "missing required scope";
    public const string IssuerNotAllowed = "token's issuer is not allowed for this method";
}
