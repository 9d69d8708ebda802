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
    AuthFailure Failure, JwtCaller? Caller, string? KeyId, SigningKeyManager? Issuer = null, SigningKeySet? KeySet = null, string? Detail = null)
{
    /// <param name="failure">Why the token was turned away.</param>
    /// <param name="keyId">The token's <c>kid</c>, when readable.</param>
    /// <param name="detail">A status detail of this token's own (times only), replacing the failure's fixed one.</param>
    public static TokenCheck Fail(AuthFailure failure, string? keyId = null, string? detail = null) => new(failure, null, keyId, Detail: detail);
}

/// <summary>
/// Validates tokens: everything that can turn a token away cheaply runs before any signature or parsing work, then the
/// signature, then IdentityModel's <see cref="JsonWebTokenHandler"/> on the token whose signature held.
/// <list type="number">
/// <item>The pre-check (<see cref="TokenPrecheck"/>): shape, duplicates, times; it also reads <c>alg</c>, <c>kid</c>,
/// <c>typ</c>, <c>iss</c>, <c>exp</c>, <c>nbf</c> and <c>iat</c>.</item>
/// <item><c>typ</c> (<see cref="TokenTypes"/>); the issuer the token's <c>iss</c> routes to (<see cref="TrustedIssuers"/>),
/// whose algorithms, keys and settings alone are used from here on; <c>alg</c>; <c>exp</c>/<c>nbf</c>/<c>iat</c>
/// (<see cref="LifetimeCheck"/>).</item>
/// <item>The keys of that issuer for the token's <c>kid</c> and <c>alg</c>; a <c>kid</c> the issuer does not hold
/// waits (bounded) for a shared refresh of its keys, so a newly published key is accepted on its first call.</item>
/// <item>The signature, with IdentityModel's signature providers (<see cref="SignatureCheck"/>).</item>
/// <item>IdentityModel parses the token and validates it (lifetime, audience, issuer), taking the checked signature
/// as given.</item>
/// </list>
/// A forged token thus costs the pre-check and at most one signature check, whatever claims it carries.
/// </summary>
internal sealed class JwtTokenValidator(TrustedIssuers issuers, CompiledAuthOptions options)
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
        var precheck = TokenPrecheck.Check(token.Span, out var facts);
        if (precheck != AuthFailure.None)
        {
            return Failed(precheck, keyId: null);
        }

        var keyId = string.IsNullOrEmpty(facts.KeyId) ? null : facts.KeyId;

        // Another kind of JWT (a logout token, a security event, a DPoP proof) signed by a trusted key is still not an
        // access token (RFC 8725 section 3.11).
        if (!_types.Accepts(facts.Type))
        {
            return Failed(AuthFailure.TokenTypeNotAccepted, keyId);
        }

        // The claimed issuer chooses whose keys are looked at: no other issuer's key can ever verify this token.
        var keys = issuers.Find(facts.Issuer);
        if (keys is null)
        {
            return Failed(AuthFailure.IssuerNotAccepted, keyId);
        }

        // An empty list allows nothing (fail closed).
        var algorithm = facts.Algorithm;
        if (string.IsNullOrEmpty(algorithm) || Array.IndexOf(keys.Issuer.Algorithms, algorithm) < 0)
        {
            return Failed(AuthFailure.AlgorithmNotAllowed, keyId);
        }

        var times = keys.Issuer.Profile.Lifetime;
        var lifetime = times.Check(facts.NotBefore, facts.Expires, facts.IssuedAt);
        if (lifetime != AuthFailure.None)
        {
            return ValueTask.FromResult(TokenCheck.Fail(lifetime, keyId, times.Explain(lifetime, facts.NotBefore, facts.Expires, facts.IssuedAt)));
        }

        var set = keys.Current;
        return set.Find(keyId, algorithm, out var candidates) switch
        {
            KeyMatch.Found => ValueTask.FromResult(Validate(token, keyId, algorithm, candidates, keyIdMatched: keyId is not null, keys, set)),
            KeyMatch.AlgorithmNotAllowed => Failed(AuthFailure.AlgorithmNotAllowed, keyId),
            _ => RefreshThenValidateAsync(token, keyId, algorithm, keys, set, cancellationToken),
        };
    }

    private static ValueTask<TokenCheck> Failed(AuthFailure failure, string? keyId) => ValueTask.FromResult(TokenCheck.Fail(failure, keyId));

    private async ValueTask<TokenCheck> RefreshThenValidateAsync(
        ReadOnlyMemory<char> token, string? keyId, string algorithm, SigningKeyManager keys, SigningKeySet seen, CancellationToken cancellationToken)
    {
        var set = await keys.RefreshForUnknownKeyAsync(seen, cancellationToken).ConfigureAwait(false);
        switch (set.Find(keyId, algorithm, out var candidates))
        {
            case KeyMatch.Found:
                return Validate(token, keyId, algorithm, candidates, keyIdMatched: keyId is not null, keys, set);
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

                return Validate(token, keyId, algorithm, candidates, keyIdMatched: false, keys, set);
        }
    }

    /// <summary>Checks the signature, then has IdentityModel parse and validate the token. Synchronous: no I/O is left.</summary>
    private TokenCheck Validate(
        ReadOnlyMemory<char> token, string? keyId, string algorithm, SecurityKey[] candidates, bool keyIdMatched, SigningKeyManager keys, SigningKeySet set)
    {
        if (!SignatureCheck.Verify(token.Span, algorithm, candidates, out var signingKey))
        {
            // As IdentityModel reports it: the key the kid named did not verify it; or no key did.
            return TokenCheck.Fail(keyIdMatched ? AuthFailure.InvalidSignature : AuthFailure.SignatureKeyNotFound, keyId);
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token) { SigningKey = signingKey };
        }
        catch (Exception)
        {
            // Whatever the parser says about hostile input stays here: the reason is enough.
            return TokenCheck.Fail(AuthFailure.MalformedToken, keyId);
        }

        var pending = SignatureCheck.ValidateVerified(_handler, jwt, set.Parameters);
        var result = pending.IsCompletedSuccessfully ? pending.Result : pending.GetAwaiter().GetResult();
        if (!result.IsValid || result.SecurityToken is not JsonWebToken validated)
        {
            return TokenCheck.Fail(MapException(result.Exception), keyId);
        }

        return new TokenCheck(AuthFailure.None, CallerFactory.Create(validated, keys.Issuer), keyId, keys, set);
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
