using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GrpcJwtAuth.LoadTest.Servers;

/// <summary>
/// A handler that trusts exactly the certificate the load server wrote out (pinned by SHA-256), over one HTTP/2
/// connection. Validation is never switched off.
/// </summary>
internal static class PinnedTls
{
    public static SocketsHttpHandler CreateHandler(string certificatePath)
    {
        using var pinned = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
        var pinnedHash = pinned.GetCertHash(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            certificate is not null
            && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
            && CryptographicOperations.FixedTimeEquals(certificate.GetCertHash(HashAlgorithmName.SHA256), pinnedHash);
        return handler;
    }
}
