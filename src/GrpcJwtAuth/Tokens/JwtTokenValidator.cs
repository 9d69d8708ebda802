using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tokens;

/// <summary>
/// The outcome of validating one token: a caller, or a failure (and the token's <c>kid</c> when readable). On success,
/// also the issuer and the key set it was validated against, which a cached result stays tied to.
/// </summary>
internal readonly record struct TokenCheck(
    AuthFailure Failure, JwtCaller? Caller, string? KeyId, SigningKeyManager? Issuer = null, SigningKeySet? KeySet = null)
{
    public static TokenCheck Fail(AuthFailure failure, string? keyId = null) => new(failure, null, keyId);
}

/// <summary>
/// Validates tokens with IdentityModel's <see cref="JsonWebTokenHandler"/>. The token's <c>iss</c>, read before any
/// key work, picks exactly one trusted issuer (<see cref="TrustedIssuers"/>); the token is then checked against that
/// issuer's algorithms, keys and settings only. A token whose <c>kid</c> that issuer does not hold waits (bounded)
/// for a shared refresh of its keys, so a newly published key is accepted on its first call.
/// </summary>
internal sealed class JwtTokenValidator(TrustedIssuers issuers, CallerFactory callers, CompiledAuthOptions options)
{
    private readonly TokenTypes _types = options.TokenTypes;

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public ValueTask<TokenCheck> ValidateAsync(string token, CancellationToken cancellationToken) =>
        ValidateAsync(token.AsMemory(), cancellationToken);

    /// <summary>
    /// Validates the token in <paramref name="token"/>, which may be a slice of the <c>authorization</c> header: a
    /// cache miss then copies the token nowhere.
    /// </summary>
    public ValueTask<TokenCheck> ValidateAsync(ReadOnlyMemory<char> token, CancellationToken cancellationToken)
    {
        // Shapes IdentityModel would accept or misreport (duplicate claims, crit, trailing bytes, odd exp values)
        // are turned away before it parses anything.
        var precheck = TokenPrecheck.Check(token.Span);
        if (precheck != AuthFailure.None)
        {
            return ValueTask.FromResult(TokenCheck.Fail(precheck));
        }

        if (!TryRead(token, out var jwt, out var keyId, out var issuer, out var failure))
        {
            return ValueTask.FromResult(TokenCheck.Fail(failure, keyId));
        }

        // Another kind of JWT (a logout token, a security event, a DPoP proof) signed by a trusted key is still not an
        // access token (RFC 8725 section 3.11).
        if (!_types.Accepts(TypeOf(jwt)))
        {
            return ValueTask.FromResult(TokenCheck.Fail(AuthFailure.TokenTypeNotAccepted, keyId));
        }

        // The claimed issuer chooses whose keys are looked at: no other issuer's key can ever verify this token.
        var keys = issuers.Find(issuer);
        if (keys is null)
        {
            return ValueTask.FromResult(TokenCheck.Fail(AuthFailure.IssuerNotAccepted, keyId));
        }

        // IdentityModel reports a disallowed alg as a signature failure (IDX10511): check it first, for the right
        // reason and so that such a token never triggers a key refresh. An empty list allows nothing (fail closed).
        var algorithm = jwt.Alg;
        if (string.IsNullOrEmpty(algorithm) || Array.IndexOf(keys.Issuer.Algorithms, algorithm) < 0)
        {
            return ValueTask.FromResult(TokenCheck.Fail(AuthFailure.AlgorithmNotAllowed, keyId));
        }

        var set = keys.Current;
        return set.Find(keyId, algorithm, out _) switch
        {
            KeyMatch.Found => ValidateAsync(jwt, keyId, keys, set),
            KeyMatch.AlgorithmNotAllowed => ValueTask.FromResult(TokenCheck.Fail(AuthFailure.AlgorithmNotAllowed, keyId)),
            _ => RefreshThenValidateAsync(jwt, keyId, algorithm, keys, set, cancellationToken),
        };
    }

    private async ValueTask<TokenCheck> RefreshThenValidateAsync(
        JsonWebToken jwt, string? keyId, string algorithm, SigningKeyManager keys, SigningKeySet seen, CancellationToken cancellationToken)
    {
        var set = await keys.RefreshForUnknownKeyAsync(seen, cancellationToken).ConfigureAwait(false);
        switch (set.Find(keyId, algorithm, out var candidates))
        {
            case KeyMatch.Found:
                break;
            case KeyMatch.AlgorithmNotAllowed:
                return TokenCheck.Fail(AuthFailure.AlgorithmNotAllowed, keyId);
            case KeyMatch.Empty:
                return TokenCheck.Fail(AuthFailure.KeysUnavailable, keyId);
            default:
                // Still unknown: only the issuer's keys without a kid (tried for any token) are left to try.
                if (candidates.Length == 0)
                {
                    // When the source could not be read, a legitimately re-keyed caller must learn to retry, not that
                    // its token is bad; a forged token learns only that the source is down.
                    return TokenCheck.Fail(
                        keys.SourceUnavailable ? AuthFailure.KeyNotFoundSourceUnavailable : AuthFailure.SignatureKeyNotFound, keyId);
                }

                break;
        }

        return await ValidateAsync(jwt, keyId, keys, set).ConfigureAwait(false);
    }

    private ValueTask<TokenCheck> ValidateAsync(JsonWebToken jwt, string? keyId, SigningKeyManager keys, SigningKeySet set)
    {
        var pending = _handler.ValidateTokenAsync(jwt, set.Parameters);
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.FromResult(Complete(pending.Result, keyId, keys, set));
        }

        return AwaitAsync(pending, keyId, keys, set);
    }

    private async ValueTask<TokenCheck> AwaitAsync(Task<TokenValidationResult> pending, string? keyId, SigningKeyManager keys, SigningKeySet set) =>
        Complete(await pending.ConfigureAwait(false), keyId, keys, set);

    private TokenCheck Complete(TokenValidationResult result, string? keyId, SigningKeyManager keys, SigningKeySet set)
    {
        if (!result.IsValid || result.SecurityToken is not JsonWebToken validated)
        {
            return TokenCheck.Fail(MapException(result.Exception), keyId);
        }

        return new TokenCheck(AuthFailure.None, callers.Create(validated, keys.Issuer.Name), keyId, keys, set);
    }

    private static bool TryRead(
        ReadOnlyMemory<char> token, out JsonWebToken jwt, out string? keyId, out string? issuer, out AuthFailure failure)
    {
        jwt = null!;
        keyId = null;
        issuer = null;
        try
        {
            jwt = new JsonWebToken(token);
            if (jwt.IsEncrypted)
            {
                failure = AuthFailure.EncryptedToken;
                return false;
            }

            keyId = string.IsNullOrEmpty(jwt.Kid) ? null : jwt.Kid;

            // Unvalidated: it only chooses whose keys to check the token with. Not a string means no issuer.
            issuer = jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Iss, out var iss) ? iss : null;
        }
        catch (Exception)
        {
            // Whatever the parser says about hostile input stays here: the reason is enough.
            failure = AuthFailure.MalformedToken;
            return false;
        }

        failure = AuthFailure.None;
        return true;
    }

    /// <summary>The <c>typ</c> header: <see langword="null"/> when absent, empty when present but not a string.</summary>
    private static string? TypeOf(JsonWebToken jwt)
    {
        if (!jwt.TryGetHeaderValue<object>(JwtHeaderParameterNames.Typ, out var value) || value is null)
        {
            return null;
        }

        return value as string ?? string.Empty;
    }

    /// <summary>Maps IdentityModel's exception types to reasons, most derived first.</summary>
    internal static AuthFailure MapException(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => AuthFailure.TokenExpired,
        SecurityTokenNotYetValidException => AuthFailure.TokenNotYetValid,
        SecurityTokenNoExpirationException => AuthFailure.NoExpiration,
        SecurityTokenInvalidLifetimeException => AuthFailure.InvalidLifetime,
        SecurityTokenSignatureKeyNotFoundException => AuthFailure.SignatureKeyNotFound,
        SecurityTokenInvalidAlgorithmException => AuthFailure.AlgorithmNotAllowed,
        SecurityTokenInvalidSignatureException => AuthFailure.InvalidSignature,
        SecurityTokenInvalidIssuerException => AuthFailure.IssuerNotAccepted,
        SecurityTokenInvalidAudienceException => AuthFailure.AudienceNotAccepted,
        SecurityTokenDecryptionFailedException => AuthFailure.EncryptedToken,
        SecurityTokenMalformedException => AuthFailure.MalformedToken,
        _ => AuthFailure.TokenInvalid,
    };
}
