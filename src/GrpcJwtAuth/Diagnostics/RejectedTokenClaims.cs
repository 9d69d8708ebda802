using GrpcJwtAuth.Server;
using GrpcJwtAuth.Shared;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// <c>iss</c>, <c>sub</c> and <c>jti</c> of a rejected token, for its Debug log line only. They are unvalidated (the
/// sender wrote them), so each is cut to <see cref="MaxLength"/> characters with every character that could change how a
/// log line reads replaced (see <see cref="SafeText.Sanitize"/>), and
/// they are read only from tokens the validator already parsed: never from one refused before parsing (malformed,
/// encrypted, too large, or anything a pre-check turned away).
/// </summary>
internal readonly record struct RejectedTokenClaims(string? Issuer, string? Subject, string? TokenId)
{
    public const int MaxLength = 64;

    public static RejectedTokenClaims Read(string? token, AuthFailure failure)
    {
        if (token is null || !WasParsed(failure))
        {
            return default;
        }

        try
        {
            var jwt = new JsonWebToken(token);
            return new RejectedTokenClaims(Claim(jwt, "iss"), Claim(jwt, "sub"), Claim(jwt, "jti"));
        }
        catch (Exception)
        {
            // Whatever the parser says about the token stays here; the line goes out without claims.
            return default;
        }
    }

    /// <summary>Cuts an unvalidated value for a log line: at most <see cref="MaxLength"/> characters, no control characters.</summary>
    public static string? Sanitize(string? value) => Sanitize(value, MaxLength);

    /// <summary>Cuts an unvalidated value for a log line (see <see cref="SafeText.Sanitize"/>).</summary>
    public static string? Sanitize(string? value, int maxLength) => SafeText.Sanitize(value, maxLength);

    /// <summary>Failures the validator reports only after the token parsed as a JWS.</summary>
    private static bool WasParsed(AuthFailure failure) => failure is AuthFailure.TokenExpired
        or AuthFailure.TokenTypeNotAccepted
        or AuthFailure.KeyNotFoundSourceUnavailable
        or AuthFailure.TokenNotYetValid
        or AuthFailure.TokenIssuedInFuture
        or AuthFailure.NoExpiration
        or AuthFailure.InvalidLifetime
        or AuthFailure.SignatureKeyNotFound
        or AuthFailure.InvalidSignature
        or AuthFailure.AlgorithmNotAllowed
        or AuthFailure.IssuerNotAccepted
        or AuthFailure.AudienceNotAccepted
        or AuthFailure.KeysUnavailable;

    /// <summary>The claim if it is a string; nothing if it is missing or anything else (a number, an array).</summary>
    private static string? Claim(JsonWebToken jwt, string name)
    {
        try
        {
            return jwt.TryGetPayloadValue<string>(name, out var value) ? Sanitize(value) : null;
        }
        catch (Exception)
        {
            return null;
        }
    }
}
