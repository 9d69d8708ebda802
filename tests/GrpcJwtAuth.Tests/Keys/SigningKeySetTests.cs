using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Keys;

public class SigningKeySetTests
{
    private static readonly TestSigningKey KeyA = TestSigningKey.Ec("a");
    private static readonly TestSigningKey KeyB = TestSigningKey.Ec("b");
    private static readonly TestSigningKey NoKid = TestSigningKey.Ec(keyId: null);

    [Theory]
    [InlineData("a", true)]
    [InlineData("b", true)]
    [InlineData("c", false)]
    [InlineData("A", false)]
    [InlineData(null, true)]
    [InlineData("", true)]
    public void CanValidate_KeysWithIds_MatchesKidOrdinally(string? keyId, bool expected)
    {
        var set = Set(KeyA, KeyB);

        Assert.Equal(expected, set.CanValidate(keyId));
        Assert.False(set.HasKeyWithoutId);
    }

    [Theory]
    [InlineData("anything")]
    [InlineData(null)]
    public void CanValidate_AKeyWithoutId_AcceptsAnyKid(string? keyId)
    {
        var set = Set(KeyA, NoKid);

        Assert.True(set.HasKeyWithoutId);
        Assert.True(set.CanValidate(keyId));
    }

    [Theory]
    [InlineData("a")]
    [InlineData(null)]
    public void CanValidate_EmptySet_IsFalse(string? keyId)
    {
        var set = Set();

        Assert.True(set.IsEmpty);
        Assert.False(set.CanValidate(keyId));
    }

    [Fact]
    public void Constructor_Keys_KeepsVersionKeysAndIds()
    {
        var refreshedAt = new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
        SecurityKey[] keys = [KeyA.PublicKey, KeyB.PublicKey, KeyA.PublicKey];

        var set = new SigningKeySet(7, keys, new TokenValidationParameters(), refreshedAt);

        Assert.Equal(7, set.Version);
        Assert.Same(keys, set.Keys);
        Assert.Equal(["a", "b"], set.KeyIds.Order(StringComparer.Ordinal));
        Assert.Equal(refreshedAt, set.RefreshedAt);
        Assert.False(set.IsEmpty);
    }

    private static SigningKeySet Set(params TestSigningKey[] keys) =>
        new(1, keys.Select(key => key.PublicKey).ToArray(), new TokenValidationParameters(), refreshedAt: null);
}
