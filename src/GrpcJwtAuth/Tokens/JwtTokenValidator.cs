using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tokens;

/// <summary>The outcome of validating one token: a caller, or a failure (and the token's <c>kid</c> when readable).</summary>
internal readonly record struct TokenCheck(AuthFailure Failure, JwtCaller? Caller, string? KeyId, long KeySetVersion = -1)
{
    public static TokenCheck Fail(AuthFailure failure, string? keyId = null) => new(failure, null, keyId);
}

/// <summary>
/// Validates tokens with IdentityModel's <see cref="JsonWebTokenHandler"/> against the current
/// <see cref="SigningKeySet"/>. A token whose <c>kid</c> is not in the set waits (bounded) for a shared refresh,
/// so a newly published key is accepted on its first call.
/// </summary>
internal sealed class JwtTokenValidator(SigningKeyManager keys, CallerFactory callers)
{
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

        if (!TryRead(token, out var jwt, out var keyId, out var failure))
        {
            return ValueTask.FromResult(TokenCheck.Fail(failure, keyId));
        }

        var set = keys.Current;

        // IdentityModel reports a disallowed alg as a signature failure (IDX10511): check it first, for the right
        // reason and so that such a token never triggers a key refresh.
        if (!IsAllowedAlgorithm(jwt.Alg, set.Parameters))
        {
            return ValueTask.FromResult(TokenCheck.Fail(AuthFailure.AlgorithmNotAllowed, keyId));
        }

        if (!set.CanValidate(keyId))
        {
            return RefreshThenValidateAsync(jwt, keyId, set, cancellationToken);
        }

        return ValidateAsync(jwt, keyId, set);
    }

    private static bool IsAllowedAlgorithm(string? algorithm, TokenValidationParameters parameters)
    {
        // IdentityModel reads an empty list as "any algorithm"; here it means none (fail closed).
        var allowed = parameters.ValidAlgorithms;
        if (allowed is null or ICollection<string> { Count: 0 })
        {
            return false;
        }

        // An array (what CompiledAuthOptions sets) is an ICollection: an ordinal Contains with no allocation.
        return !string.IsNullOrEmpty(algorithm) && allowed.Contains(algorithm);
    }

    private async ValueTask<TokenCheck> RefreshThenValidateAsync(
        JsonWebToken jwt, string? keyId, SigningKeySet seen, CancellationToken cancellationToken)
    {
        var set = await keys.RefreshForUnknownKeyAsync(seen, cancellationToken).ConfigureAwait(false);
        if (set.IsEmpty)
        {
            return TokenCheck.Fail(AuthFailure.KeysUnavailable, keyId);
        }

        if (!set.CanValidate(keyId))
        {
            return TokenCheck.Fail(AuthFailure.SignatureKeyNotFound, keyId);
        }

        return await ValidateAsync(jwt, keyId, set).ConfigureAwait(false);
    }

    private ValueTask<TokenCheck> ValidateAsync(JsonWebToken jwt, string? keyId, SigningKeySet set)
    {
        var pending = _handler.ValidateTokenAsync(jwt, set.Parameters);
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.FromResult(Complete(pending.Result, keyId, set.Version));
        }

        return AwaitAsync(pending, keyId, set.Version);
    }

    private async ValueTask<TokenCheck> AwaitAsync(Task<TokenValidationResult> pending, string? keyId, long keySetVersion) =>
        Complete(await pending.ConfigureAwait(false), keyId, keySetVersion);

    private TokenCheck Complete(TokenValidationResult result, string? keyId, long keySetVersion)
    {
        if (!result.IsValid || result.SecurityToken is not JsonWebToken validated)
        {
            return TokenCheck.Fail(MapException(result.Exception), keyId);
        }

        return new TokenCheck(AuthFailure.None, callers.Create(validated), keyId, keySetVersion);
    }

    private static bool TryRead(ReadOnlyMemory<char> token, out JsonWebToken jwt, out string? keyId, out AuthFailure failure)
    {
        jwt = null!;
        keyId = null;
        try
        {
            jwt = new JsonWebToken(token);
            if (jwt.IsEncrypted)
            {
                failure = AuthFailure.EncryptedToken;
                return false;
            }

            keyId = string.IsNullOrEmpty(jwt.Kid) ? null : jwt.Kid;
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
