using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Greeter.Client;

/// <summary>
/// How the client trusts the server's certificate: pinned (the development certificate the server wrote out) or
/// chained to a custom root. Certificate validation is never switched off.
/// </summary>
internal static class ServerTrust
{
    public static SocketsHttpHandler CreateHandler(string? pinnedCertificatePath, string? rootCertificatePath)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (rootCertificatePath is not null)
        {
            var root = X509Certificate2.CreateFromPemFile(rootCertificatePath);
            handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { root },
                RevocationMode = X509RevocationMode.NoCheck,
            };
        }
        else if (pinnedCertificatePath is not null)
        {
            var pinned = X509Certificate2.CreateFromPem(File.ReadAllText(pinnedCertificatePath));
            var pinnedHash = pinned.GetCertHash(HashAlgorithmName.SHA256);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null
                && (errors & ~(SslPolicyErrors.RemoteCertificateChainErrors)) == SslPolicyErrors.None
                && CryptographicOperations.FixedTimeEquals(certificate.GetCertHash(HashAlgorithmName.SHA256), pinnedHash);
        }

        return handler;
    }
}
