using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>Loads the client's own keys from PEM files; errors name the setting and the path, never the content.</summary>
internal static class ClientKeyFiles
{
    /// <summary>Signing credentials for client assertions: RS256 for an RSA key, ES256/ES384/ES512 by curve for an EC key.</summary>
    /// <exception cref="ArgumentException">The file cannot be read or holds no RSA or EC private key.</exception>
    public static SigningCredentials LoadSigningCredentials(string path, string? keyId, string settingPrefix)
    {
        var pem = Read(path, $"{settingPrefix}ClientAssertionKeyPath");
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = keyId }, SecurityAlgorithms.RsaSha256);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            // ArgumentException: no RSA PEM label; CryptographicException: a PKCS#8 "PRIVATE KEY" holding another algorithm.
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            ec.Dispose();
            throw new ArgumentException($"{settingPrefix}ClientAssertionKeyPath '{path}' holds no PEM RSA or EC private key.");
        }

        var algorithm = ec.KeySize switch
        {
            256 => SecurityAlgorithms.EcdsaSha256,
            384 => SecurityAlgorithms.EcdsaSha384,
            521 => SecurityAlgorithms.EcdsaSha512,
            _ => null,
        };
        if (algorithm is null)
        {
            var bits = ec.KeySize;
            ec.Dispose();
            throw new ArgumentException($"{settingPrefix}ClientAssertionKeyPath '{path}' holds an EC key on an unsupported curve ({bits} bits).");
        }

        return new SigningCredentials(new ECDsaSecurityKey(ec) { KeyId = keyId }, algorithm);
    }

    /// <summary>The client certificate with its private key, from PEM files.</summary>
    /// <exception cref="ArgumentException">The files cannot be read, or hold no certificate with a matching private key.</exception>
    public static X509Certificate2 LoadCertificate(string certificatePath, string? keyPath, string settingPrefix)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ArgumentException(
                $"{settingPrefix}ClientCertificatePath '{certificatePath}'{(keyPath is null ? string.Empty : $" with {settingPrefix}ClientCertificateKeyPath '{keyPath}'")} " +
                $"could not be loaded as a PEM certificate with its private key ({ex.GetType().Name}).");
        }
    }

    private static string Read(string path, string setting)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ArgumentException($"{setting} '{path}' could not be read ({ex.GetType().Name}).");
        }
    }
}
