using System.Text.RegularExpressions;

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
    public const string TokenIssuedInFuture = "token issued in the future (iat is ahead of the server's clock; check the clocks of issuer and server)";
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

    /// <summary>What a token that expired gets: by how much, by the server's clock, and the skew allowed.</summary>
    public static readonly Regex TokenExpiredBy = new(
        @"^token expired \d+ (s|min|h|d) ago by the server's clock \(allowed skew \d+ (s|min|h|d)\)$", RegexOptions.CultureInvariant);

    /// <summary>What a token whose nbf is ahead gets.</summary>
    public static readonly Regex TokenNotYetValidBy = new(
        @"^token not valid for another \d+ (s|min|h|d): its nbf is ahead of the server's clock \(allowed skew \d+ (s|min|h|d)\); check clock synchronisation$",
        RegexOptions.CultureInvariant);

    /// <summary>What a token whose iat is ahead gets.</summary>
    public static readonly Regex TokenIssuedInFutureBy = new(
        @"^token not valid: its iat is \d+ (s|min|h|d) in the future by the server's clock \(allowed skew \d+ (s|min|h|d)\); check clock synchronisation$",
        RegexOptions.CultureInvariant);

    /// <summary>
    /// Whether <paramref name="actual"/> is the detail <paramref name="expected"/> names: equal, or for the time
    /// failures (<see cref="TokenExpired"/>, <see cref="TokenNotYetValid"/>, <see cref="TokenIssuedInFuture"/>) their
    /// form with the times filled in.
    /// </summary>
    public static bool Matches(string expected, string? actual) => expected switch
    {
        TokenExpired => actual is not null && (actual == TokenExpired || TokenExpiredBy.IsMatch(actual)),
        TokenNotYetValid => actual is not null && (actual == TokenNotYetValid || TokenNotYetValidBy.IsMatch(actual)),
        TokenIssuedInFuture => actual is not null && (actual == TokenIssuedInFuture || TokenIssuedInFutureBy.IsMatch(actual)),
        _ => expected == actual,
    };

    public static void AssertMatches(string expected, string? actual) =>
        Assert.True(Matches(expected, actual), $"Expected the detail '{expected}', got '{actual}'.");
}
