using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Keys;

public class SigningKeySetTests
{
    private const string ES256 = SecurityAlgorithms.EcdsaSha256;
    private const string ES384 = SecurityAlgorithms.EcdsaSha384;
    private const string RS256 = SecurityAlgorithms.RsaSha256;
    private const string PS256 = SecurityAlgorithms.RsaSsaPssSha256;

    private static readonly TestSigningKey KeyA = TestSigningKey.Ec("a");
    private static readonly TestSigningKey KeyB = TestSigningKey.Ec("b");
    private static readonly TestSigningKey NoKid = TestSigningKey.Ec(keyId: null);
    private static readonly TestSigningKey P384 = TestSigningKey.Ec("p384", ES384);
    private static readonly TestSigningKey Rsa = TestSigningKey.Rsa("rsa");

    [Theory]
    [InlineData("a", nameof(KeyMatch.Found))]
    [InlineData("b", nameof(KeyMatch.Found))]
    [InlineData("c", nameof(KeyMatch.UnknownKeyId))]
    [InlineData("A", nameof(KeyMatch.UnknownKeyId))]
    [InlineData(null, nameof(KeyMatch.Found))]
    [InlineData("", nameof(KeyMatch.Found))]
    public void Find_KeysWithIds_MatchesKidOrdinally(string? keyId, string expected)
    {
        var set = Set(Of(KeyA), Of(KeyB));

        Assert.Equal(Enum.Parse<KeyMatch>(expected), set.Find(keyId, ES256, out _));
    }

    [Fact]
    public void Find_KnownKid_GivesOnlyThatKey()
    {
        var set = Set(Of(KeyA), Of(KeyB), Of(NoKid));

        Assert.Equal(KeyMatch.Found, set.Find("b", ES256, out var keys));

        Assert.Same(KeyB.PublicKey, Assert.Single(keys));
    }

    [Fact]
    public void Find_UnknownKidNextToAKeyWithoutId_IsStillUnknownSoThatARefreshCanRun()
    {
        var set = Set(Of(KeyA), Of(NoKid));

        Assert.Equal(KeyMatch.UnknownKeyId, set.Find("rotated", ES256, out var fallback));

        Assert.Same(NoKid.PublicKey, Assert.Single(fallback));
    }

    [Fact]
    public void Find_TokenWithoutKid_GivesEveryKeyForItsAlgorithm()
    {
        var set = Set(Of(KeyA), Of(NoKid), Of(Rsa));

        Assert.Equal(KeyMatch.Found, set.Find(null, ES256, out var keys));

        Assert.Equal([KeyA.PublicKey, NoKid.PublicKey], keys);
    }

    [Theory]
    [InlineData("p384", ES256)]
    [InlineData("a", ES384)]
    [InlineData("a", RS256)]
    [InlineData("rsa", ES256)]
    public void Find_KnownKidWhoseKeyCannotVerifyTheAlgorithm_IsAlgorithmNotAllowed(string keyId, string algorithm)
    {
        var set = Set(Of(KeyA), Of(P384), Of(Rsa));

        Assert.Equal(KeyMatch.AlgorithmNotAllowed, set.Find(keyId, algorithm, out var keys));
        Assert.Empty(keys);
    }

    [Fact]
    public void Find_KeyDeclaringAnAlgorithm_IsUsedForThatAlgorithmOnly()
    {
        var set = Set(SigningKey.Of(Rsa.PublicKey, RS256));

        Assert.Equal(KeyMatch.Found, set.Find("rsa", RS256, out _));
        Assert.Equal(KeyMatch.AlgorithmNotAllowed, set.Find("rsa", PS256, out _));
    }

    [Fact]
    public void Find_AlgorithmTheIssuerDoesNotAllow_IsAlgorithmNotAllowedEvenForAKeyThatCould()
    {
        var set = Set(Issuer(options => options.ValidAlgorithms.Add(PS256)), Of(Rsa));

        Assert.Equal(KeyMatch.AlgorithmNotAllowed, set.Find("rsa", RS256, out _));
        Assert.Equal(KeyMatch.Found, set.Find("rsa", PS256, out _));
    }

    [Theory]
    [InlineData("a")]
    [InlineData(null)]
    public void Find_EmptySet_IsEmpty(string? keyId)
    {
        var set = Set();

        Assert.True(set.IsEmpty);
        Assert.Equal(KeyMatch.Empty, set.Find(keyId, ES256, out _));
    }

    [Fact]
    public void Parameters_NeverLetIdentityModelTryKeysItself()
    {
        var set = Set(Of(KeyA), Of(NoKid));

        Assert.False(set.Parameters.TryAllIssuerSigningKeys);
        Assert.Null(set.Parameters.IssuerSigningKeys);
        Assert.Null(set.Parameters.IssuerSigningKeyResolver);
        Assert.NotNull(set.Parameters.SignatureValidator);
        Assert.Throws<SecurityTokenInvalidSignatureException>(() => set.Parameters.SignatureValidator("a.b.c", set.Parameters));
    }

    [Fact]
    public void Constructor_Keys_KeepsVersionKeysAndIds()
    {
        var refreshedAt = new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
        SigningKey[] keys = [Of(KeyA), Of(KeyB), Of(KeyA)];

        var set = new SigningKeySet(7, keys, Issuer(), "https://discovered.test", refreshedAt);

        Assert.Equal(7, set.Version);
        Assert.Same(keys, set.Keys);
        Assert.Equal(["a", "b"], set.KeyIds.Order(StringComparer.Ordinal));
        Assert.Equal(refreshedAt, set.RefreshedAt);
        Assert.Equal("https://discovered.test", set.DiscoveredIssuer);
        Assert.False(set.IsEmpty);
    }

    private static SigningKey Of(TestSigningKey key) => SigningKey.Of(key.PublicKey);

    private static IssuerDefinition Issuer(Action<GrpcJwtAuthOptions>? configure = null)
    {
        var options = new GrpcJwtAuthOptions { JwksUri = "https://keys.test/jwks", Issuers = { "https://issuer.test" } };
        configure?.Invoke(options);
        return CompiledAuthOptions.Create(options, new FakeTimeProvider()).Issuers[0];
    }

    private static SigningKeySet Set(params SigningKey[] keys) => Set(Issuer(), keys);

    private static SigningKeySet Set(IssuerDefinition issuer, params SigningKey[] keys) =>
        new(1, keys, issuer, discoveredIssuer: null, refreshedAt: null);
}
