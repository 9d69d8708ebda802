using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Greeter.Client;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Greeter.Sample.Tests;

/// <summary>
/// The sample client's trust options against real TLS servers on 127.0.0.1: one whose certificate a private CA issued,
/// and one with a self-signed certificate. <c>--ca-cert</c> takes the CA's certificate file alone (no private key), as
/// CAs hand it out; <c>--server-cert</c> pins one certificate; by default the system store decides, and trusts neither.
/// </summary>
public sealed class ServerTrustTests : IAsyncLifetime
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("greeter-trust-");
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _issuedCertificate = null!;
    private X509Certificate2 _selfSignedCertificate = null!;
    private WebApplication _caIssued = null!;
    private WebApplication _selfSigned = null!;
    private Uri _caIssuedAddress = null!;
    private Uri _selfSignedAddress = null!;

    private string CaPath => Path.Combine(_directory.FullName, "ca.pem");

    private string SelfSignedPath => Path.Combine(_directory.FullName, "self-signed.pem");

    public async Task InitializeAsync()
    {
        // One clock reading for every certificate: a leaf may not outlive its CA.
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore.AddDays(1);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Greeter Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        _ca = caRequest.CreateSelfSigned(notBefore, notAfter);
        await File.WriteAllTextAsync(CaPath, _ca.ExportCertificatePem());

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issued = ServerRequest(leafKey).Create(_ca, notBefore, notAfter.AddHours(-1), [1, 2, 3, 4]);
        using var selfKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _selfSignedCertificate = ServerRequest(selfKey).CreateSelfSigned(notBefore, notAfter);
        await File.WriteAllTextAsync(SelfSignedPath, _selfSignedCertificate.ExportCertificatePem());
        _issuedCertificate = issued.CopyWithPrivateKey(leafKey);

        (_caIssued, _caIssuedAddress) = await StartAsync(_issuedCertificate);
        (_selfSigned, _selfSignedAddress) = await StartAsync(_selfSignedCertificate);
    }

    public async Task DisposeAsync()
    {
        await _caIssued.DisposeAsync();
        await _selfSigned.DisposeAsync();
        _ca.Dispose();
        _issuedCertificate.Dispose();
        _selfSignedCertificate.Dispose();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Ca_cert_file_without_a_key_trusts_the_servers_that_CA_issued_and_no_other()
    {
        var trust = ServerTrust.PrivateCa(CaPath);

        Assert.Equal(HttpStatusCode.OK, await GetAsync(trust, _caIssuedAddress));
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(trust, _selfSignedAddress));
    }

    [Fact]
    public async Task Server_cert_pins_that_certificate_and_no_other()
    {
        var trust = ServerTrust.Pinned(SelfSignedPath);

        Assert.Equal(HttpStatusCode.OK, await GetAsync(trust, _selfSignedAddress));
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(trust, _caIssuedAddress));
    }

    [Fact]
    public async Task System_store_by_default_trusts_neither_a_private_CA_nor_a_self_signed_certificate()
    {
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(ServerTrust.System, _caIssuedAddress));
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(ServerTrust.System, _selfSignedAddress));
    }

    [Fact]
    public async Task Ca_cert_file_without_any_certificate_is_refused_with_what_to_pass()
    {
        var empty = Path.Combine(_directory.FullName, "empty.pem");
        await File.WriteAllTextAsync(empty, "not a certificate");

        var error = Assert.Throws<InvalidOperationException>(() => ServerTrust.PrivateCa(empty));

        Assert.Contains("--ca-cert takes the CA's certificate file", error.Message, StringComparison.Ordinal);
    }

    private static CertificateRequest ServerRequest(ECDsa key)
    {
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        return request;
    }

    private static async Task<(WebApplication App, Uri Address)> StartAsync(X509Certificate2 certificate)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }));
        var app = builder.Build();
        app.MapGet("/", () => "ok");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return (app, new Uri(address));
    }

    private static async Task<HttpStatusCode> GetAsync(ServerTrust trust, Uri address)
    {
        using var client = new HttpClient(trust.CreateHandler()) { Timeout = TestTimeout.Default };
        using var response = await client.GetAsync(address);
        return response.StatusCode;
    }
}
