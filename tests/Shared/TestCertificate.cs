using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GrpcJwtAuth.Testing;

/// <summary>
/// A self-signed server certificate for <c>localhost</c> / <c>127.0.0.1</c>, made in memory, and the pin a client
/// checks it against. Nothing is added to a certificate store and no client ever accepts any other certificate.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    private readonly byte[] _sha256;

    private TestCertificate(X509Certificate2 certificate)
    {
        Certificate = certificate;
        _sha256 = certificate.GetCertHash(HashAlgorithmName.SHA256);
    }

    /// <summary>The certificate with its private key, for Kestrel.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A new ECDSA P-256 certificate, valid from five minutes ago for one hour.</summary>
    public static TestCertificate CreateForLocalhost()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);

        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuthentication], false));

        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));

        // On Linux, Kestrel needs a key it can export; the PFX round trip gives one.
        return new TestCertificate(X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null));
    }

    /// <summary>Whether <paramref name="presented"/> is exactly this certificate (SHA-256 of the DER encoding).</summary>
    public bool Matches(X509Certificate? presented) =>
        presented is not null && presented.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(_sha256);

    /// <summary>
    /// A client handler that trusts this certificate and nothing else. The chain is self-signed, so the platform's
    /// verdict is ignored and the pin decides.
    /// </summary>
    public SocketsHttpHandler CreatePinnedHandler() => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => Matches(presented),
        },
        EnableMultipleHttp2Connections = true,
    };

    public void Dispose() => Certificate.Dispose();
}
