using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Greeter.Client;

/// <summary>
/// How the sample client trusts a TLS server: the system's trust store (the default), the certificates of a private CA
/// (a PEM file holding only certificates, as CAs hand them out), or one pinned certificate. Each server the client talks
/// to (the greeter, the identity provider) gets its own. Certificate validation is never switched off.
/// </summary>
internal sealed class ServerTrust
{
    private readonly X509Certificate2Collection? _roots;
    private readonly byte[]? _pinnedSha256;

    private ServerTrust(X509Certificate2Collection? roots, byte[]? pinnedSha256, string description)
    {
        _roots = roots;
        _pinnedSha256 = pinnedSha256;
        Description = description;
    }

    /// <summary>The system's trust store, with the platform's checks.</summary>
    public static ServerTrust System { get; } = new(null, null, "the system trust store");

    public string Description { get; }

    /// <summary>The certificates in a PEM file, as the only trusted roots (for a private CA). No private key is needed.</summary>
    /// <exception cref="InvalidOperationException">The file holds no certificate.</exception>
    public static ServerTrust PrivateCa(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
        {
            throw new InvalidOperationException($"{path} holds no PEM certificate; --ca-cert takes the CA's certificate file.");
        }

        return new ServerTrust(roots, null, $"the CA certificate(s) in {path}");
    }

    /// <summary>Exactly the certificate in a PEM file, whatever signed it (for the development server's own certificate).</summary>
    public static ServerTrust Pinned(string path)
    {
        using var pinned = X509Certificate2.CreateFromPem(File.ReadAllText(path));
        return new ServerTrust(null, pinned.GetCertHash(HashAlgorithmName.SHA256), $"the certificate pinned from {path}");
    }

    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (_roots is not null)
        {
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(_roots);
            handler.SslOptions.CertificateChainPolicy = policy;
        }
        else if (_pinnedSha256 is { } pinnedSha256)
        {
            // The name must still match; only the chain is replaced by the pin.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null
                && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
                && CryptographicOperations.FixedTimeEquals(certificate.GetCertHash(HashAlgorithmName.SHA256), pinnedSha256);
        }

        return handler;
    }
}
