using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Keys;

/// <summary>Turns <see cref="GrpcJwtAuthStaticKey"/> entries into IdentityModel keys, refusing weak or private keys.</summary>
internal static class StaticKeyLoader
{
    public const int MinimumSymmetricKeyBytes = 32;
    public const int MinimumRsaKeyBits = 2048;

    /// <summary>Loads a key; throws <see cref="InvalidOperationException"/> with a message naming <paramref name="settingName"/>.</summary>
    public static SecurityKey Load(GrpcJwtAuthStaticKey entry, string settingName)
    {
        var sources = (entry.Pem is null ? 0 : 1) + (entry.PemFile is null ? 0 : 1) + (entry.SymmetricSecret is null ? 0 : 1);
        if (sources != 1)
        {
            throw new InvalidOperationException(
                $"{settingName} must set exactly one of Pem, PemFile and SymmetricSecret.");
        }

        var key = entry.SymmetricSecret is not null
            ? LoadSymmetric(entry.SymmetricSecret, settingName)
            : LoadPem(entry.Pem ?? ReadPemFile(entry.PemFile!, settingName), settingName);

        // Also clears the thumbprint X509SecurityKey takes as its kid: a key without KeyId is tried for any token.
        key.KeyId = string.IsNullOrWhiteSpace(entry.KeyId) ? null : entry.KeyId;

        return key;
    }

    public static bool IsSymmetric(GrpcJwtAuthStaticKey entry) => entry.SymmetricSecret is not null;

    private static string ReadPemFile(string path, string settingName)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidOperationException($"{settingName}:PemFile '{path}' cannot be read: {ex.Message}", ex);
        }
    }

    private static SymmetricSecurityKey LoadSymmetric(string secret, string settingName)
    {
        byte[] bytes;
        try
        {
            bytes = Base64UrlEncoder.DecodeBytes(secret.Trim().TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{settingName}:SymmetricSecret is not base64.");
        }

        if (bytes.Length < MinimumSymmetricKeyBytes)
        {
            throw new InvalidOperationException(
                $"{settingName}:SymmetricSecret is {bytes.Length} bytes; HMAC secrets need at least {MinimumSymmetricKeyBytes} bytes.");
        }

        return new SymmetricSecurityKey(bytes);
    }

    private static SecurityKey LoadPem(string pem, string settingName)
    {
        if (!PemEncoding.TryFind(pem, out var fields))
        {
            throw new InvalidOperationException($"{settingName} holds no PEM block.");
        }

        // A private key anywhere in the text is refused, not only in the first block.
        for (var rest = pem.AsSpan(); PemEncoding.TryFind(rest, out var block); rest = rest[block.Location.End..])
        {
            if (rest[block.Label].Contains("PRIVATE KEY", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"{settingName} holds a private key; configure the public key (PUBLIC KEY or CERTIFICATE) instead.");
            }
        }

        // Only the first block is read: ImportFromPem throws ArgumentException on text holding several keys.
        var label = pem.AsSpan()[fields.Label];
        var first = pem[fields.Location];
        try
        {
            return label switch
            {
                "CERTIFICATE" => LoadCertificate(first, settingName),
                "RSA PUBLIC KEY" => LoadRsa(first, settingName),
                "PUBLIC KEY" => LoadPublicKey(first, settingName),
                _ => throw new InvalidOperationException(
                    $"{settingName} holds a PEM block labelled '{label}'; expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE."),
            };
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"{settingName} holds a PEM block that cannot be read as a key.", ex);
        }
    }

    private static SecurityKey LoadPublicKey(string pem, string settingName)
    {
        // A SubjectPublicKeyInfo block may hold RSA or EC; its algorithm identifier tells.
        var der = PemEncoding.Find(pem);
        var bytes = Convert.FromBase64String(pem[der.Base64Data]);
        try
        {
            using var probe = RSA.Create();
            probe.ImportSubjectPublicKeyInfo(bytes, out _);
        }
        catch (CryptographicException)
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(bytes, out _);
            if (SigningKey.CurveAlgorithms(ecdsa).Length == 0)
            {
                ecdsa.Dispose();
                throw new InvalidOperationException(
                    $"{settingName} is an EC key on a curve JWS does not use; use P-256, P-384 or P-521 (ES256, ES384, ES512).");
            }

            return new ECDsaSecurityKey(ecdsa);
        }

        return LoadRsa(pem, settingName);
    }

    private static RsaSecurityKey LoadRsa(string pem, string settingName)
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        if (rsa.KeySize < MinimumRsaKeyBits)
        {
            var size = rsa.KeySize;
            rsa.Dispose();
            throw new InvalidOperationException(
                $"{settingName} is a {size}-bit RSA key; at least {MinimumRsaKeyBits} bits are required.");
        }

        return new RsaSecurityKey(rsa);
    }

    private static X509SecurityKey LoadCertificate(string pem, string settingName)
    {
        var certificate = X509Certificate2.CreateFromPem(pem);
        using (var rsa = certificate.GetRSAPublicKey())
        {
            if (rsa is not null && rsa.KeySize < MinimumRsaKeyBits)
            {
                throw new InvalidOperationException(
                    $"{settingName} is a certificate with a {rsa.KeySize}-bit RSA key; at least {MinimumRsaKeyBits} bits are required.");
            }
        }

        var key = new X509SecurityKey(certificate);
        if (SigningKey.AlgorithmsOf(key).Length == 0)
        {
            throw new InvalidOperationException(
                $"{settingName} is a certificate whose key no JWS algorithm accepted here can use; use an RSA key, or an EC key on P-256, P-384 or P-521.");
        }

        return key;
    }
}
