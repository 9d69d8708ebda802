using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.IntegrationTests.Services;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// The shapes real apps take around GrpcJwtAuth, over TLS: gRPC only; the app adding <c>AddAuthorization()</c> and
/// controllers itself (issue 13: WebApplication then inserts the authorization middleware, which used to fail every
/// call with <c>Unknown</c>); controllers sharing the tokens; an explicit <c>UseAuthentication()</c>/<c>UseAuthorization()</c>;
/// JwtBearer as a second scheme. Whatever the shape, gRPC calls get gRPC statuses and controllers get HTTP 401/403.
/// </summary>
public class AppShapeTests : IntegrationTest
{
    private const string TokenCacheLookups = "grpcjwtauth.token_cache.lookups";
    private const string ValidationDuration = "grpcjwtauth.server.validation.duration";

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    /// <summary>Signed with the key GrpcJwtAuth trusts (<see cref="TestKeys.Primary"/>), subject <c>carol</c>.</summary>
    private static string Token(params string[] roles) =>
        Tokens.Create(TestKeys.Primary, subject: "carol", claims: roles.Length == 0 ? null : new Dictionary<string, object> { ["roles"] = roles });

    /// <summary>Signed with the key only JwtBearer trusts in these tests (<see cref="TestKeys.Next"/>), subject <c>dave</c>.</summary>
    private static string JwtBearerOnlyToken() => Tokens.Create(TestKeys.Next, subject: "dave");

    // (a) AddGrpc() + AddGrpcJwtAuth() and nothing else.

    [Fact]
    public async Task Grpc_only_app_admits_a_valid_token_and_tells_a_caller_without_one_Unauthenticated()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Token()));
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);

        Assert.Equal("carol", reply.Subject);
        Assert.True(reply.PrincipalAuthenticated);
        Assert.Equal(1, server.Entries["Unary"]);
    }

    [Fact]
    public async Task Grpc_only_app_tells_a_forged_token_its_reason_although_the_authentication_middleware_saw_it_first()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var forged = Tokens.Create(TestKeys.Impostor, subject: "carol");

        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Default", Auth.Bearer(forged)), StatusCode.Unauthenticated, Details.InvalidSignature, forged);

        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task Grpc_only_app_enforces_Authorize_Roles_on_a_service_method()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var ops = Token("ops");

        await Rejection.AssertAsync(() => CallAttributedAsync(server, "AdminOnly", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "AdminOnly", Auth.Bearer(ops)), StatusCode.PermissionDenied, Details.MissingRole, ops);
        Assert.Equal(0, server.Entries.Total);
        var reply = await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(Token("admin")));

        Assert.True(reply.IsInRoleAdmin);
        Assert.Equal(1, server.Entries["Attributed.AdminOnly"]);
    }

    // Issue 13: the app registers AddAuthorization() and controllers itself.

    [Fact]
    public async Task App_that_adds_AddAuthorization_and_controllers_itself_admits_valid_tokens_on_Authorize_services_instead_of_failing_with_Unknown()
    {
        var server = await StartServerAsync(
            TestKeys.StaticOptions(TestKeys.Primary),
            configureBuilder: builder =>
            {
                builder.Services.AddAuthorization();
                builder.Services.AddControllers().AddApplicationPart(typeof(ReportsController).Assembly);
            },
            configureApp: app => app.MapControllers());

        var byDefault = await CallAttributedAsync(server, "Default", Auth.Bearer(Token()));
        var byRole = await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(Token("admin")));
        var byGate = await server.Probe.CallUnaryAsync(Auth.Bearer(Token()));
        var anonymous = await CallAttributedAsync(server, "Anonymous", Auth.None);

        Assert.Equal(["carol", "carol", "carol"], new[] { byDefault.Subject, byRole.Subject, byGate.Subject });
        Assert.False(anonymous.PrincipalAuthenticated);
        Assert.DoesNotContain(server.Logs.Records, record => record.Level >= LogLevel.Error);
    }

    // (b) Controllers next to the gRPC services, with GrpcJwtAuth the only scheme.

    [Fact]
    public async Task Controller_and_gRPC_method_accept_the_same_token()
    {
        var server = await StartAppWithControllersAsync();
        using var rest = RestClient(server);
        var token = Token();

        var reply = await CallAttributedAsync(server, "Default", Auth.Bearer(token));
        using var response = await GetAsync(rest, "/reports/mine", token);

        Assert.Equal("carol", reply.Subject);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"{GrpcJwtAuthDefaults.AuthenticationScheme} carol", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Controller_naming_the_GrpcJwtAuth_scheme_accepts_its_tokens()
    {
        var server = await StartAppWithControllersAsync();
        using var rest = RestClient(server);

        using var response = await GetAsync(rest, "/reports/grpcjwtauth", Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"{GrpcJwtAuthDefaults.AuthenticationScheme} carol", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Controller_called_without_token_gets_HTTP_401_with_a_Bearer_challenge_not_a_gRPC_status()
    {
        var server = await StartAppWithControllersAsync();
        using var rest = RestClient(server);

        using var response = await GetAsync(rest, "/reports/mine", token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.False(response.Headers.Contains("grpc-status"), "A controller must not be answered with a gRPC status.");
    }

    [Fact]
    public async Task Controller_called_with_a_forged_token_gets_HTTP_401_with_invalid_token()
    {
        var server = await StartAppWithControllersAsync();
        using var rest = RestClient(server);
        var forged = Tokens.Create(TestKeys.Impostor, subject: "carol");

        using var response = await GetAsync(rest, "/reports/mine", forged);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.StartsWith("error=\"invalid_token\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains(Details.InvalidSignature, challenge.Parameter, StringComparison.Ordinal);
        foreach (var secret in Secrets.Of(forged))
        {
            Assert.DoesNotContain(secret, challenge.Parameter, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Controller_requiring_a_role_the_token_lacks_gets_HTTP_403_and_one_that_has_it_HTTP_200()
    {
        var server = await StartAppWithControllersAsync();
        using var rest = RestClient(server);

        using var denied = await GetAsync(rest, "/reports/all", Token("ops"));
        using var allowed = await GetAsync(rest, "/reports/all", Token("admin"));

        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.False(denied.Headers.Contains("grpc-status"), "A controller must not be answered with a gRPC status.");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task gRPC_call_without_token_in_an_app_with_controllers_gets_a_trailers_only_gRPC_status_not_HTTP_401()
    {
        var server = await StartAppWithControllersAsync();
        using var rest = RestClient(server);

        using var response = await PostGrpcAsync(rest, "/test.Attributed/Default", token: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Headers.WwwAuthenticate);
        Assert.Equal(("16", Details.MissingToken), await GrpcStatusOfAsync(response));
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Default", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Fact]
    public async Task gRPC_call_without_the_role_in_an_app_with_controllers_gets_PermissionDenied_with_its_reason_not_HTTP_403()
    {
        var server = await StartAppWithControllersAsync();
        using var rest = RestClient(server);
        var ops = Token("ops");

        using var response = await PostGrpcAsync(rest, "/test.Attributed/AdminOnly", ops);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("7", Details.MissingRole), await GrpcStatusOfAsync(response));
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "AdminOnly", Auth.Bearer(ops)), StatusCode.PermissionDenied, Details.MissingRole, ops);
        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task A_scheme_that_handles_requests_itself_still_gets_its_turn_before_every_endpoint()
    {
        // Remote sign-in schemes (OpenID Connect, OAuth) answer their callback path from the authentication middleware,
        // through IAuthenticationHandlerProvider, which GrpcJwtAuth creates only when a handler is asked for.
        var server = await StartServerAsync(
            TestKeys.StaticOptions(TestKeys.Primary),
            configureBuilder: builder => builder.Services.AddAuthentication()
                .AddScheme<AuthenticationSchemeOptions, CallbackHandler>("callback", configureOptions: null));
        using var rest = RestClient(server);

        using var callback = await GetAsync(rest, CallbackHandler.Path, token: null);
        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(Token()));
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);

        Assert.Equal(HttpStatusCode.OK, callback.StatusCode);
        Assert.Equal("handled by the callback scheme", await callback.Content.ReadAsStringAsync());
        Assert.Equal("carol", reply.Subject);
    }

    // (c) The app writes UseAuthentication()/UseAuthorization() itself.

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Explicit_UseAuthentication_and_UseAuthorization_give_the_same_results_as_the_ones_WebApplication_adds(bool explicitRouting)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary), configureApp: app =>
        {
            if (explicitRouting)
            {
                app.UseRouting();
            }

            app.UseAuthentication();
            app.UseAuthorization();
        });
        var ops = Token("ops");
        var forged = Tokens.Create(TestKeys.Impostor, subject: "carol");

        var gated = await server.Probe.CallUnaryAsync(Auth.Bearer(Token()));
        var attributed = await CallAttributedAsync(server, "Default", Auth.Bearer(Token()));
        var admin = await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(Token("admin")));
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Default", Auth.Bearer(forged)), StatusCode.Unauthenticated, Details.InvalidSignature, forged);
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "AdminOnly", Auth.Bearer(ops)), StatusCode.PermissionDenied, Details.MissingRole, ops);

        Assert.Equal(["carol", "carol", "carol"], new[] { gated.Subject, attributed.Subject, admin.Subject });
        Assert.True(admin.IsInRoleAdmin);
        Assert.Equal(3, server.Entries.Total);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Token_is_validated_once_per_call_by_the_authentication_middleware_and_not_again_by_the_interceptor(bool explicitMiddleware)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary), configureApp: app =>
        {
            if (explicitMiddleware)
            {
                app.UseAuthentication();
                app.UseAuthorization();
            }
        });
        using var metrics = new MetricCapture(server.Services);
        var token = Token("admin");

        await server.Probe.CallUnaryAsync(Auth.Bearer(token));
        await CallAttributedAsync(server, "Default", Auth.Bearer(token));
        await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(token));
        await CallAttributedAsync(server, "Anonymous", Auth.Bearer(token));

        // One cache lookup per call: the interceptor reused what the authentication middleware found. The cache admits
        // a token the second time it is validated, so the first two calls are misses and validations; later calls hit.
        Assert.Equal(["miss", "miss", "hit", "hit"], metrics.Of(TokenCacheLookups).Select(m => m.Tag("grpcjwtauth.cache.result")));
        Assert.Equal(2, metrics.Of(ValidationDuration).Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Middleware_sees_the_gRPC_caller_only_with_MiddlewareAuthenticatesGrpcCalls_and_the_token_is_validated_once_either_way(
        bool middlewareAuthenticates)
    {
        var seenByMiddleware = new List<bool>();
        var server = await StartServerAsync(
            options =>
            {
                TestKeys.StaticOptions(TestKeys.Primary)(options);
                options.MiddlewareAuthenticatesGrpcCalls = middlewareAuthenticates;
            },
            configureApp: app => app.Use((context, next) =>
            {
                // After the authentication middleware WebApplication inserts, before the endpoint.
                lock (seenByMiddleware)
                {
                    seenByMiddleware.Add(context.User.Identity?.IsAuthenticated == true);
                }

                return next(context);
            }));
        using var metrics = new MetricCapture(server.Services);
        var token = Token("admin");

        var replies = new List<ProbeReply>();
        for (var i = 0; i < 3; i++)
        {
            replies.Add(await server.Probe.CallUnaryAsync(Auth.Bearer(token)));
        }

        Assert.Equal([middlewareAuthenticates, middlewareAuthenticates, middlewareAuthenticates], seenByMiddleware);
        Assert.All(replies, reply => Assert.True(reply.PrincipalAuthenticated));
        Assert.All(replies, reply => Assert.Equal("carol", reply.Subject));
        Assert.Equal(3, metrics.Of(TokenCacheLookups).Count);
    }

    [Fact]
    public async Task HttpContext_AuthenticateAsync_after_the_interceptor_returns_the_caller_without_validating_again()
    {
        var recorder = new AuthenticatingInterceptor();
        var server = await StartServerAsync(
            TestKeys.StaticOptions(TestKeys.Primary),
            configureBuilder: builder =>
            {
                builder.Services.AddSingleton(recorder);
                builder.Services.Configure<Grpc.AspNetCore.Server.GrpcServiceOptions>(options => options.Interceptors.Add<AuthenticatingInterceptor>());
            });
        using var metrics = new MetricCapture(server.Services);

        await server.Probe.CallUnaryAsync(Auth.Bearer(Token("admin")));

        // GrpcJwtAuth's interceptor runs first (it puts itself first): the app's interceptor then asks ASP.NET Core.
        Assert.Equal(["GrpcJwtAuth carol"], recorder.Seen);
        Assert.Single(metrics.Of(TokenCacheLookups));
    }

    [Fact]
    public async Task Policy_the_authorization_middleware_passed_is_not_evaluated_again_by_the_interceptor()
    {
        var handler = new CountingHandler();
        var server = await StartServerAsync(
            TestKeys.StaticOptions(TestKeys.Primary),
            configureBuilder: builder =>
            {
                builder.Services.AddAuthorization(options => options.AddPolicy("counted", policy => policy.AddRequirements(new CountedRequirement())));
                builder.Services.AddSingleton<IAuthorizationHandler>(handler);
            },
            probeConventions: probe => probe.RequireAuthorization("counted"));

        await server.Probe.CallUnaryAsync(Auth.Bearer(Token()));

        // The middleware evaluates the method's [Authorize] policy before the endpoint runs; the interceptor is told it
        // passed (GrpcAuthorizationResultHandler) and must not run the app's handlers a second time for the same call.
        Assert.Equal(1, server.Entries["Unary"]);
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task App_that_removes_the_interceptor_still_has_Authorize_enforced_by_the_middleware_with_gRPC_statuses()
    {
        var server = await StartServerAsync(
            TestKeys.StaticOptions(TestKeys.Primary),
            configureBuilder: builder => builder.Services.PostConfigure<Grpc.AspNetCore.Server.GrpcServiceOptions>(options =>
            {
                var index = options.Interceptors.ToList().FindIndex(registration => registration.Type.Name == "GrpcJwtAuthInterceptor");
                options.Interceptors.RemoveAt(index);
            }));
        var ops = Token("ops");

        // Nothing decides after the authorization middleware, so it must not pass a failed policy on: it refuses itself.
        await Rejection.AssertAsync(() => CallAttributedAsync(server, "AdminOnly", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "AdminOnly", Auth.Bearer(ops)), StatusCode.PermissionDenied, "authorization policy failed", ops);
        var admin = await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(Token("admin")));

        Assert.Equal("carol", admin.Subject);
        Assert.Equal(1, server.Entries.Total);
    }

    // (d) JwtBearer as a second scheme.

    [Fact]
    public async Task With_JwtBearer_the_default_scheme_controllers_authenticate_with_JwtBearer_and_gRPC_methods_with_GrpcJwtAuth()
    {
        var server = await StartAppWithJwtBearerAsync(jwtBearerIsDefault: true);
        using var rest = RestClient(server);
        var grpcJwtAuthOnly = Token();
        var jwtBearerOnly = JwtBearerOnlyToken();

        using var byJwtBearer = await GetAsync(rest, "/reports/mine", jwtBearerOnly);
        using var refused = await GetAsync(rest, "/reports/mine", grpcJwtAuthOnly);
        using var byGrpcJwtAuth = await GetAsync(rest, "/reports/grpcjwtauth", grpcJwtAuthOnly);
        var attributed = await CallAttributedAsync(server, "Default", Auth.Bearer(grpcJwtAuthOnly));
        var gated = await server.Probe.CallAdminAsync(Auth.Bearer(grpcJwtAuthOnly));
        await Rejection.AssertAsync(
            () => CallAttributedAsync(server, "Default", Auth.Bearer(jwtBearerOnly)), StatusCode.Unauthenticated, Details.KeyNotFound, jwtBearerOnly);

        Assert.Equal(HttpStatusCode.OK, byJwtBearer.StatusCode);
        Assert.Equal($"{JwtBearerDefaults.AuthenticationScheme} dave", await byJwtBearer.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer", Assert.Single(refused.Headers.WwwAuthenticate).Scheme);
        Assert.Equal(HttpStatusCode.OK, byGrpcJwtAuth.StatusCode);
        Assert.Equal($"{GrpcJwtAuthDefaults.AuthenticationScheme} carol", await byGrpcJwtAuth.Content.ReadAsStringAsync());
        Assert.Equal("carol", attributed.Subject);
        Assert.Equal("carol", gated.Subject);
    }

    [Fact]
    public async Task With_JwtBearer_a_second_scheme_without_a_default_gRPC_methods_still_authenticate_with_GrpcJwtAuth()
    {
        var server = await StartAppWithJwtBearerAsync(jwtBearerIsDefault: false);
        using var rest = RestClient(server);
        var grpcJwtAuthOnly = Token("admin");

        var attributed = await CallAttributedAsync(server, "AdminOnly", Auth.Bearer(grpcJwtAuthOnly));
        var gated = await server.Probe.CallAdminAsync(Auth.Bearer(grpcJwtAuthOnly));
        await Rejection.AssertAsync(() => CallAttributedAsync(server, "Default", Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        using var byGrpcJwtAuth = await GetAsync(rest, "/reports/grpcjwtauth", grpcJwtAuthOnly);
        using var byJwtBearer = await GetAsync(rest, "/reports/jwtbearer", JwtBearerOnlyToken());

        Assert.True(attributed.IsInRoleAdmin);
        Assert.Equal("carol", gated.Subject);
        Assert.Equal($"{GrpcJwtAuthDefaults.AuthenticationScheme} carol", await byGrpcJwtAuth.Content.ReadAsStringAsync());
        Assert.Equal($"{JwtBearerDefaults.AuthenticationScheme} dave", await byJwtBearer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task gRPC_method_naming_the_JwtBearer_scheme_is_authenticated_by_JwtBearer_and_refused_with_a_gRPC_status()
    {
        var server = await StartAppWithJwtBearerAsync(
            jwtBearerIsDefault: false,
            probe => probe.RequireAuthorization(new AuthorizeAttribute { AuthenticationSchemes = JwtBearerDefaults.AuthenticationScheme }));
        using var rest = RestClient(server);
        var grpcJwtAuthOnly = Token();

        var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(JwtBearerOnlyToken()));
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Probe.CallUnaryAsync(Auth.Bearer(grpcJwtAuthOnly)));
        using var raw = await PostGrpcAsync(rest, "/test.Probe/Unary", grpcJwtAuthOnly);

        // JwtBearer's principal: authenticated, but no GrpcJwtAuth caller behind it.
        Assert.True(reply.PrincipalAuthenticated);
        Assert.Equal(string.Empty, reply.Subject);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Rejection.AssertNotQuoted(refused, grpcJwtAuthOnly);
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Empty(raw.Headers.WwwAuthenticate);
        Assert.Equal("16", (await GrpcStatusOfAsync(raw)).Status);
        Assert.Equal(1, server.Entries["Unary"]);
    }

    private Task<GrpcTestServer> StartAppWithControllersAsync() => StartServerAsync(
        TestKeys.StaticOptions(TestKeys.Primary),
        configureBuilder: builder => builder.Services.AddControllers().AddApplicationPart(typeof(ReportsController).Assembly),
        configureApp: app => app.MapControllers());

    /// <summary>GrpcJwtAuth trusts <see cref="TestKeys.Primary"/>; JwtBearer, with the same issuer and audience, <see cref="TestKeys.Next"/>.</summary>
    private Task<GrpcTestServer> StartAppWithJwtBearerAsync(
        bool jwtBearerIsDefault, Action<GrpcServiceEndpointConventionBuilder>? probeConventions = null) => StartServerAsync(
        TestKeys.StaticOptions(TestKeys.Primary),
        probeConventions: probeConventions,
        configureBuilder: builder =>
        {
            var authentication = jwtBearerIsDefault
                ? builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
                : builder.Services.AddAuthentication();
            authentication.AddJwtBearer(options =>
            {
                options.MapInboundClaims = false;
                options.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = TestTokenFactory.DefaultIssuer,
                    ValidAudience = TestTokenFactory.DefaultAudience,
                    IssuerSigningKey = TestKeys.Next.PublicKey,
                    NameClaimType = "sub",
                    RoleClaimType = "roles",
                };
            });
            builder.Services.AddControllers().AddApplicationPart(typeof(ReportsController).Assembly);
        },
        configureApp: app => app.MapControllers());

    private static Task<ProbeReply> CallAttributedAsync(GrpcTestServer server, string method, CallOptions options)
    {
        var request = new ProbeRequest { Name = method };
        var call = method switch
        {
            "Default" => server.Attributed.DefaultAsync(request, options),
            "Anonymous" => server.Attributed.AnonymousAsync(request, options),
            "AdminOnly" => server.Attributed.AdminOnlyAsync(request, options),
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };
        return call.ResponseAsync.DefaultTimeout();
    }

    /// <summary>A client trusting this server's certificate only.</summary>
    private static HttpClient RestClient(GrpcTestServer server) => new(server.Certificate.CreatePinnedHandler(), disposeHandler: true)
    {
        BaseAddress = server.Address,
        Timeout = TestTimeout.Default,
    };

    /// <summary>HTTP/2 exactly: the server speaks nothing else (a request's own version wins over the client's default).</summary>
    private static HttpRequestMessage Http2(HttpRequestMessage request)
    {
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        return request;
    }

    private static Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string? token)
    {
        var request = Http2(new HttpRequestMessage(HttpMethod.Get, path));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client.SendAsync(request).DefaultTimeout();
    }

    /// <summary>A unary gRPC call written by hand (one empty message), to see the HTTP response itself.</summary>
    private static Task<HttpResponseMessage> PostGrpcAsync(HttpClient client, string path, string? token)
    {
        var message = new ByteArrayContent(new byte[5]);
        message.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        var request = Http2(new HttpRequestMessage(HttpMethod.Post, path) { Content = message });
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client.SendAsync(request).DefaultTimeout();
    }

    /// <summary>grpc-status and grpc-message, from the headers (trailers-only) or the trailers.</summary>
    private static async Task<(string Status, string? Message)> GrpcStatusOfAsync(HttpResponseMessage response)
    {
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        foreach (var headers in new HttpHeaders[] { response.Headers, response.TrailingHeaders })
        {
            if (headers.TryGetValues("grpc-status", out var status))
            {
                var message = headers.TryGetValues("grpc-message", out var messages) ? Uri.UnescapeDataString(messages.Single()) : null;
                return (status.Single(), message);
            }
        }

        throw new Xunit.Sdk.XunitException($"HTTP {(int)response.StatusCode} without grpc-status: not a gRPC answer.");
    }

    /// <summary>An app's interceptor that authenticates the call through ASP.NET Core and records what it got.</summary>
    private sealed class AuthenticatingInterceptor : Grpc.Core.Interceptors.Interceptor
    {
        public List<string> Seen { get; } = [];

        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            var result = await Microsoft.AspNetCore.Authentication.AuthenticationHttpContextExtensions.AuthenticateAsync(context.GetHttpContext());
            lock (Seen)
            {
                Seen.Add($"{result.Ticket?.AuthenticationScheme} {result.Principal?.FindFirst("sub")?.Value}");
            }

            return await continuation(request, context);
        }
    }

    /// <summary>A scheme that answers one path itself, as a remote sign-in scheme answers its callback.</summary>
    private sealed class CallbackHandler(
        Microsoft.Extensions.Options.IOptionsMonitor<AuthenticationSchemeOptions> options,
        Microsoft.Extensions.Logging.ILoggerFactory logger,
        System.Text.Encodings.Web.UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder), IAuthenticationRequestHandler
    {
        public const string Path = "/signin-callback";

        public async Task<bool> HandleRequestAsync()
        {
            if (Request.Path != Path)
            {
                return false;
            }

            await Response.WriteAsync("handled by the callback scheme");
            return true;
        }

        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }

    private sealed class CountedRequirement : IAuthorizationRequirement;

    /// <summary>Counts its evaluations; succeeds for any authenticated caller.</summary>
    private sealed class CountingHandler : AuthorizationHandler<CountedRequirement>
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, CountedRequirement requirement)
        {
            Interlocked.Increment(ref _count);
            if (context.User.Identity?.IsAuthenticated == true)
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }
}
