using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GrpcJwtAuth.LoadServer;

/// <summary>
/// A self-signed TLS certificate for 127.0.0.1, made at startup. Its public part is written to a PEM file the load
/// tool pins; validation is never switched off on the .NET side.
/// </summary>
internal static class SelfSignedCertificate
{
    public static X509Certificate2 CreateAndExport(string exportPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=GrpcJwtAuth load server", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));

        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        // Kestrel on Linux needs a certificate whose key came from a PKCS#12 import.
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), password: null);

        var directory = Path.GetDirectoryName(Path.GetFullPath(exportPath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(exportPath, certificate.ExportCertificatePem());
        return certificate;
    }
}
