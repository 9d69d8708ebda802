using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GrpcJwtAuth.Keys;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Keys;

public sealed class StaticKeyLoaderTests : IDisposable
{
    private const string Setting = "GrpcJwtAuth:StaticKeys:3";

    private static readonly RSA Rsa = RSA.Create(2048);
    private static readonly RSA WeakRsa = RSA.Create(1024);
    private static readonly ECDsa Ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var file in _files)
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Load_RsaSubjectPublicKeyInfoPem_ReturnsRsaKey()
    {
        var key = Assert.IsType<RsaSecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = Rsa.ExportSubjectPublicKeyInfoPem() }));

        Assert.Equal(Rsa.ExportRSAPublicKey(), key.Rsa.ExportRSAPublicKey());
    }

    [Fact]
    public void Load_RsaPublicKeyPem_ReturnsRsaKey()
    {
        var key = Assert.IsType<RsaSecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = Rsa.ExportRSAPublicKeyPem() }));

        Assert.Equal(Rsa.ExportRSAPublicKey(), key.Rsa.ExportRSAPublicKey());
    }

    [Fact]
    public void Load_EcPublicKeyPem_ReturnsEcKey()
    {
        var key = Assert.IsType<ECDsaSecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = Ec.ExportSubjectPublicKeyInfoPem() }));

        Assert.Equal(Ec.ExportSubjectPublicKeyInfo(), key.ECDsa.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Load_PemWithTextAroundTheBlock_ReturnsKey()
    {
        var pem = "# issuer signing key\n\n" + Rsa.ExportSubjectPublicKeyInfoPem() + "\n\n";

        Assert.IsType<RsaSecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = pem }));
    }

    [Fact]
    public void Load_RsaCertificatePem_ReturnsCertificateKey()
    {
        using var certificate = SelfSigned(Rsa);

        var key = Assert.IsType<X509SecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = certificate.ExportCertificatePem() }));

        Assert.Equal(certificate.Thumbprint, key.Certificate.Thumbprint);
        Assert.False(key.Certificate.HasPrivateKey);
    }

    [Fact]
    public void Load_EcCertificatePem_ReturnsCertificateKey()
    {
        using var certificate = SelfSigned(Ec);

        var key = Assert.IsType<X509SecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = certificate.ExportCertificatePem() }));

        Assert.Equal(certificate.Thumbprint, key.Certificate.Thumbprint);
    }

    [Fact]
    public void Load_PemFile_ReadsTheFile()
    {
        var path = TempFile(Ec.ExportSubjectPublicKeyInfoPem());

        var key = Assert.IsType<ECDsaSecurityKey>(Load(new GrpcJwtAuthStaticKey { PemFile = path }));

        Assert.Equal(Ec.ExportSubjectPublicKeyInfo(), key.ECDsa.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Load_SymmetricSecretBase64_ReturnsSymmetricKey()
    {
        var secret = SecretWithBase64SpecialCharacters();
        var base64 = Convert.ToBase64String(secret);
        Assert.Contains('+', base64);
        Assert.Contains('/', base64);
        Assert.EndsWith("=", base64, StringComparison.Ordinal);

        var key = Assert.IsType<SymmetricSecurityKey>(Load(new GrpcJwtAuthStaticKey { SymmetricSecret = base64 }));

        Assert.Equal(secret, key.Key);
    }

    [Fact]
    public void Load_SymmetricSecretBase64Url_ReturnsSymmetricKey()
    {
        var secret = SecretWithBase64SpecialCharacters();
        var base64Url = Base64UrlEncoder.Encode(secret);
        Assert.Contains('-', base64Url);
        Assert.Contains('_', base64Url);

        var key = Assert.IsType<SymmetricSecurityKey>(Load(new GrpcJwtAuthStaticKey { SymmetricSecret = base64Url }));

        Assert.Equal(secret, key.Key);
    }

    [Fact]
    public void Load_SymmetricSecretWithSurroundingWhitespace_IsTrimmed()
    {
        var secret = RandomNumberGenerator.GetBytes(32);

        var key = Assert.IsType<SymmetricSecurityKey>(Load(new GrpcJwtAuthStaticKey { SymmetricSecret = $"  {Convert.ToBase64String(secret)}\n" }));

        Assert.Equal(secret, key.Key);
    }

    [Fact]
    public void Load_SymmetricSecretOfExactly32Bytes_IsAccepted()
    {
        Assert.IsType<SymmetricSecurityKey>(Load(new GrpcJwtAuthStaticKey { SymmetricSecret = Convert.ToBase64String(new byte[32]) }));
    }

    [Theory]
    [InlineData("key-1")]
    [InlineData("2024-rotation")]
    public void Load_KeyId_IsApplied(string keyId)
    {
        Assert.Equal(keyId, Load(new GrpcJwtAuthStaticKey { KeyId = keyId, Pem = Rsa.ExportSubjectPublicKeyInfoPem() }).KeyId);
        Assert.Equal(keyId, Load(new GrpcJwtAuthStaticKey { KeyId = keyId, SymmetricSecret = Convert.ToBase64String(new byte[32]) }).KeyId);
    }

    [Fact]
    public void Load_CertificateWithKeyId_UsesTheKeyIdNotTheThumbprint()
    {
        using var certificate = SelfSigned(Rsa);

        var key = Load(new GrpcJwtAuthStaticKey { KeyId = "cert-1", Pem = certificate.ExportCertificatePem() });

        Assert.Equal("cert-1", key.KeyId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Load_NoKeyId_LeavesKeyIdEmpty(string? keyId)
    {
        Assert.True(string.IsNullOrEmpty(Load(new GrpcJwtAuthStaticKey { KeyId = keyId, Pem = Rsa.ExportSubjectPublicKeyInfoPem() }).KeyId));
    }

    [Fact]
    public void Load_CertificateWithoutKeyId_HasNoKeyIdRatherThanItsThumbprint()
    {
        using var certificate = SelfSigned(Rsa);

        var key = Load(new GrpcJwtAuthStaticKey { Pem = certificate.ExportCertificatePem() });

        Assert.True(string.IsNullOrEmpty(key.KeyId), key.KeyId);
    }

    public static TheoryData<string, string> PrivateKeys() => new()
    {
        { "PKCS#8 RSA", Rsa.ExportPkcs8PrivateKeyPem() },
        { "PKCS#1 RSA", Rsa.ExportRSAPrivateKeyPem() },
        { "SEC1 EC", Ec.ExportECPrivateKeyPem() },
        { "PKCS#8 EC", Ec.ExportPkcs8PrivateKeyPem() },
        { "encrypted PKCS#8", Rsa.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1)) },
    };

    [Theory]
    [MemberData(nameof(PrivateKeys))]
    public void Load_PrivateKeyPem_IsRefusedAskingForThePublicKey(string description, string pem)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { Pem = pem }));

        Assert.True(error.Message.Contains("configure the public key", StringComparison.Ordinal), description);
        Assert.StartsWith(Setting, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(pem.Split('\n')[1], error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUBLIC KEY")]
    [InlineData("CERTIFICATE")]
    public void Load_PrivateKeyAfterAPublicBlockInTheSamePem_IsRefused(string firstLabel)
    {
        using var certificate = SelfSigned(Rsa);
        var first = firstLabel == "CERTIFICATE" ? certificate.ExportCertificatePem() : Rsa.ExportSubjectPublicKeyInfoPem();

        var error = Assert.Throws<InvalidOperationException>(
            () => Load(new GrpcJwtAuthStaticKey { Pem = first + "\n" + Rsa.ExportPkcs8PrivateKeyPem() }));

        Assert.Contains("configure the public key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TwoPublicKeyBlocks_UsesTheFirst()
    {
        var pem = Ec.ExportSubjectPublicKeyInfoPem() + "\n" + Rsa.ExportSubjectPublicKeyInfoPem();

        var key = Assert.IsType<ECDsaSecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = pem }));

        Assert.Equal(Ec.ExportSubjectPublicKeyInfo(), key.ECDsa.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Load_TwoRsaPublicKeyBlocks_UsesTheFirst()
    {
        using var other = RSA.Create(2048);
        var pem = Rsa.ExportRSAPublicKeyPem() + "\n" + other.ExportRSAPublicKeyPem();

        var key = Assert.IsType<RsaSecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = pem }));

        Assert.Equal(Rsa.ExportRSAPublicKey(), key.Rsa.ExportRSAPublicKey());
    }

    [Fact]
    public void Load_CertificateChain_UsesTheFirstCertificate()
    {
        using var leaf = SelfSigned(Rsa);
        using var other = SelfSigned(Ec);

        var key = Assert.IsType<X509SecurityKey>(Load(new GrpcJwtAuthStaticKey { Pem = leaf.ExportCertificatePem() + "\n" + other.ExportCertificatePem() }));

        Assert.Equal(leaf.Thumbprint, key.Certificate.Thumbprint);
    }

    [Fact]
    public void Load_1024BitRsaSubjectPublicKeyInfo_IsRefused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { Pem = WeakRsa.ExportSubjectPublicKeyInfoPem() }));

        Assert.Equal($"{Setting} is a 1024-bit RSA key; at least 2048 bits are required.", error.Message);
    }

    [Fact]
    public void Load_1024BitRsaPublicKey_IsRefused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { Pem = WeakRsa.ExportRSAPublicKeyPem() }));

        Assert.Contains("1024-bit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_1024BitRsaCertificate_IsRefused()
    {
        using var certificate = SelfSigned(WeakRsa);

        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { Pem = certificate.ExportCertificatePem() }));

        Assert.Contains("certificate with a 1024-bit RSA key", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(31)]
    public void Load_ShortSymmetricSecret_IsRefused(int bytes)
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => Load(new GrpcJwtAuthStaticKey { SymmetricSecret = Convert.ToBase64String(new byte[bytes]) }));

        Assert.Equal($"{Setting}:SymmetricSecret is {bytes} bytes; HMAC secrets need at least 32 bytes.", error.Message);
    }

    [Theory]
    [InlineData("not base64 at all!")]
    [InlineData("abc*def")]
    [InlineData("a")]
    public void Load_SymmetricSecretNotBase64_IsRefused(string secret)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { SymmetricSecret = secret }));

        Assert.Equal($"{Setting}:SymmetricSecret is not base64.", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMIIB\n")]
    public void Load_NoPemBlock_IsRefused(string pem)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { Pem = pem }));

        Assert.Equal($"{Setting} holds no PEM block.", error.Message);
    }

    [Fact]
    public void Load_UnknownPemLabel_IsRefusedNamingTheExpectedLabels()
    {
        var pem = PemEncoding.WriteString("CERTIFICATE REQUEST", new byte[] { 1, 2, 3 });

        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { Pem = pem }));

        Assert.Contains("'CERTIFICATE REQUEST'", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUBLIC KEY")]
    [InlineData("RSA PUBLIC KEY")]
    [InlineData("CERTIFICATE")]
    public void Load_PemBlockThatIsNotAKey_IsRefused(string label)
    {
        var pem = PemEncoding.WriteString(label, new byte[] { 0x30, 0x03, 0x02, 0x01, 0x01 });

        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { Pem = pem }));

        Assert.Equal($"{Setting} holds a PEM block that cannot be read as a key.", error.Message);
    }

    public static TheoryData<string, GrpcJwtAuthStaticKey> WrongSourceCounts() => new()
    {
        { "none", new GrpcJwtAuthStaticKey { KeyId = "k" } },
        { "Pem and PemFile", new GrpcJwtAuthStaticKey { Pem = "x", PemFile = "y" } },
        { "Pem and SymmetricSecret", new GrpcJwtAuthStaticKey { Pem = "x", SymmetricSecret = "y" } },
        { "PemFile and SymmetricSecret", new GrpcJwtAuthStaticKey { PemFile = "x", SymmetricSecret = "y" } },
        { "all three", new GrpcJwtAuthStaticKey { Pem = "x", PemFile = "y", SymmetricSecret = "z" } },
    };

    [Theory]
    [MemberData(nameof(WrongSourceCounts))]
    public void Load_NotExactlyOneSource_IsRefused(string description, GrpcJwtAuthStaticKey entry)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(entry));

        Assert.True(
            error.Message == $"{Setting} must set exactly one of Pem, PemFile and SymmetricSecret.",
            $"{description}: {error.Message}");
    }

    [Fact]
    public void Load_MissingPemFile_IsRefusedNamingThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"grpcjwtauth-missing-{Guid.NewGuid():N}.pem");

        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { PemFile = path }));

        Assert.StartsWith($"{Setting}:PemFile '{path}' cannot be read: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PemFileIsADirectory_IsRefused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { PemFile = Path.GetTempPath() }));

        Assert.Contains(":PemFile '", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PemFileWithoutPemBlock_IsRefused()
    {
        var path = TempFile("just text");

        var error = Assert.Throws<InvalidOperationException>(() => Load(new GrpcJwtAuthStaticKey { PemFile = path }));

        Assert.Equal($"{Setting} holds no PEM block.", error.Message);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void IsSymmetric_Source_TrueOnlyForSymmetricSecret(bool pem, bool pemFile)
    {
        Assert.False(StaticKeyLoader.IsSymmetric(new GrpcJwtAuthStaticKey { Pem = pem ? "x" : null, PemFile = pemFile ? "y" : null }));
        Assert.True(StaticKeyLoader.IsSymmetric(new GrpcJwtAuthStaticKey { SymmetricSecret = "s" }));
    }

    private static SecurityKey Load(GrpcJwtAuthStaticKey entry) => StaticKeyLoader.Load(entry, Setting);

    private static byte[] SecretWithBase64SpecialCharacters()
    {
        // 0xFB 0xEF 0xBE encodes as "++++" and 0xFF 0xFF 0xFF as "////"; 37 bytes end in "==" padding.
        var secret = new byte[37];
        for (var i = 0; i < 36; i += 6)
        {
            secret[i] = 0xFB;
            secret[i + 1] = 0xEF;
            secret[i + 2] = 0xBE;
            secret[i + 3] = 0xFF;
            secret[i + 4] = 0xFF;
            secret[i + 5] = 0xFF;
        }

        secret[36] = 0x42;
        return secret;
    }

    private static X509Certificate2 SelfSigned(AsymmetricAlgorithm key)
    {
        var now = DateTimeOffset.UtcNow;
        var request = key switch
        {
            RSA rsa => new CertificateRequest("CN=issuer.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ecdsa => new CertificateRequest("CN=issuer.test", ecdsa, HashAlgorithmName.SHA256),
            _ => throw new ArgumentOutOfRangeException(nameof(key)),
        };
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    private string TempFile(string contents)
    {
        var path = Path.Combine(Path.GetTempPath(), $"grpcjwtauth-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, contents);
        _files.Add(path);
        return path;
    }
}
