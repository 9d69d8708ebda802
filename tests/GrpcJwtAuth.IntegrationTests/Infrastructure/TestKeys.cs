using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>Signing keys shared by the suite (made once: RSA key generation is the slow part of a test).</summary>
public static class TestKeys
{
    /// <summary>The key the server trusts in most tests, kid <c>rsa-1</c>.</summary>
    public static readonly TestSigningKey Primary = TestSigningKey.Rsa("rsa-1");

    /// <summary>Another private key claiming the same kid as <see cref="Primary"/>: its signatures do not verify.</summary>
    public static readonly TestSigningKey Impostor = TestSigningKey.Rsa("rsa-1");

    /// <summary>The next key an issuer rotates to, kid <c>rsa-2</c>.</summary>
    public static readonly TestSigningKey Next = TestSigningKey.Rsa("rsa-2");

    public static readonly TestSigningKey Ec = TestSigningKey.Ec("ec-1");

    public static readonly TestSigningKey Hmac = TestSigningKey.Hmac("hs-1");

    /// <summary>Trusts <paramref name="keys"/> as static keys, with the default issuer and audience of the token factory.</summary>
    public static Action<GrpcJwtAuthOptions> StaticOptions(params TestSigningKey[] keys) => options =>
    {
        foreach (var key in keys)
        {
            options.StaticKeys.Add(key.ToStaticKey());
        }

        options.Issuers.Add(TestTokenFactory.DefaultIssuer);
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
    };
}
