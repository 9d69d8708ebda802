using System.Net;
using System.Text;
using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Client.Tests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Client.Tests.Sources;

/// <summary>Against a real token endpoint on loopback (plain http, so <c>RequireHttps = false</c>) and a fake clock.</summary>
public sealed class ClientCredentialsTokenProviderTests : IAsyncLifetime
{
    private const string ClientSecret = "s3cr3t:+/é-value";
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly HttpClient _httpClient = new();
    private TokenEndpointServer _server = null!;

    public async Task InitializeAsync() => _server = await TokenEndpointServer.StartAsync();

    public async Task DisposeAsync()
    {
        _httpClient.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task GetTokenAsync_BasicHeader_PostsFormWithClientCredentialsGrantScopesAudienceAndResource()
    {
        var provider = CreateProvider(options =>
        {
            options.Scopes.Add("orders.read");
            options.Scopes.Add("orders.write");
            options.Audience = "api://orders";
            options.Resource = "https://orders.example";
        });

        await provider.GetTokenAsync().DefaultTimeout();

        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/token", request.Path);
        Assert.StartsWith("application/x-www-form-urlencoded", request.ContentType, StringComparison.Ordinal);
        Assert.Equal("application/json", request.Accept);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["scope"] = "orders.read orders.write",
                ["audience"] = "api://orders",
                ["resource"] = "https://orders.example",
            },
            request.Form);
        Assert.StartsWith("Basic ", request.Authorization, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_NoScopesAudienceOrResource_SendsOnlyTheGrantType()
    {
        var provider = CreateProvider();

        await provider.GetTokenAsync().DefaultTimeout();

        var request = Assert.Single(_server.Requests);
        Assert.Equal(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }, request.Form);
    }

    [Theory]
    [InlineData("orders-client", "plain-secret")]
    [InlineData("client:with:colons", "secret:with:colons")]
    [InlineData("client+plus", "a+b=c&d")]
    [InlineData("clïent-é", "sécret ü/€")]
    public async Task GetTokenAsync_BasicHeader_FormEncodesIdAndSecretBeforeBase64(string clientId, string clientSecret)
    {
        var provider = CreateProvider(options =>
        {
            options.ClientId = clientId;
            options.ClientSecret = clientSecret;
        });

        await provider.GetTokenAsync().DefaultTimeout();

        // RFC 6749 2.3.1: base64(urlencode(id) ":" urlencode(secret)). The server splits on the one raw ':' and
        // form-decodes each half (a '+' in the secret would come back as a space had it not been encoded).
        var request = Assert.Single(_server.Requests);
        var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(request.Authorization!["Basic ".Length..]));
        Assert.Equal(1, credentials.Count(c => c == ':'));
        var separator = credentials.IndexOf(':', StringComparison.Ordinal);
        Assert.Equal(clientId, WebUtility.UrlDecode(credentials[..separator]));
        Assert.Equal(clientSecret, WebUtility.UrlDecode(credentials[(separator + 1)..]));
        Assert.All(credentials, c => Assert.True(c < 128, "The encoded credentials are not ASCII."));
        Assert.False(request.Form.ContainsKey("client_id"));
        Assert.False(request.Form.ContainsKey("client_secret"));
    }

    [Fact]
    public async Task GetTokenAsync_RequestBody_SendsCredentialsInTheFormAndNoAuthorizationHeader()
    {
        var provider = CreateProvider(options => options.ClientAuthentication = ClientAuthenticationMethod.RequestBody);

        await provider.GetTokenAsync().DefaultTimeout();

        var request = Assert.Single(_server.Requests);
        Assert.Null(request.Authorization);
        Assert.Equal("orders-client", request.Form["client_id"]);
        Assert.Equal(ClientSecret, request.Form["client_secret"]);
        Assert.Equal("client_credentials", request.Form["grant_type"]);
    }

    [Fact]
    public async Task GetTokenAsync_Success_ReturnsAccessTokenExpiringExpiresInFromNow()
    {
        _server.AnswerToken(200, """{"access_token":"opaque-token","token_type":"Bearer","expires_in":3600,"scope":"orders.read"}""");
        var provider = CreateProvider();

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal("opaque-token", token.Value);
        Assert.Equal(Now + TimeSpan.FromHours(1), token.ExpiresAt);
    }

    [Theory]
    [InlineData("3600", 3600)]
    [InlineData("\"3600\"", 3600)]
    [InlineData("60", 60)]
    [InlineData("999999999", 365 * 24 * 3600)] // capped at a year
    [InlineData("0", null)]
    [InlineData("-5", null)]
    [InlineData("\"soon\"", null)]
    [InlineData("1.5", null)]
    [InlineData("null", null)]
    public async Task GetTokenAsync_ExpiresIn_SetsExpiryOrLeavesItUnknown(string expiresInJson, int? expectedSeconds)
    {
        _server.AnswerToken(200, $$"""{"access_token":"opaque-token","token_type":"Bearer","expires_in":{{expiresInJson}}}""");
        var provider = CreateProvider();

        var token = await provider.GetTokenAsync().DefaultTimeout();

        var expected = expectedSeconds is { } seconds ? Now + TimeSpan.FromSeconds(seconds) : DateTimeOffset.MaxValue;
        Assert.Equal(expected, token.ExpiresAt);
    }

    [Fact]
    public async Task GetTokenAsync_NoExpiresInNorJwt_ExpiryIsUnknown()
    {
        _server.AnswerToken(200, """{"access_token":"opaque-token","token_type":"Bearer"}""");
        var provider = CreateProvider();

        Assert.Equal(DateTimeOffset.MaxValue, (await provider.GetTokenAsync().DefaultTimeout()).ExpiresAt);
    }

    [Theory]
    [InlineData(5, 3600, 5 * 60)] // the JWT's exp is earlier
    [InlineData(60, 600, 600)] // expires_in is earlier
    public async Task GetTokenAsync_JwtAccessToken_TheEarlierOfExpAndExpiresInWins(int jwtLifetimeMinutes, int expiresIn, int expectedSeconds)
    {
        var jwt = new TestTokenFactory(_time).Create(TestSigningKey.Hmac(), lifetime: TimeSpan.FromMinutes(jwtLifetimeMinutes));
        _server.AnswerToken(200, $$"""{"access_token":"{{jwt}}","token_type":"Bearer","expires_in":{{expiresIn}}}""");
        var provider = CreateProvider();

        var token = await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal(jwt, token.Value);
        Assert.Equal(Now + TimeSpan.FromSeconds(expectedSeconds), token.ExpiresAt);
    }

    [Fact]
    public async Task GetTokenAsync_JwtAccessTokenWithoutExpiresIn_UsesExp()
    {
        var jwt = new TestTokenFactory(_time).Create(TestSigningKey.Hmac(), lifetime: TimeSpan.FromMinutes(15));
        _server.AnswerToken(200, $$"""{"access_token":"{{jwt}}","token_type":"Bearer"}""");
        var provider = CreateProvider();

        Assert.Equal(Now + TimeSpan.FromMinutes(15), (await provider.GetTokenAsync().DefaultTimeout()).ExpiresAt);
    }

    [Theory]
    [InlineData("""{"access_token":"opaque-token","token_type":"bearer"}""")]
    [InlineData("""{"access_token":"opaque-token","token_type":"BEARER"}""")]
    [InlineData("""{"access_token":"opaque-token"}""")]
    public async Task GetTokenAsync_BearerInAnyCaseOrNoTokenType_IsAccepted(string body)
    {
        _server.AnswerToken(200, body);
        var provider = CreateProvider();

        Assert.Equal("opaque-token", (await provider.GetTokenAsync().DefaultTimeout()).Value);
    }

    [Theory]
    [InlineData(400, """{"error":"invalid_client","error_description":"Client authentication failed."}""", "invalid_client", "Client authentication failed.")]
    [InlineData(401, """{"error":"invalid_client"}""", "invalid_client", null)]
    [InlineData(400, """{"error":"invalid_scope","error_description":"Unknown scope orders.delete."}""", "invalid_scope", "Unknown scope orders.delete.")]
    [InlineData(400, """{"error":"unauthorized_client","error_description":42}""", "unauthorized_client", null)]
    public async Task GetTokenAsync_OAuthErrorResponse_ThrowsWithErrorAndDescriptionButNotTheSecret(
        int status, string body, string error, string? description)
    {
        _server.AnswerToken(status, body);
        var provider = CreateProvider();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Equal(error, failure.Error);
        Assert.Equal(description, failure.ErrorDescription);
        Assert.Contains($"HTTP {status}", failure.Message, StringComparison.Ordinal);
        Assert.Contains(error, failure.Message, StringComparison.Ordinal);
        if (description is not null)
        {
            Assert.Contains(description, failure.Message, StringComparison.Ordinal);
        }

        AssertNoSecret(failure);
    }

    [Theory]
    [InlineData(500, "<html><body>Internal Server Error</body></html>", "text/html")]
    [InlineData(502, "", "text/plain")]
    [InlineData(404, """{"message":"not found"}""", "application/json")]
    [InlineData(400, """{"error":7}""", "application/json")]
    [InlineData(400, """["invalid_client"]""", "application/json")]
    public async Task GetTokenAsync_ErrorWithoutOAuthErrorBody_ThrowsNamingTheStatus(int status, string body, string contentType)
    {
        _server.AnswerToken(status, body, contentType);
        var provider = CreateProvider();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains($"HTTP {status}", failure.Message, StringComparison.Ordinal);
        Assert.Contains("without an OAuth 2.0 error response", failure.Message, StringComparison.Ordinal);
        Assert.Null(failure.Error);
        AssertNoSecret(failure);
    }

    [Theory]
    [InlineData("""{"access_token":"opaque-token","token_type":"DPoP","expires_in":3600}""", "'DPoP' token")]
    [InlineData("""{"access_token":"opaque-token","token_type":"mac"}""", "'mac' token")]
    [InlineData("""{"access_token":"opaque-token","token_type":5}""", "only Bearer tokens")]
    [InlineData("""{"token_type":"Bearer","expires_in":3600}""", "no access_token")]
    [InlineData("""{"access_token":"","token_type":"Bearer"}""", "no access_token")]
    [InlineData("""{"access_token":"  ","token_type":"Bearer"}""", "no access_token")]
    [InlineData("""{"access_token":12345,"token_type":"Bearer"}""", "no access_token")]
    [InlineData("""{"access_token":null}""", "no access_token")]
    [InlineData("access_token=opaque-token&token_type=Bearer", "not a JSON object")]
    [InlineData("""["opaque-token"]""", "not a JSON object")]
    [InlineData("\"opaque-token\"", "not a JSON object")]
    [InlineData("", "not a JSON object")]
    public async Task GetTokenAsync_UnusableSuccessResponse_ThrowsAccessTokenException(string body, string expected)
    {
        _server.AnswerToken(200, body);
        var provider = CreateProvider();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("opaque-token", failure.Message, StringComparison.Ordinal);
        AssertNoSecret(failure);
    }

    [Theory]
    [InlineData(400, """{"error":"invalid_client"}""", AccessTokenFailure.Refused)]
    [InlineData(401, """{"error":"invalid_client"}""", AccessTokenFailure.Refused)]
    [InlineData(400, """{"error":"invalid_target"}""", AccessTokenFailure.Refused)]
    [InlineData(403, "forbidden", AccessTokenFailure.Refused)]
    [InlineData(429, "slow down", AccessTokenFailure.Unavailable)]
    [InlineData(500, """{"error":"server_error"}""", AccessTokenFailure.Unavailable)]
    [InlineData(503, "<html>maintenance</html>", AccessTokenFailure.Unavailable)]
    [InlineData(200, "<html>login page</html>", AccessTokenFailure.InvalidResponse)]
    [InlineData(200, """{"access_token":"opaque-token","token_type":"DPoP"}""", AccessTokenFailure.InvalidResponse)]
    public async Task GetTokenAsync_FailedAnswer_NamesItsKind(int status, string body, AccessTokenFailure expected)
    {
        _server.AnswerToken(status, body);
        var provider = CreateProvider();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Equal(expected, failure.Failure);
    }

    [Fact]
    public async Task GetTokenAsync_EndpointWithUserInfoAndQuery_ErrorsShowNeither()
    {
        var port = TokenEndpointServer.ClosedPort();
        var provider = CreateProvider(options => options.TokenEndpoint = $"http://robot:hunter2@127.0.0.1:{port}/token?api-key=k3y");

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains($"http://127.0.0.1:{port}/token could not be reached", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("k3y", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_EndpointUnreachable_IsUnavailable()
    {
        var provider = CreateProvider(options => options.TokenEndpoint = $"http://127.0.0.1:{TokenEndpointServer.ClosedPort()}/token");

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Equal(AccessTokenFailure.Unavailable, failure.Failure);
    }

    [Fact]
    public async Task GetTokenAsync_ResponseLargerThan256KiB_IsNotParsed()
    {
        var padding = new string('x', 300 * 1024);
        _server.AnswerToken(200, $$"""{"access_token":"opaque-token","token_type":"Bearer","padding":"{{padding}}"}""");
        var provider = CreateProvider();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains("answered more than 262144 bytes", failure.Message, StringComparison.Ordinal);
        Assert.Equal(AccessTokenFailure.InvalidResponse, failure.Failure);
    }

    [Fact]
    public async Task GetTokenAsync_EndlessResponseWithoutLength_IsAbandonedAtTheLimit()
    {
        await using var endless = EndlessResponseServer.Start(totalBytes: 256L * 1024 * 1024);
        var provider = CreateProvider(options => options.TokenEndpoint = endless.Address);

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());
        await endless.Ended.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Contains("answered more than 262144 bytes", failure.Message, StringComparison.Ordinal);

        // What the client read (the 256 KiB limit, and at most 1 MiB that HttpClient drains before closing), plus
        // what loopback socket buffers hold: far from the 256 MiB on offer.
        Assert.InRange(endless.SentBytes, 1, 32L * 1024 * 1024);
    }

    [Fact]
    public async Task GetTokenAsync_ErrorDescriptionWithControlAndFormatCharacters_IsQuotedCleaned()
    {
        _server.AnswerToken(400, """{"error":"invalid_client\u001b[31m","error_description":"bad\u2028\u202Eclient"}""");
        var provider = CreateProvider();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Equal("invalid_client?[31m", failure.Error);
        Assert.Equal("bad??client", failure.ErrorDescription);
        Assert.Contains("invalid_client?[31m: bad??client", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_EndpointUnreachable_ThrowsAccessTokenExceptionNamingTheEndpoint()
    {
        var endpoint = $"http://127.0.0.1:{TokenEndpointServer.ClosedPort()}/token";
        var provider = CreateProvider(options => options.TokenEndpoint = endpoint);

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains("could not be reached", failure.Message, StringComparison.Ordinal);
        Assert.Contains(endpoint, failure.Message, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(failure.InnerException);
        AssertNoSecret(failure);
    }

    [Fact]
    public async Task GetTokenAsync_ConnectionDroppedMidResponse_ThrowsAccessTokenException()
    {
        var drop = _server.DropTokenResponsesMidBody();
        var headersReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var httpClient = new HttpClient(new HeadersReceivedSignal(headersReceived));
        var provider = new ClientCredentialsTokenProvider(httpClient, Options(), _time);
        var pending = provider.GetTokenAsync().AsTask();

        // Drop the connection only once the client has the headers and is reading the body.
        await headersReceived.Task.DefaultTimeout();
        drop.SetResult();

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => pending.DefaultTimeout());
        Assert.Contains(_server.TokenEndpoint, failure.Message, StringComparison.Ordinal);
        AssertNoSecret(failure);
    }

    [Fact]
    public async Task GetTokenAsync_CallerCancels_ThrowsOperationCanceledNotAccessTokenException()
    {
        var hold = _server.HoldTokenRequests();
        var provider = CreateProvider();
        using var cancellation = new CancellationTokenSource();
        var pending = provider.GetTokenAsync(cancellation.Token).AsTask();

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.DefaultTimeout());
        hold.TrySetResult();
    }

    [Fact]
    public async Task GetTokenAsync_Authority_DiscoversTheTokenEndpointOnceAndPostsThere()
    {
        _server.AnswerDiscovery(200, $$"""{"issuer":"{{_server.BaseAddress}}","token_endpoint":"{{_server.BaseAddress}}/oauth2/v2/token"}""");
        var provider = CreateProvider(options =>
        {
            options.TokenEndpoint = null;
            options.Authority = _server.BaseAddress;
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("opaque-token", (await provider.GetTokenAsync().DefaultTimeout()).Value);
        }

        Assert.Equal(1, _server.DiscoveryHits);
        Assert.Equal("/.well-known/openid-configuration", _server.Requests[0].Path);
        Assert.Equal("GET", _server.Requests[0].Method);
        Assert.Equal(3, _server.TokenRequests.Count);
        Assert.All(_server.TokenRequests, request =>
        {
            Assert.Equal("POST", request.Method);
            Assert.Equal("/oauth2/v2/token", request.Path);
        });
    }

    [Fact]
    public async Task GetTokenAsync_AuthorityWithPathAndTrailingSlash_ReadsDiscoveryBelowIt()
    {
        _server.AnswerDiscovery(200, $$"""{"issuer":"{{_server.BaseAddress}}/tenants/orders","token_endpoint":"{{_server.BaseAddress}}/tenants/orders/token"}""");
        var provider = CreateProvider(options =>
        {
            options.TokenEndpoint = null;
            options.Authority = _server.BaseAddress + "/tenants/orders/";
        });

        await provider.GetTokenAsync().DefaultTimeout();

        Assert.Equal("/tenants/orders/.well-known/openid-configuration", _server.Requests[0].Path);
        Assert.Equal("/tenants/orders/token", _server.Requests[1].Path);
    }

    [Theory]
    [InlineData(200, """{"issuer":"https://issuer.test"}""", "names no token_endpoint")]
    [InlineData(200, """{"issuer":"https://issuer.test","token_endpoint":""}""", "was refused: Malformed endpoint")]
    [InlineData(200, """{"issuer":"https://issuer.test","token_endpoint":"oauth2/token"}""", "was refused: Malformed endpoint")]
    [InlineData(200, """{"issuer":"https://issuer.test","token_endpoint":"ftp://issuer.test/token"}""", "was refused: Malformed endpoint")]
    [InlineData(200, "<html>not json</html>", "was refused: Issuer name is missing")]
    [InlineData(404, "not found", "could not be read")]
    [InlineData(500, """{"error":"server_error"}""", "could not be read")]
    [InlineData(200, """{"issuer":"https://other.test","token_endpoint":"https://issuer.test/token"}""", "was refused: Issuer name does not match authority")]
    [InlineData(200, """{"issuer":"https://issuer.test","token_endpoint":"https://elsewhere.test/token"}""", "was refused: Endpoint")]
    public async Task GetTokenAsync_UnusableDiscoveryDocument_ThrowsAccessTokenException(int status, string body, string expected)
    {
        _server.AnswerDiscovery(status, body.Replace("https://issuer.test", _server.BaseAddress, StringComparison.Ordinal));
        var provider = CreateProvider(options =>
        {
            options.TokenEndpoint = null;
            options.Authority = _server.BaseAddress;
        });

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.Empty(_server.TokenRequests);
        AssertNoSecret(failure);
    }

    [Fact]
    public async Task GetTokenAsync_DiscoveryDocumentLargerThan256KiB_IsNotParsedAndNoTokenIsAskedFor()
    {
        var padding = new string('x', 300 * 1024);
        _server.AnswerDiscovery(200, $$"""{"issuer":"{{_server.BaseAddress}}","token_endpoint":"{{_server.TokenEndpoint}}","padding":"{{padding}}"}""");
        var provider = CreateProvider(options =>
        {
            options.TokenEndpoint = null;
            options.Authority = _server.BaseAddress;
        });

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains("answered more than 262144 bytes", failure.Message, StringComparison.Ordinal);
        Assert.Equal(AccessTokenFailure.InvalidResponse, failure.Failure);
        Assert.Empty(_server.TokenRequests);
    }

    [Fact]
    public async Task GetTokenAsync_DiscoveryFailedOnce_IsTriedAgainOnTheNextCall()
    {
        _server.AnswerDiscovery(500, "down");
        var provider = CreateProvider(options =>
        {
            options.TokenEndpoint = null;
            options.Authority = _server.BaseAddress;
        });
        await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        _server.AnswerDiscovery(200, $$"""{"issuer":"{{_server.BaseAddress}}","token_endpoint":"{{_server.TokenEndpoint}}"}""");

        Assert.Equal("opaque-token", (await provider.GetTokenAsync().DefaultTimeout()).Value);
        Assert.Equal(2, _server.DiscoveryHits);
    }

    [Fact]
    public async Task GetTokenAsync_DiscoveryUnreachable_ThrowsAccessTokenException()
    {
        var provider = CreateProvider(options =>
        {
            options.TokenEndpoint = null;
            options.Authority = $"http://127.0.0.1:{TokenEndpointServer.ClosedPort()}";
        });

        var failure = await Assert.ThrowsAsync<AccessTokenException>(() => provider.GetTokenAsync().AsTask());

        Assert.Contains("could not be reached", failure.Message, StringComparison.Ordinal);
        Assert.Equal(AccessTokenFailure.Unavailable, failure.Failure);
    }

    [Theory]
    [InlineData(nameof(ClientCredentialsOptions.TokenEndpoint))]
    [InlineData(nameof(ClientCredentialsOptions.Authority))]
    public void Constructor_RequireHttpsWithHttpAddress_ThrowsArgumentExceptionNamingRequireHttps(string setting)
    {
        var options = Options();
        options.RequireHttps = true;
        if (setting == nameof(ClientCredentialsOptions.Authority))
        {
            options.TokenEndpoint = null;
            options.Authority = _server.BaseAddress;
        }

        var failure = Assert.Throws<ArgumentException>(() => new ClientCredentialsTokenProvider(_httpClient, options, _time));

        Assert.Contains("RequireHttps", failure.Message, StringComparison.Ordinal);
        Assert.Contains(setting, failure.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public void Options_Defaults_RequireHttpsAndUseTheBasicHeader()
    {
        Assert.True(new ClientCredentialsOptions().RequireHttps);
        Assert.Equal(ClientAuthenticationMethod.BasicHeader, new ClientCredentialsOptions().ClientAuthentication);
    }

    [Theory]
    [InlineData("ClientId", "ClientCredentialsOptions.ClientId is required")]
    [InlineData("ClientId whitespace", "ClientCredentialsOptions.ClientId is required")]
    [InlineData("ClientSecret", "ClientCredentialsOptions.ClientSecret is required")]
    [InlineData("no endpoint", "Set ClientCredentialsOptions.TokenEndpoint or ClientCredentialsOptions.Authority")]
    [InlineData("relative endpoint", "is not an absolute http(s) address")]
    [InlineData("ftp endpoint", "is not an absolute http(s) address")]
    [InlineData("relative authority", "is not an absolute http(s) address")]
    public void Constructor_InvalidOptions_ThrowsArgumentException(string problem, string expected)
    {
        var options = Options();
        switch (problem)
        {
            case "ClientId":
                options.ClientId = null;
                break;
            case "ClientId whitespace":
                options.ClientId = " ";
                break;
            case "ClientSecret":
                options.ClientSecret = "";
                break;
            case "no endpoint":
                options.TokenEndpoint = " ";
                break;
            case "relative endpoint":
                options.TokenEndpoint = "/token";
                break;
            case "ftp endpoint":
                options.TokenEndpoint = "ftp://127.0.0.1/token";
                break;
            default:
                options.TokenEndpoint = null;
                options.Authority = "issuer.test";
                break;
        }

        var failure = Assert.Throws<ArgumentException>(() => new ClientCredentialsTokenProvider(_httpClient, options, _time));

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NullArguments_ThrowArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => new ClientCredentialsTokenProvider(null!, Options()));
        Assert.Throws<ArgumentNullException>(() => new ClientCredentialsTokenProvider(_httpClient, null!));
    }

    /// <summary>Passes requests to a real handler and signals when response headers have arrived.</summary>
    private sealed class HeadersReceivedSignal(TaskCompletionSource received) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            received.TrySetResult();
            return response;
        }
    }

    private static void AssertNoSecret(Exception failure)
    {
        for (var current = failure; current is not null; current = current.InnerException)
        {
            Assert.DoesNotContain(ClientSecret, current.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Uri.EscapeDataString(ClientSecret), current.Message, StringComparison.Ordinal);
        }
    }

    private ClientCredentialsTokenProvider CreateProvider(Action<ClientCredentialsOptions>? configure = null)
    {
        var options = Options();
        configure?.Invoke(options);
        return new ClientCredentialsTokenProvider(_httpClient, options, _time);
    }

    private ClientCredentialsOptions Options() => new()
    {
        TokenEndpoint = _server.TokenEndpoint,
        ClientId = "orders-client",
        ClientSecret = ClientSecret,
        RequireHttps = false,
    };
}
