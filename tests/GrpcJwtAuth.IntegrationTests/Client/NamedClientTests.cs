using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Grpc.Net.ClientFactory;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>
/// Named token clients end to end: settings bound from <c>GrpcJwtAuth:Clients:&lt;name&gt;</c> in an in-memory
/// configuration, each client authenticating to a real token endpoint over TLS its own way (secret in the Basic header
/// or the form, <c>private_key_jwt</c>, TLS client certificate), and gRPC clients from the factory picking a client
/// with <c>AddJwtCallCredentials(name)</c> to call a real server over TLS.
/// </summary>
public sealed class NamedClientTests : IntegrationTest
{
    private const string Section = "GrpcJwtAuth:Clients";
    private const string OrdersClientId = "orders-client";
    private const string BillingClientId = "billing-client";

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private readonly ConcurrentQueue<TokenRequest> _minted = new();

    public enum KeyFile
    {
        RsaPkcs1,
        RsaPkcs8,
        EcP256Sec1,
        EcP256Pkcs8,
        EcP384Pkcs8,
        EcP521Pkcs8,
    }

    [Fact]
    public async Task Two_named_clients_bound_from_configuration_each_attach_their_own_token()
    {
        var billingKey = TestSigningKey.Ec("billing-ec");
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions
        {
            ClientIds = [OrdersClientId, BillingClientId],
            ClientAssertionKey = billingKey.PublicKey,
        });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, [
            .. Settings("orders", tokenServer, OrdersClientId, ("ClientAuthentication", "BasicHeader"), ("ClientSecret", TokenServer.ClientSecret), ("Scopes:0", "probe.read")),
            .. Settings("billing", tokenServer, BillingClientId, ("ClientAuthentication", "PrivateKeyJwt"), ("Scopes:0", "probe.read"), ("Scopes:1", "probe.write")),
        ]);
        AddNamedClient(services, "orders", server, tokenServer);
        AddNamedClient(services, "billing", server, tokenServer, options =>
            options.ClientAssertionSigningCredentials = new SigningCredentials(billingKey.PrivateKey, SecurityAlgorithms.EcdsaSha256));

        await using var provider = services.BuildServiceProvider();
        var orders = ProbeClient(provider, "orders");
        var billing = ProbeClient(provider, "billing");

        var ordersFirst = await orders.CallUnaryAsync(new CallOptions());
        var billingFirst = await billing.CallUnaryAsync(new CallOptions());
        var ordersSecond = await orders.CallUnaryAsync(new CallOptions());
        var billingSecond = await billing.CallUnaryAsync(new CallOptions());

        Assert.All([ordersFirst, ordersSecond], reply =>
        {
            Assert.Equal(OrdersClientId, reply.Subject);
            Assert.Equal(["probe.read"], reply.Scopes);
        });
        Assert.All([billingFirst, billingSecond], reply =>
        {
            Assert.Equal(BillingClientId, reply.Subject);
            Assert.Equal(["probe.read", "probe.write"], reply.Scopes);
        });
        Assert.Equal(2, tokenServer.TokenRequests);
        Assert.Equal(["client_secret_basic", "private_key_jwt"], tokenServer.ClientAuthentications);
        Assert.Equal([OrdersClientId, BillingClientId], _minted.Select(request => request.ClientId));
        Assert.Equal(4, server.Entries["Unary"]);
    }

    [Fact]
    public async Task Cache_settings_of_a_named_client_come_from_its_own_Cache_section()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions { ClientIds = [OrdersClientId, BillingClientId] });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        // Tokens live 300 s (expires_in). Orders refreshes at half its lifetime (150 s: 300 s - 270 s is earlier);
        // billing keeps the default, one minute before expiry less up to 15 s of jitter (at 225 s or later).
        var services = ClientServices(server, [
            .. Settings("orders", tokenServer, OrdersClientId, ("ClientSecret", TokenServer.ClientSecret), ("Cache:RefreshBeforeExpiry", "00:04:30"), ("Cache:RefreshJitter", "00:00:00")),
            .. Settings("billing", tokenServer, BillingClientId, ("ClientSecret", TokenServer.ClientSecret)),
        ]);
        services.AddSingleton<TimeProvider>(clock);
        AddNamedClient(services, "orders", server, tokenServer);
        AddNamedClient(services, "billing", server, tokenServer);

        await using var provider = services.BuildServiceProvider();
        var orders = ProbeClient(provider, "orders");
        var billing = ProbeClient(provider, "billing");
        await orders.CallUnaryAsync(new CallOptions());
        await billing.CallUnaryAsync(new CallOptions());

        clock.Advance(TimeSpan.FromSeconds(200));
        var ordersReply = await orders.CallUnaryAsync(new CallOptions());
        var billingReply = await billing.CallUnaryAsync(new CallOptions());

        // Orders refreshes in the background, handing out its current token meanwhile.
        await server.Logs.WaitForEventCountAsync("TokenAcquired", 3).DefaultTimeout();
        await orders.CallUnaryAsync(new CallOptions());
        await billing.CallUnaryAsync(new CallOptions());

        Assert.Equal(OrdersClientId, ordersReply.Subject);
        Assert.Equal(BillingClientId, billingReply.Subject);
        Assert.Equal([OrdersClientId, BillingClientId, OrdersClientId], _minted.Select(request => request.ClientId));
        Assert.Equal(3, tokenServer.TokenRequests);
    }

    [Theory]
    [InlineData(ClientAuthenticationMethod.BasicHeader, "client_secret_basic")]
    [InlineData(ClientAuthenticationMethod.RequestBody, "client_secret_post")]
    public async Task Secret_with_reserved_characters_authenticates_in_the_Basic_header_or_the_form_body(
        ClientAuthenticationMethod method, string expectedAuthentication)
    {
        var secret = "a b+c:d%e/f&g=h?" + Guid.NewGuid().ToString("N");
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions { ClientSecret = secret });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, Settings(
            "orders", tokenServer, TokenServer.ClientId, ("ClientAuthentication", method.ToString()), ("ClientSecret", secret), ("Scopes:0", "probe.read")));
        AddNamedClient(services, "orders", server, tokenServer);

        await using var provider = services.BuildServiceProvider();
        var reply = await ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions());

        Assert.Equal(TokenServer.ClientId, reply.Subject);
        Assert.Equal([expectedAuthentication], tokenServer.ClientAuthentications);
        var form = Assert.Single(tokenServer.TokenForms);
        Assert.Equal("client_credentials", form["grant_type"]);
        Assert.Equal("probe.read", form["scope"]);
        if (method == ClientAuthenticationMethod.BasicHeader)
        {
            Assert.False(form.ContainsKey("client_secret"));
        }
        else
        {
            Assert.Equal(secret, form["client_secret"]);
            Assert.Equal(TokenServer.ClientId, form["client_id"]);
        }
    }

    [Theory]
    [InlineData(KeyFile.RsaPkcs1, SecurityAlgorithms.RsaSha256)]
    [InlineData(KeyFile.RsaPkcs8, SecurityAlgorithms.RsaSha256)]
    [InlineData(KeyFile.EcP256Sec1, SecurityAlgorithms.EcdsaSha256)]
    [InlineData(KeyFile.EcP256Pkcs8, SecurityAlgorithms.EcdsaSha256)]
    [InlineData(KeyFile.EcP384Pkcs8, SecurityAlgorithms.EcdsaSha384)]
    [InlineData(KeyFile.EcP521Pkcs8, SecurityAlgorithms.EcdsaSha512)]
    public async Task Private_key_jwt_with_a_PEM_key_file_sends_a_signed_assertion_for_the_token_endpoint_and_no_secret(
        KeyFile keyFile, string expectedAlgorithm)
    {
        var files = Own(new TempDirectory());
        var (pem, verificationKey) = CreateKeyFile(keyFile);
        var keyPath = files.Write("client-key.pem", pem);
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions { ClientAssertionKey = verificationKey });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, Settings(
            "orders",
            tokenServer,
            TokenServer.ClientId,
            ("ClientAuthentication", "PrivateKeyJwt"),
            ("ClientAssertionKeyPath", keyPath),
            ("ClientAssertionKeyId", "client-key-1"),
            ("Scopes:0", "probe.read")));
        AddNamedClient(services, "orders", server, tokenServer);

        await using var provider = services.BuildServiceProvider();
        var reply = await ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions());

        Assert.Equal(TokenServer.ClientId, reply.Subject);
        Assert.Equal(["private_key_jwt"], tokenServer.ClientAuthentications);
        var form = Assert.Single(tokenServer.TokenForms);
        Assert.False(form.ContainsKey("client_secret"));
        Assert.Equal(TokenServer.JwtBearerAssertionType, form["client_assertion_type"]);
        var assertion = new JsonWebToken(form["client_assertion"]);
        Assert.Equal(expectedAlgorithm, assertion.Alg);
        Assert.Equal("client-key-1", assertion.Kid);
        Assert.Equal(TokenServer.ClientId, assertion.Issuer);
        Assert.Equal(TokenServer.ClientId, assertion.Subject);
        Assert.Equal([tokenServer.TokenEndpoint], assertion.Audiences);
        Assert.False(string.IsNullOrEmpty(assertion.Id));
        Assert.Equal(TimeSpan.FromMinutes(1), assertion.ValidTo - assertion.IssuedAt);
        Assert.Equal(assertion.IssuedAt, assertion.ValidFrom);
    }

    [Fact]
    public async Task Private_key_jwt_with_an_EC_key_in_code_signs_each_assertion_once_with_its_own_jti()
    {
        var clientKey = TestSigningKey.Ec("client-ec", SecurityAlgorithms.EcdsaSha384);
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions
        {
            ClientIds = [OrdersClientId, BillingClientId],
            ClientAssertionKey = clientKey.PublicKey,
        });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, [
            .. Settings("orders", tokenServer, OrdersClientId, ("ClientAuthentication", "PrivateKeyJwt")),
            .. Settings("billing", tokenServer, BillingClientId, ("ClientAuthentication", "PrivateKeyJwt")),
        ]);
        void UseClientKey(ClientCredentialsOptions options) =>
            options.ClientAssertionSigningCredentials = new SigningCredentials(clientKey.PrivateKey, SecurityAlgorithms.EcdsaSha384);
        AddNamedClient(services, "orders", server, tokenServer, UseClientKey);
        AddNamedClient(services, "billing", server, tokenServer, UseClientKey);

        await using var provider = services.BuildServiceProvider();
        var orders = await ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions());
        var billing = await ProbeClient(provider, "billing").CallUnaryAsync(new CallOptions());

        Assert.Equal(OrdersClientId, orders.Subject);
        Assert.Equal(BillingClientId, billing.Subject);
        var assertions = tokenServer.TokenForms.Select(form => new JsonWebToken(form["client_assertion"])).ToArray();
        Assert.Equal(2, assertions.Length);
        Assert.All(assertions, assertion =>
        {
            Assert.Equal(SecurityAlgorithms.EcdsaSha384, assertion.Alg);
            Assert.Equal("client-ec", assertion.Kid);
            Assert.Equal([tokenServer.TokenEndpoint], assertion.Audiences);
        });
        Assert.Equal([OrdersClientId, BillingClientId], assertions.Select(assertion => assertion.Subject));
        Assert.NotEqual(assertions[0].Id, assertions[1].Id);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Tls_client_certificate_from_PEM_files_authenticates_with_only_the_client_id_in_the_form(bool separateKeyFile)
    {
        var files = Own(new TempDirectory());
        using var certificate = CreateClientCertificate("CN=probe-client");
        var certificatePem = certificate.ExportCertificatePem();
        using var key = certificate.GetECDsaPrivateKey()!;
        var keyPem = key.ExportPkcs8PrivateKeyPem();
        var certificatePath = files.Write("client.crt", separateKeyFile ? certificatePem : certificatePem + "\n" + keyPem);
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions
        {
            AllowClientCertificates = true,
            TrustedClientCertificate = certificate,
        });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, Settings(
            "orders",
            tokenServer,
            TokenServer.ClientId,
            [
                ("ClientAuthentication", "TlsClientCertificate"),
                ("ClientCertificatePath", certificatePath),
                ("ClientCertificateKeyPath", separateKeyFile ? files.Write("client.key", keyPem) : null),
                ("Scopes:0", "probe.read"),
            ]));
        AddNamedClient(services, "orders", server, tokenServer);

        await using var provider = services.BuildServiceProvider();
        var reply = await ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions());

        Assert.Equal(TokenServer.ClientId, reply.Subject);
        Assert.Equal(["tls_client_auth"], tokenServer.ClientAuthentications);
        var form = Assert.Single(tokenServer.TokenForms);
        Assert.Equal(["client_id", "grant_type", "scope"], form.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(TokenServer.ClientId, form["client_id"]);
    }

    [Fact]
    public async Task Private_key_jwt_signed_with_a_key_the_endpoint_does_not_know_fails_the_call_with_Unauthenticated_invalid_client()
    {
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions { ClientAssertionKey = TestKeys.Ec.PublicKey });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, Settings("orders", tokenServer, TokenServer.ClientId, ("ClientAuthentication", "PrivateKeyJwt")));
        var wrongKey = TestSigningKey.Ec("ec-1");
        AddNamedClient(services, "orders", server, tokenServer, options =>
            options.ClientAssertionSigningCredentials = new SigningCredentials(wrongKey.PrivateKey, SecurityAlgorithms.EcdsaSha256));

        await using var provider = services.BuildServiceProvider();
        var failure = await Assert.ThrowsAsync<RpcException>(() => ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions()));

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.StartsWith("No access token: The token endpoint refused the request (HTTP 401): invalid_client", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, tokenServer.TokenRequests);
        Assert.Empty(tokenServer.ClientAuthentications);
        Assert.Equal(0, server.Requests.Total);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Tls_client_auth_without_the_trusted_certificate_fails_the_call_with_Unauthenticated_invalid_client(bool presentsAnotherCertificate)
    {
        using var trusted = CreateClientCertificate("CN=probe-client");
        using var untrusted = CreateClientCertificate("CN=probe-client");
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions
        {
            AllowClientCertificates = true,
            TrustedClientCertificate = trusted,
        });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        // Without a certificate: the settings name an HttpClient of the app's own, and its handler has none.
        var services = ClientServices(server, Settings(
            "orders",
            tokenServer,
            TokenServer.ClientId,
            ("ClientAuthentication", "TlsClientCertificate"),
            ("HttpClientName", presentsAnotherCertificate ? null : "token-endpoint-without-certificate")));
        services.AddHttpClient("token-endpoint-without-certificate").ConfigurePrimaryHttpMessageHandler(tokenServer.Certificate.CreatePinnedHandler);
        AddNamedClient(services, "orders", server, tokenServer, options =>
        {
            if (presentsAnotherCertificate)
            {
                options.ClientCertificate = untrusted;
            }
        });

        await using var provider = services.BuildServiceProvider();
        var failure = await Assert.ThrowsAsync<RpcException>(() => ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions()));

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Equal(
            $"No access token: The token endpoint refused the request (HTTP 401): invalid_client: {(presentsAnotherCertificate ? "untrusted client certificate" : "no client certificate")}",
            failure.Status.Detail);
        Assert.Equal(1, tokenServer.TokenRequests);
        Assert.Equal(0, server.Requests.Total);
    }

    [Fact]
    public async Task Unreachable_token_endpoint_fails_a_named_clients_call_with_Unavailable()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var tokenServer = await StartTokenServerAsync(Mint);
        var unreachable = $"https://127.0.0.1:{TokenServer.ClosedPort()}/connect/token";
        var services = ClientServices(server, Settings(
            "orders", tokenServer, TokenServer.ClientId, ("TokenEndpoint", unreachable), ("ClientSecret", TokenServer.ClientSecret)));
        AddNamedClient(services, "orders", server, tokenServer);

        await using var provider = services.BuildServiceProvider();
        var failure = await Assert.ThrowsAsync<RpcException>(() => ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions()));

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.StartsWith($"No access token: The token endpoint {unreachable} could not be reached", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, tokenServer.TokenRequests);
        Assert.Equal(0, server.Requests.Total);
    }

    [Fact]
    public async Task Resource_and_audience_are_sent_as_their_own_form_fields_only_by_the_client_that_sets_them()
    {
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions { ClientIds = [OrdersClientId, BillingClientId] });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, [
            .. Settings(
                "orders",
                tokenServer,
                OrdersClientId,
                ("ClientSecret", TokenServer.ClientSecret),
                ("Resource", "https://orders.example/api"),
                ("Audience", "orders-api"),
                ("Scopes:0", "probe.read")),
            .. Settings("billing", tokenServer, BillingClientId, ("ClientAuthentication", "RequestBody"), ("ClientSecret", TokenServer.ClientSecret)),
        ]);
        AddNamedClient(services, "orders", server, tokenServer);
        AddNamedClient(services, "billing", server, tokenServer);

        await using var provider = services.BuildServiceProvider();
        await ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions());
        await ProbeClient(provider, "billing").CallUnaryAsync(new CallOptions());

        var forms = tokenServer.TokenForms;
        Assert.Equal(2, forms.Count);
        Assert.Equal("https://orders.example/api", forms[0]["resource"]);
        Assert.Equal("orders-api", forms[0]["audience"]);
        Assert.Equal("probe.read", forms[0]["scope"]);
        Assert.Equal(["client_id", "client_secret", "grant_type"], forms[1].Keys.Order(StringComparer.Ordinal));
        Assert.Equal(
            [new TokenRequest(OrdersClientId, "probe.read", Audience: "orders-api", Resource: "https://orders.example/api"), new TokenRequest(BillingClientId, null)],
            _minted);
    }

    [Fact]
    public async Task Host_start_fails_naming_every_missing_setting_of_a_named_client_by_its_key()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{Section}:orders:TokenEndpoint"] = "https://idp.example/connect/token",
            [$"{Section}:orders:ClientAuthentication"] = "PrivateKeyJwt",
            [$"{Section}:orders:ClientSecret"] = TokenServer.ClientSecret,
            [$"{Section}:billing:TokenEndpoint"] = "https://idp.example/connect/token",
            [$"{Section}:billing:ClientId"] = BillingClientId,
            [$"{Section}:billing:ClientSecret"] = TokenServer.ClientSecret,
        });
        builder.Services.AddClientCredentialsTokenProvider("orders");
        builder.Services.AddClientCredentialsTokenProvider("billing");
        using var host = builder.Build();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().DefaultTimeout());

        Assert.Equal("orders", failure.OptionsName);
        Assert.Equal(
            [
                "GrpcJwtAuth:Clients:orders:ClientId is required.",
                "GrpcJwtAuth:Clients:orders:ClientAssertionKeyPath (or ClientAssertionSigningCredentials in code) is required with " +
                "GrpcJwtAuth:Clients:orders:ClientAuthentication=PrivateKeyJwt.",
            ],
            failure.Failures);
        Assert.Contains("GrpcJwtAuth:Clients:orders:ClientId", failure.Message, StringComparison.Ordinal);
        Assert.Contains("GrpcJwtAuth:Clients:orders:ClientAssertionKeyPath", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TokenServer.ClientSecret, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_fails_naming_the_key_file_that_cannot_be_read()
    {
        var files = Own(new TempDirectory());
        var missing = Path.Combine(files.Path, "missing.pem");
        var notAKey = files.Write("not-a-key.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{Section}:orders:TokenEndpoint"] = "https://idp.example/connect/token",
            [$"{Section}:orders:ClientId"] = OrdersClientId,
            [$"{Section}:orders:ClientAuthentication"] = "PrivateKeyJwt",
            [$"{Section}:orders:ClientAssertionKeyPath"] = missing,
            [$"{Section}:billing:TokenEndpoint"] = "https://idp.example/connect/token",
            [$"{Section}:billing:ClientId"] = BillingClientId,
            [$"{Section}:billing:ClientAuthentication"] = "TlsClientCertificate",
            [$"{Section}:billing:ClientCertificatePath"] = notAKey,
        });
        builder.Services.AddClientCredentialsTokenProvider("orders");
        builder.Services.AddClientCredentialsTokenProvider("billing");
        using var host = builder.Build();

        var failure = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync().DefaultTimeout());

        var failures = failure.InnerExceptions.Cast<OptionsValidationException>().ToDictionary(ex => ex.OptionsName, ex => Assert.Single(ex.Failures));
        Assert.Equal($"GrpcJwtAuth:Clients:orders:ClientAssertionKeyPath '{missing}' could not be read (FileNotFoundException).", failures["orders"]);
        Assert.StartsWith(
            $"GrpcJwtAuth:Clients:billing:ClientCertificatePath '{notAKey}' could not be loaded as a PEM certificate with its private key",
            failures["billing"],
            StringComparison.Ordinal);
    }

    [Fact]
    public void Registering_a_token_client_name_twice_throws_naming_it()
    {
        var services = new ServiceCollection();
        services.AddClientCredentialsTokenProvider("orders");

        var failure = Assert.Throws<InvalidOperationException>(() => services.AddClientCredentialsTokenProvider("orders"));

        Assert.Equal("A token client named 'orders' is already registered; give each client its own name.", failure.Message);
    }

    [Fact]
    public async Task Call_credentials_for_an_unregistered_name_fail_naming_the_registration_to_add()
    {
        var tokenServer = await StartTokenServerAsync(Mint);
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, Settings("orders", tokenServer, TokenServer.ClientId, ("ClientSecret", TokenServer.ClientSecret)));
        AddNamedClient(services, "orders", server, tokenServer);
        services.AddGrpcClient<Probe.ProbeClient>("misspelt", options => options.Address = server.Address)
            .ConfigurePrimaryHttpMessageHandler(server.Certificate.CreatePinnedHandler)
            .AddJwtCallCredentials("ordres");

        await using var provider = services.BuildServiceProvider();
        var failure = Assert.Throws<InvalidOperationException>(() => ProbeClient(provider, "misspelt"));

        Assert.Equal(
            "No token client named 'ordres' is registered. Register it with AddClientCredentialsTokenProvider(\"ordres\") " +
            "(settings in GrpcJwtAuth:Clients:ordres), AddSelfSignedTokenProvider or AddAccessTokenProvider with that name.",
            failure.Message);
        Assert.Equal(0, tokenServer.TokenRequests);
        Assert.Equal(0, server.Requests.Total);
    }

    [Fact]
    public async Task Client_secret_never_appears_in_exceptions_status_details_or_logs()
    {
        var wrongSecret = "wrong-" + Guid.NewGuid().ToString("N");
        var tokenServer = await StartTokenServerAsync(Mint, new TokenServerOptions { ClientIds = [OrdersClientId, BillingClientId, "reports-client"] });
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var services = ClientServices(server, [
            .. Settings("orders", tokenServer, OrdersClientId, ("ClientSecret", TokenServer.ClientSecret)),
            .. Settings("billing", tokenServer, BillingClientId, ("ClientAuthentication", "RequestBody"), ("ClientSecret", wrongSecret)),
            .. Settings("reports", tokenServer, "reports-client", ("TokenEndpoint", $"https://127.0.0.1:{TokenServer.ClosedPort()}/connect/token"), ("ClientSecret", TokenServer.ClientSecret)),
        ]);
        AddNamedClient(services, "orders", server, tokenServer);
        AddNamedClient(services, "billing", server, tokenServer);
        AddNamedClient(services, "reports", server, tokenServer);

        var texts = new List<string>();
        await using (var provider = services.BuildServiceProvider())
        {
            var ok = await ProbeClient(provider, "orders").CallUnaryAsync(new CallOptions());
            var refused = await Assert.ThrowsAsync<RpcException>(() => ProbeClient(provider, "billing").CallUnaryAsync(new CallOptions()));
            var unreachable = await Assert.ThrowsAsync<RpcException>(() => ProbeClient(provider, "reports").CallUnaryAsync(new CallOptions()));

            Assert.Equal(OrdersClientId, ok.Subject);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            Assert.Equal(StatusCode.Unavailable, unreachable.StatusCode);
            texts.AddRange([refused.ToString(), refused.Status.Detail, unreachable.ToString(), unreachable.Status.Detail]);
        }

        var invalidBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        invalidBuilder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{Section}:orders:TokenEndpoint"] = "not an address",
            [$"{Section}:orders:ClientSecret"] = TokenServer.ClientSecret,
        });
        invalidBuilder.Services.AddClientCredentialsTokenProvider("orders");
        using (var invalid = invalidBuilder.Build())
        {
            texts.Add((await Assert.ThrowsAsync<OptionsValidationException>(() => invalid.StartAsync().DefaultTimeout())).ToString());
        }

        // The secrets, and the Basic credentials that carry them.
        string[] secrets =
        [
            TokenServer.ClientSecret,
            wrongSecret,
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{OrdersClientId}:{TokenServer.ClientSecret}")),
        ];
        var logs = server.Logs.Records.Concat(tokenServer.Logs.Records).Select(LogCapture.Describe).ToList();
        Assert.NotEmpty(logs);

        // The capture saw the gRPC client's HTTP requests (without headers); the token endpoint's client logs none.
        Assert.Contains(server.Logs.Records, record => record.Category == "System.Net.Http.HttpClient.orders.ClientHandler" && record.Id.Name == "RequestStart");
        Assert.DoesNotContain(server.Logs.Records, record => record.Id.Name is "RequestHeader" or "ResponseHeader");
        Assert.DoesNotContain(server.Logs.Records, record => record.Category!.StartsWith("System.Net.Http.HttpClient.GrpcJwtAuth.", StringComparison.Ordinal));
        var leaks = texts.Concat(logs).Where(text => secrets.Any(secret => text.Contains(secret, StringComparison.Ordinal))).ToList();
        Assert.True(leaks.Count == 0, string.Join("\n-----\n", leaks));
    }

    private string Mint(TokenRequest request)
    {
        _minted.Enqueue(request);
        return Tokens.Create(
            TestKeys.Primary,
            subject: request.ClientId,
            claims: request.Scope is null ? null : new Dictionary<string, object> { ["scope"] = request.Scope });
    }

    /// <summary>The settings of client <paramref name="name"/>: its token endpoint and client id, then <paramref name="settings"/> (null values left out).</summary>
    private static List<KeyValuePair<string, string?>> Settings(
        string name, TokenServer tokenServer, string clientId, params (string Key, string? Value)[] settings)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["TokenEndpoint"] = tokenServer.TokenEndpoint,
            ["ClientId"] = clientId,
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return all.Where(pair => pair.Value is not null)
            .Select(pair => KeyValuePair.Create($"{Section}:{name}:{pair.Key}", pair.Value))
            .ToList();
    }

    /// <summary>Client services: the settings as the app's configuration, and logging into the gRPC server's capture.</summary>
    private static ServiceCollection ClientServices(GrpcTestServer server, IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(server.Logs.CreateProvider()));
        return services;
    }

    /// <summary>
    /// Token client <paramref name="name"/>, its token endpoint client pinned to the token server's certificate, and a
    /// Probe client of the same name pinned to the gRPC server's, attaching that token client's tokens.
    /// </summary>
    private static void AddNamedClient(
        IServiceCollection services, string name, GrpcTestServer server, TokenServer tokenServer, Action<ClientCredentialsOptions>? configure = null)
    {
        services.AddClientCredentialsTokenProvider(name, configure);
        services.AddHttpClient($"{JwtCallCredentialsServiceCollectionExtensions.TokenEndpointHttpClientName}.{name}")
            .ConfigurePrimaryHttpMessageHandler(tokenServer.Certificate.CreatePinnedHandler);
        services.AddGrpcClient<Probe.ProbeClient>(name, options => options.Address = server.Address)
            .ConfigurePrimaryHttpMessageHandler(server.Certificate.CreatePinnedHandler)
            .AddJwtCallCredentials(name);
    }

    private static Probe.ProbeClient ProbeClient(IServiceProvider provider, string name) =>
        provider.GetRequiredService<GrpcClientFactory>().CreateClient<Probe.ProbeClient>(name);

    /// <summary>A PEM private key file's content and the key that verifies its signatures.</summary>
    private static (string Pem, SecurityKey VerificationKey) CreateKeyFile(KeyFile keyFile)
    {
        if (keyFile is KeyFile.RsaPkcs1 or KeyFile.RsaPkcs8)
        {
            var rsa = RSA.Create(2048);
            return (keyFile == KeyFile.RsaPkcs1 ? rsa.ExportRSAPrivateKeyPem() : rsa.ExportPkcs8PrivateKeyPem(), new RsaSecurityKey(rsa));
        }

        var ec = ECDsa.Create(keyFile switch
        {
            KeyFile.EcP384Pkcs8 => ECCurve.NamedCurves.nistP384,
            KeyFile.EcP521Pkcs8 => ECCurve.NamedCurves.nistP521,
            _ => ECCurve.NamedCurves.nistP256,
        });
        return (keyFile == KeyFile.EcP256Sec1 ? ec.ExportECPrivateKeyPem() : ec.ExportPkcs8PrivateKeyPem(), new ECDsaSecurityKey(ec));
    }

    /// <summary>A self-signed TLS client certificate (ECDSA P-256, client authentication), valid from five minutes ago for an hour.</summary>
    private static X509Certificate2 CreateClientCertificate(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));
    }

    /// <summary>A directory of its own for a test's key files, deleted after the test.</summary>
    private sealed class TempDirectory : IAsyncDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("grpcjwtauth-named-").FullName;

        public string Write(string name, string content)
        {
            var path = System.IO.Path.Combine(Path, name);
            File.WriteAllText(path, content);
            return path;
        }

        public ValueTask DisposeAsync()
        {
            Directory.Delete(Path, recursive: true);
            return ValueTask.CompletedTask;
        }
    }
}
