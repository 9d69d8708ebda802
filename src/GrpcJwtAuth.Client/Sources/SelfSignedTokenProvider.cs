using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Client.Sources;

/// <summary>Mints a new JWT, signed with the service's own key, each time it is asked.</summary>
public sealed class SelfSignedTokenProvider : IAccessTokenProvider
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly SelfSignedTokenOptions _options;
    private readonly SigningCredentials _credentials;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the provider; checks the options at once.</summary>
    /// <exception cref="ArgumentException">A required option is missing or invalid.</exception>
    public SelfSignedTokenProvider(SelfSignedTokenOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = options.SigningKey ?? throw new ArgumentException("SelfSignedTokenOptions.SigningKey is required.", nameof(options));
        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            throw new ArgumentException("SelfSignedTokenOptions.Issuer is required.", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            throw new ArgumentException("SelfSignedTokenOptions.Audience is required.", nameof(options));
        }

        if (options.Lifetime <= TimeSpan.Zero || options.Lifetime > TimeSpan.FromDays(1))
        {
            throw new ArgumentException(
                $"SelfSignedTokenOptions.Lifetime is {options.Lifetime}; it must be positive and at most one day.", nameof(options));
        }

        if (options.NotBeforeSkew < TimeSpan.Zero)
        {
            throw new ArgumentException("SelfSignedTokenOptions.NotBeforeSkew must not be negative.", nameof(options));
        }

        var algorithm = string.IsNullOrWhiteSpace(options.Algorithm) ? DefaultAlgorithm(key) : options.Algorithm;
        if (string.Equals(algorithm, "none", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("SelfSignedTokenOptions.Algorithm 'none' is not allowed.", nameof(options));
        }

        if (key is SymmetricSecurityKey symmetric && symmetric.KeySize < 256)
        {
            throw new ArgumentException("A symmetric signing key needs at least 32 bytes.", nameof(options));
        }

        if (!key.CryptoProviderFactory.IsSupportedAlgorithm(algorithm, key))
        {
            throw new ArgumentException(
                $"SelfSignedTokenOptions.Algorithm '{algorithm}' cannot be used with a {key.GetType().Name}.", nameof(options));
        }

        // Sign once now: a public key (whose private half status IdentityModel often reports as Unknown) fails here,
        // not on every token.
        try
        {
            var signer = key.CryptoProviderFactory.CreateForSigning(key, algorithm);
            try
            {
                signer.Sign([0]);
            }
            finally
            {
                key.CryptoProviderFactory.ReleaseSignatureProvider(signer);
            }
        }
        catch (Exception ex) when (ex is CryptographicException or InvalidOperationException or NotSupportedException)
        {
            throw new ArgumentException(
                $"SelfSignedTokenOptions.SigningKey cannot sign with '{algorithm}'; it must hold a private key ({ex.GetType().Name}).",
                nameof(options),
                ex);
        }

        _options = options;
        _credentials = new SigningCredentials(
            string.IsNullOrWhiteSpace(options.KeyId) ? key : WithKeyId(key, options.KeyId, nameof(options)), algorithm);
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// The same key material under another <c>kid</c>, as a key object of its own: the caller's key (which other code
    /// may share, and whose <c>kid</c> it may rely on) is never changed.
    /// </summary>
    private static SecurityKey WithKeyId(SecurityKey key, string keyId, string parameterName)
    {
        SecurityKey copy = key switch
        {
            RsaSecurityKey { Rsa: { } rsa } => new RsaSecurityKey(rsa),
            RsaSecurityKey rsa => new RsaSecurityKey(rsa.Parameters),
            ECDsaSecurityKey ecdsa => new ECDsaSecurityKey(ecdsa.ECDsa),
            SymmetricSecurityKey symmetric => new SymmetricSecurityKey(symmetric.Key),
            X509SecurityKey certificate => new X509SecurityKey(certificate.Certificate),
            JsonWebKey jwk => new JsonWebKey
            {
                Kty = jwk.Kty,
                Alg = jwk.Alg,
                Use = jwk.Use,
                Crv = jwk.Crv,
                X = jwk.X,
                Y = jwk.Y,
                D = jwk.D,
                N = jwk.N,
                E = jwk.E,
                P = jwk.P,
                Q = jwk.Q,
                DP = jwk.DP,
                DQ = jwk.DQ,
                QI = jwk.QI,
                K = jwk.K,
            },
            _ => throw new ArgumentException(
                $"SelfSignedTokenOptions.KeyId cannot be applied to a {key.GetType().Name}; set the kid on the key itself.", parameterName),
        };
        copy.KeyId = keyId;
        copy.CryptoProviderFactory = key.CryptoProviderFactory;
        return copy;
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var now = _timeProvider.GetUtcNow();
        var expires = now + _options.Lifetime;
        var claims = new Dictionary<string, object>(_options.Claims, StringComparer.Ordinal)
        {
            [JwtRegisteredClaimNames.Jti] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
        };
        if (!string.IsNullOrWhiteSpace(_options.Subject))
        {
            claims[JwtRegisteredClaimNames.Sub] = _options.Subject;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            IssuedAt = (now - _options.NotBeforeSkew).UtcDateTime,
            NotBefore = (now - _options.NotBeforeSkew).UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = claims,
            SigningCredentials = _credentials,
        };

        var token = Handler.CreateToken(descriptor);

        // exp is written in whole seconds: report what the token says.
        return ValueTask.FromResult(new AccessToken(token, DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds())));
    }

    private static string DefaultAlgorithm(SecurityKey key) => key switch
    {
        SymmetricSecurityKey => SecurityAlgorithms.HmacSha256,
        ECDsaSecurityKey ec => ec.KeySize switch
        {
            384 => SecurityAlgorithms.EcdsaSha384,
            521 => SecurityAlgorithms.EcdsaSha512,
            _ => SecurityAlgorithms.EcdsaSha256,
        },
        JsonWebKey { Kty: JsonWebAlgorithmsKeyTypes.EllipticCurve } jwk => jwk.Crv switch
        {
            JsonWebKeyECTypes.P384 => SecurityAlgorithms.EcdsaSha384,
            JsonWebKeyECTypes.P521 => SecurityAlgorithms.EcdsaSha512,
            _ => SecurityAlgorithms.EcdsaSha256,
        },
        JsonWebKey { Kty: JsonWebAlgorithmsKeyTypes.Octet } => SecurityAlgorithms.HmacSha256,
        _ => SecurityAlgorithms.RsaSha256,
    };
}
