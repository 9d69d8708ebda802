using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// Hostile tokens over TLS: rejected with <c>Unauthenticated</c> and their reason, never echoed, and never a reason
/// for the server to fetch anything from where the token points.
/// </summary>
public class HostileTokenTests : IntegrationTest
{
    private static readonly TestSigningKey Attacker = TestSigningKey.Rsa("attacker-1");

    [Theory]
    [InlineData("jku")]
    [InlineData("x5u")]
    [InlineData("jwk")]
    [InlineData("x5c")]
    public async Task Token_carrying_or_pointing_at_the_attackers_key_is_rejected_and_nothing_is_fetched_from_there(string parameter)
    {
        await using var listener = new ConnectionCounter();
        var attacker = await StartKeyServerAsync(Attacker);

        // The worst case: the server's backchannel trusts the attacker's TLS certificate, so any fetch from the attacker's
        // key server would succeed and be counted (and the raw listener counts connections of any kind).
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary), keyServer: attacker);

        foreach (var target in new[] { attacker.JwksUri, listener.Url("https", "/jwks"), listener.Url("http", "/jwks") })
        {
            foreach (var (kid, detail) in new[] { ("attacker-1", Details.KeyNotFound), ("rsa-1", Details.InvalidSignature), (null, Details.KeyNotFound) })
            {
                var token = AttackerToken(parameter, kid, target, attacker, listener);

                await Rejection.AssertAsync(
                    () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, detail, token);
            }
        }

        Assert.Equal(0, server.Entries.Total);
        Assert.Equal(0, attacker.TotalHits);
        Assert.Equal(0, listener.Connections);
    }

    [Fact]
    public async Task With_a_key_endpoint_configured_an_unknown_kid_refreshes_from_it_and_never_from_the_token()
    {
        var attacker = await StartKeyServerAsync(Attacker);
        var issuer = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(options =>
        {
            options.JwksUri = issuer.JwksUri;
            options.Issuers.Add(TestTokenFactory.DefaultIssuer);
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
        }, issuer);

        foreach (var parameter in new[] { "jku", "x5u", "jwk", "x5c" })
        {
            var token = AttackerToken(parameter, "attacker-1", attacker.JwksUri, attacker, listener: null);

            await Rejection.AssertAsync(
                () => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Details.KeyNotFound, token);
        }

        // The start-up fetch, and at most one refresh for the unknown kid; the attacker's server saw nothing.
        Assert.InRange(issuer.JwksHits, 1, 2);
        Assert.Equal(0, attacker.TotalHits);

        var honest = new TestTokenFactory(TimeProvider.System).Create(TestKeys.Primary);
        Assert.True((await server.Probe.CallUnaryAsync(Auth.Bearer(honest))).PrincipalAuthenticated);
    }

    public static TheoryData<string, string> EndToEndCases() => new()
    {
        { "alg none, empty signature", Details.MalformedToken },
        { "alg none, signature bytes", Details.AlgorithmNotAllowed },
        { "HS256 keyed with the RSA public key PEM", Details.AlgorithmNotAllowed },
        { "signature in standard base64 with padding", Details.MalformedToken },
        { "signature spliced from another token", Details.InvalidSignature },
        { "five parts (JWE)", Details.EncryptedToken },
        { "payload followed by a second object", Details.MalformedToken },
        { "payload a JSON array", Details.MalformedToken },
        { "second aud", Details.DuplicateTokenMember },
        { "second exp, name escaped", Details.DuplicateTokenMember },
        { "second alg in the header", Details.DuplicateTokenMember },
        { "crit", Details.UnsupportedTokenHeader },
        { "zip DEF", Details.UnsupportedTokenHeader },
        { "cty JWT", Details.UnsupportedTokenHeader },
        { "exp a string", Details.InvalidTimeClaim },
        { "exp 1e30", Details.InvalidTimeClaim },
        { "nbf negative", Details.InvalidTimeClaim },
        { "ES256 signature of zeros", Details.InvalidSignature },
        { "kid with path traversal", Details.KeyNotFound },
    };

    [Theory]
    [MemberData(nameof(EndToEndCases))]
    public async Task Hostile_token_is_rejected_with_Unauthenticated_and_its_reason_and_quoted_nowhere(string tokenCase, string detail)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary, TestKeys.Ec));
        var token = EndToEndToken(tokenCase);

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, detail, token);

        Assert.Equal(0, server.Entries.Total);
        var secrets = Secrets.Of(token).ToArray();
        Assert.DoesNotContain(server.Logs.Records.Select(LogCapture.Describe), text => secrets.Any(secret => text.Contains(secret, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Control_token_built_like_the_hostile_ones_is_accepted()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary, TestKeys.Ec));

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(TestTokenFactory.SignRaw(Header("RS256", "rsa-1"), Payload(), TestKeys.Primary)));
        var ecReply = await server.Probe.CallUnaryAsync(Auth.Bearer(TestTokenFactory.SignRaw(Header("ES256", "ec-1"), Payload(), TestKeys.Ec)));

        Assert.Equal("user-1", reply.Subject);
        Assert.Equal("user-1", ecReply.Subject);
    }

    private static string EndToEndToken(string tokenCase)
    {
        var header = Header("RS256", "rsa-1");
        var payload = Payload();
        var valid = TestTokenFactory.SignRaw(header, payload, TestKeys.Primary).Split('.');
        string Signed(string h, string p) => TestTokenFactory.SignRaw(h, p, TestKeys.Primary);

        return tokenCase switch
        {
            "alg none, empty signature" => TestTokenFactory.Raw("""{"alg":"none","kid":"rsa-1"}""", payload),
            "alg none, signature bytes" => TestTokenFactory.Raw("""{"alg":"none","kid":"rsa-1"}""", payload, valid[2]),
            "HS256 keyed with the RSA public key PEM" => HmacSigned(Header("HS256", "rsa-1"), payload, Encoding.ASCII.GetBytes(TestKeys.Primary.PublicPem)),
            "signature in standard base64 with padding" => $"{valid[0]}.{valid[1]}.{Convert.ToBase64String(Base64UrlEncoder.DecodeBytes(valid[2]))}",
            "signature spliced from another token" => $"{valid[0]}.{valid[1]}.{TestTokenFactory.SignRaw(header, Payload(subject: "admin"), TestKeys.Primary).Split('.')[2]}",
            "five parts (JWE)" => $"{Base64UrlEncoder.Encode("""{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rsa-1"}""")}.a2V5.aXZpdml2aXZpdg.Y2lwaGVydGV4dA.dGFndGFndGFndGFn",
            "payload followed by a second object" => Signed(header, payload + """{"sub":"admin"}"""),
            "payload a JSON array" => Signed(header, $"[{payload}]"),
            "second aud" => Signed(header, Payload(",\"aud\":\"api://other\"")),
            "second exp, name escaped" => Signed(header, Payload($",\"\\u0065xp\":{DateTimeOffset.UtcNow.AddYears(1).ToUnixTimeSeconds()}")),
            "second alg in the header" => Signed("""{"alg":"RS256","kid":"rsa-1","alg":"none"}""", payload),
            "crit" => Signed("""{"alg":"RS256","kid":"rsa-1","crit":["exp"]}""", payload),
            "zip DEF" => Signed("""{"alg":"RS256","kid":"rsa-1","zip":"DEF"}""", payload),
            "cty JWT" => Signed("""{"alg":"RS256","kid":"rsa-1","cty":"JWT"}""", payload),
            "exp a string" => Signed(header, Payload(expires: $"\"{DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds()}\"")),
            "exp 1e30" => Signed(header, Payload(expires: "1e30")),
            "nbf negative" => Signed(header, Payload(",\"nbf\":-1")),
            "ES256 signature of zeros" => $"{Base64UrlEncoder.Encode(Header("ES256", "ec-1"))}.{valid[1]}.{Base64UrlEncoder.Encode(new byte[64])}",
            "kid with path traversal" => TestTokenFactory.SignRaw(Header("RS256", "../../../../etc/passwd"), payload, Attacker),
            _ => throw new ArgumentOutOfRangeException(nameof(tokenCase)),
        };
    }

    /// <summary>A token signed by the attacker's key that carries it (jwk, x5c) or points at it (jku, x5u: <paramref name="target"/>).</summary>
    private static string AttackerToken(string parameter, string? kid, string target, KeyServer attacker, ConnectionCounter? listener)
    {
        var pointer = parameter switch
        {
            "jku" => $",\"jku\":\"{target}\"",
            "x5u" => $",\"x5u\":\"{target}\"",
            "jwk" => $",\"jwk\":{TestSigningKey.ToJson(Attacker.PublicJwk)}",
            "x5c" => $",\"x5c\":[\"{Convert.ToBase64String(AttackerCertificate(attacker, listener).RawData)}\"]",
            _ => throw new ArgumentOutOfRangeException(nameof(parameter)),
        };
        return TestTokenFactory.SignRaw(Header("RS256", kid, pointer), Payload(), Attacker);
    }

    /// <summary>
    /// The attacker's key in a certificate issued by an attacker CA that is not sent along, whose issuer (AIA) and
    /// revocation (CRL, OCSP) addresses lead to the attacker too: anything building its chain would go there.
    /// </summary>
    private static X509Certificate2 AttackerCertificate(KeyServer attacker, ConnectionCounter? listener)
    {
        string Address(string path) => listener?.Url("http", path) ?? attacker.Issuer + path;
        var now = DateTimeOffset.UtcNow;

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=attacker CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        var request = new CertificateRequest("CN=attacker", ((RsaSecurityKey)Attacker.PrivateKey).Rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension([Address("/ocsp")], [Address("/ca.cer")]));
        request.CertificateExtensions.Add(CertificateRevocationListBuilder.BuildCrlDistributionPointExtension([Address("/ca.crl")]));
        return request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddMinutes(-5), now.AddHours(1), RandomNumberGenerator.GetBytes(16));
    }

    private static string Header(string algorithm, string? kid, string? extra = null) =>
        $"{{\"alg\":\"{algorithm}\"{(kid is null ? "" : $",\"kid\":{JsonSerializer.Serialize(kid)}")}{extra}}}";

    private static string Payload(string? extra = null, string subject = "user-1", string? expires = null)
    {
        var now = DateTimeOffset.UtcNow;
        return $"{{\"iss\":\"{TestTokenFactory.DefaultIssuer}\",\"aud\":\"{TestTokenFactory.DefaultAudience}\",\"sub\":\"{subject}\"," +
               $"\"iat\":{now.ToUnixTimeSeconds()},\"exp\":{expires ?? now.AddMinutes(10).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)}{extra}}}";
    }

    private static string HmacSigned(string header, string payload, byte[] secret)
    {
        var input = $"{Base64UrlEncoder.Encode(header)}.{Base64UrlEncoder.Encode(payload)}";
        return $"{input}.{Base64UrlEncoder.Encode(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)))}";
    }
}
