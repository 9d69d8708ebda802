using System.Security.Claims;
using System.Text.Encodings.Web;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Services;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// What GrpcJwtAuth takes for granted in ASP.NET Core and grpc-dotnet, each checked on its own so that an upgrade
/// that changes it fails here, with a message naming the change and the GrpcJwtAuth code that depends on it, instead of
/// somewhere far away. (grpc-dotnet's "unimplemented" catch-all route parameter, which UnknownMethodMatcherPolicy
/// recognises, is checked by <see cref="UnknownMethodTests.Grpc_dotnet_still_maps_the_catch_alls_GrpcJwtAuth_guards"/>.)
/// </summary>
public class FrameworkContractTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static string Token(params string[] roles) =>
        Tokens.Create(TestKeys.Primary, subject: "carol", claims: roles.Length == 0 ? null : new Dictionary<string, object> { ["roles"] = roles });

    /// <summary>The services of an app that calls <c>AddAuthentication()</c> after <c>AddGrpcJwtAuth()</c>.</summary>
    private static ServiceProvider ProviderWithAddAuthenticationAfterGrpcJwtAuth()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddGrpc();
        services.AddGrpcJwtAuth(TestKeys.StaticOptions(TestKeys.Primary));
        services.AddAuthentication();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// <paramref name="calls"/> authenticated calls, one after the other on one connection, to a server whose
    /// authentication middleware authenticates gRPC calls, and what <paramref name="observe"/> saw of each request after
    /// the middleware WebApplication inserts, before the endpoint.
    /// </summary>
    private async Task<List<T>> ObserveAfterAuthenticationAsync<T>(Func<Microsoft.AspNetCore.Http.HttpContext, T> observe, int calls = 1)
    {
        var seen = new List<T>();
        var server = await StartServerAsync(
            options =>
            {
                TestKeys.StaticOptions(TestKeys.Primary)(options);
                options.MiddlewareAuthenticatesGrpcCalls = true;
            },
            configureApp: app => app.Use((context, next) =>
            {
                lock (seen)
                {
                    seen.Add(observe(context));
                }

                return next(context);
            }));

        var metadata = Auth.Bearer(Token());
        for (var i = 0; i < calls; i++)
        {
            await server.Probe.CallUnaryAsync(metadata);
        }

        return seen;
    }

    [Fact]
    public async Task WebApplication_inserts_the_authentication_middleware_by_itself_and_it_authenticates_gRPC_calls_with_the_only_scheme()
    {
        var seen = await ObserveAfterAuthenticationAsync(context =>
        {
            var result = context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult;
            return $"{result?.Ticket?.AuthenticationScheme ?? "(none)"} same-user={ReferenceEquals(result?.Principal, context.User)}";
        });

        Contract(
            seen.SequenceEqual([$"{GrpcJwtAuthDefaults.AuthenticationScheme} same-user=True"]),
            $"Before the gRPC endpoint ran, the request showed [{string.Join(", ", seen)}] instead of a ticket of the GrpcJwtAuth scheme set as User. "
            + "WebApplication no longer inserts UseAuthentication() when IAuthenticationSchemeProvider is registered, or the only scheme is no "
            + "longer the default, or AuthenticationMiddleware no longer publishes IAuthenticateResultFeature. GrpcJwtAuth relies on all three: "
            + "with MiddlewareAuthenticatesGrpcCalls, GrpcJwtAuth authenticates there once per request, CallAuthorizer.AuthenticateAsync "
            + "reuses that outcome and takes the transformed principal from IAuthenticateResultFeature; without it every gRPC call is "
            + "validated by the interceptor instead, and middleware after UseAuthentication() no longer sees the caller.");
    }

    [Fact]
    public async Task AuthenticationMiddleware_publishes_the_user_and_the_authenticate_result_as_one_feature_object()
    {
        var seen = await ObserveAfterAuthenticationAsync(context =>
        {
            var user = context.Features.Get<IHttpAuthenticationFeature>();
            return user is not null && ReferenceEquals(user, context.Features.Get<IAuthenticateResultFeature>());
        });

        Contract(
            seen.SequenceEqual([true]),
            "After AuthenticationMiddleware authenticated a request, IHttpAuthenticationFeature and IAuthenticateResultFeature are no "
            + "longer one object. CallAuthorizer.SetUser recognises a request another scheme authenticated by its user feature also being "
            + "the authenticate result feature (a lookup of IAuthenticateResultFeature itself searches the request's and the connection's "
            + "extra features), and then sets User through it so ASP.NET Core clears the stale result.");
    }

    [Fact]
    public async Task Kestrel_gives_a_repeated_authorization_header_on_one_connection_the_string_it_gave_before()
    {
        var headers = await ObserveAfterAuthenticationAsync(context => context.Request.Headers.Authorization.ToString(), calls: 5);

        var reused = Enumerable.Range(1, headers.Count - 1).Any(i => headers.Take(i).Any(earlier => ReferenceEquals(earlier, headers[i])));
        Contract(
            headers.Count == 5 && reused,
            "Five calls on one HTTP/2 connection with the same authorization header each got a string of their own. Kestrel used to give "
            + "a known request header arriving with the bytes of the stream's previous value that same string (ReuseHeaderValues); the "
            + "validated-token cache's recent hits (ValidatedTokenCache.TryGet by source string) are keyed by that string's identity, and "
            + "without it every cached call hashes and compares the whole token again. Nothing is wrong, only slower.");
    }

    [Fact]
    public async Task WebApplication_inserts_the_authorization_middleware_by_itself_and_it_asks_IPolicyEvaluator_then_IAuthorizationMiddlewareResultHandler()
    {
        var recorder = new List<string>();
        var server = await StartServerAsync(
            TestKeys.StaticOptions(TestKeys.Primary),
            configureBuilder: builder => WrapResultHandler(builder.Services, recorder));

        await server.Attributed.DefaultAsync(new() { Name = "ok" }, Auth.Bearer(Token())).ResponseAsync.DefaultTimeout();
        var denied = await Assert.ThrowsAsync<RpcException>(
            () => server.Attributed.AdminOnlyAsync(new() { Name = "denied" }, Auth.Bearer(Token("ops"))).ResponseAsync.DefaultTimeout());

        // Both pass the middleware: GrpcPolicyEvaluator, which the middleware resolves from the request's services, leaves
        // gRPC methods' policies to the interceptor, and the interceptor refuses the second call.
        Contract(
            recorder.SequenceEqual(["/test.Attributed/Default succeeded", "/test.Attributed/AdminOnly succeeded"]),
            $"IAuthorizationMiddlewareResultHandler saw [{string.Join(", ", recorder)}] for an allowed and a denied gRPC call. WebApplication no "
            + "longer inserts UseAuthorization() (after routing) when IAuthorizationHandlerProvider is registered, or AuthorizationMiddleware no "
            + "longer authorizes through the IPolicyEvaluator registered in DI, or no longer hands every result to "
            + "IAuthorizationMiddlewareResultHandler. GrpcJwtAuth depends on all three: GrpcPolicyEvaluator leaves a gRPC method's policy to the "
            + "interceptor (which evaluates it once, with the request message, and answers with a gRPC status), and GrpcAuthorizationResultHandler "
            + "lets gRPC calls a replaced evaluator failed go on to the interceptor.");
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
    }

    [Fact]
    public async Task The_only_registered_authentication_scheme_is_the_default_for_authenticate_challenge_and_forbid()
    {
        await using var services = GrpcJwtAuthServices();
        var schemes = services.GetRequiredService<IAuthenticationSchemeProvider>();

        var defaults = new[]
        {
            (await schemes.GetDefaultAuthenticateSchemeAsync())?.Name,
            (await schemes.GetDefaultChallengeSchemeAsync())?.Name,
            (await schemes.GetDefaultForbidSchemeAsync())?.Name,
        };

        Contract(
            defaults.All(name => name == GrpcJwtAuthDefaults.AuthenticationScheme),
            $"With GrpcJwtAuth the only scheme, the default authenticate/challenge/forbid schemes are [{string.Join(", ", defaults)}]. ASP.NET "
            + "Core no longer makes a lone scheme the default (or the app set Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme). "
            + "AddGrpcJwtAuth deliberately sets no DefaultScheme, so the authentication middleware would no longer run GrpcJwtAuthHandler and "
            + "plain [Authorize] on controllers would throw 'No authenticationScheme was specified'.");
    }

    [Fact]
    public async Task AddAuthorization_registers_only_the_framework_services_the_PolicyEvaluation_fast_path_recognises()
    {
        await using var services = GrpcJwtAuthServices();

        var service = services.GetService<IAuthorizationService>();
        var provider = services.GetService<IAuthorizationHandlerProvider>();
        var evaluator = services.GetService<IAuthorizationEvaluator>();
        var handlers = services.GetServices<IAuthorizationHandler>().ToList();

        // As UsesFrameworkDefaults tests them: "is", so ASP.NET Core's own subclasses (DefaultAuthorizationServiceImpl) count.
        Contract(
            service is DefaultAuthorizationService && provider is DefaultAuthorizationHandlerProvider && evaluator is DefaultAuthorizationEvaluator
            && handlers is [PassThroughAuthorizationHandler],
            $"AddAuthorization() + AddGrpcJwtAuth() now resolve [{service?.GetType().Name}, {provider?.GetType().Name}, {evaluator?.GetType().Name}] "
            + $"with handlers [{string.Join(", ", handlers.Select(handler => handler.GetType().Name))}]. PolicyEvaluation.UsesFrameworkDefaults "
            + "(src/GrpcJwtAuth/Authorization/PolicyEvaluation.cs) only takes its allocation-free fast path when these are "
            + "DefaultAuthorizationService, DefaultAuthorizationHandlerProvider, DefaultAuthorizationEvaluator and a lone "
            + "PassThroughAuthorizationHandler; otherwise every gRPC call goes through IAuthorizationService.");
    }

    public static TheoryData<string, bool> BuiltInRequirementCases => new()
    {
        { "DenyAnonymous: an identity with an authentication type", true },
        { "DenyAnonymous: an identity without an authentication type", false },
        { "DenyAnonymous: an unauthenticated identity, then an authenticated one", true },
        { "Roles: the caller is in one of the roles", true },
        { "Roles: the caller is in none of the roles", false },
        { "Claims: the claim type differs only in case", true },
        { "Claims: the claim value differs only in case", false },
        { "Claims: no allowed values, any value of the type", true },
        { "Name: the identity name is the same", true },
        { "Name: the identity name differs only in case", false },
    };

    [Theory]
    [MemberData(nameof(BuiltInRequirementCases))]
    public async Task ASP_NET_Core_decides_the_built_in_requirements_as_PolicyEvaluation_IsMet_mirrors_them(string name, bool expected)
    {
        var (requirement, user) = BuiltInRequirement(name);
        await using var services = GrpcJwtAuthServices();
        var authorization = services.GetRequiredService<IAuthorizationService>();

        var result = await authorization.AuthorizeAsync(user, resource: null, [requirement]);

        Contract(
            result.Succeeded == expected,
            $"ASP.NET Core's handler for {requirement.GetType().Name} now decides '{name}' as {(result.Succeeded ? "met" : "not met")}. "
            + "PolicyEvaluation.IsMet (src/GrpcJwtAuth/Authorization/PolicyEvaluation.cs) copies these handlers on its fast path and decides "
            + $"it as {(expected ? "met" : "not met")}: update it, or a gRPC method and a controller with the same policy disagree.");
    }

    [Fact]
    public async Task AddAuthentication_registers_the_no_op_claims_transformation()
    {
        await using var services = GrpcJwtAuthServices();

        var transformation = services.GetService<IClaimsTransformation>();

        Contract(
            transformation is NoopClaimsTransformation,
            $"The IClaimsTransformation of an app that registered none is now {transformation?.GetType().FullName ?? "missing"}, not "
            + "NoopClaimsTransformation. TokenAuthenticator.HasTransformation (src/GrpcJwtAuth/Authentication/TokenAuthenticator.cs) treats "
            + "anything else as the app's own transformation and runs it on every call the interceptor authenticates.");
    }

    [Fact]
    public async Task AuthenticationService_runs_the_claims_transformation_on_a_schemes_result()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, StubHandler>("stub", configureOptions: null);
        services.AddSingleton<IClaimsTransformation, AddsTransformedClaim>();
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };

        var result = await context.AuthenticateAsync("stub");

        Contract(
            result.Succeeded && result.Principal.HasClaim("transformed", "yes"),
            "AuthenticationService.AuthenticateAsync no longer applies IClaimsTransformation to a scheme's successful result. "
            + "GrpcJwtAuthHandler calls TokenAuthenticator with transform: false because the service does it (and CallAuthorizer takes that "
            + "transformed principal from IAuthenticateResultFeature): the app's transformation would be lost on every call authenticated by "
            + "the authentication middleware.");
    }

    [Fact]
    public void AddAuthorization_registers_AuthorizationMiddlewareResultHandler_by_type_with_TryAdd()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, OtherResultHandler>();

        var alone = new ServiceCollection().AddAuthorization().Where(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler)).ToList();
        services.AddAuthorization();
        var afterApps = services.Where(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler)).ToList();

        Contract(
            alone is [{ ImplementationType: var type }] && type == typeof(AuthorizationMiddlewareResultHandler),
            $"AddAuthorization() now registers IAuthorizationMiddlewareResultHandler as [{string.Join(", ", alone.Select(Describe))}]. "
            + "GrpcJwtAuthServiceCollectionExtensions.DecorateResultHandler wraps the registration it finds (type, factory or instance); a "
            + "different shape (several, keyed, or registered later by UseAuthorization) would leave controllers without ASP.NET Core's handler.");
        Contract(
            afterApps is [{ ImplementationType: var kept }] && kept == typeof(OtherResultHandler),
            $"After an existing handler, AddAuthorization() leaves [{string.Join(", ", afterApps.Select(Describe))}]: it no longer uses TryAdd. "
            + "An app calling AddAuthorization() after AddGrpcJwtAuth() would then replace GrpcAuthorizationResultHandler, and gRPC calls the "
            + "authorization middleware fails would be challenged by it instead of reaching the interceptor.");
    }

    [Fact]
    public async Task App_calling_AddAuthorization_after_AddGrpcJwtAuth_keeps_GrpcJwtAuths_result_handler_around_ASP_NET_Cores()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddGrpc();
        services.AddGrpcJwtAuth(TestKeys.StaticOptions(TestKeys.Primary));
        services.AddAuthorization();
        await using var provider = services.BuildServiceProvider();

        var handler = provider.GetRequiredService<IAuthorizationMiddlewareResultHandler>();
        var inner = handler.GetType().GetProperty("Inner")?.GetValue(handler);

        Contract(
            handler.GetType().FullName == "GrpcJwtAuth.Authorization.GrpcAuthorizationResultHandler" && inner is AuthorizationMiddlewareResultHandler,
            $"The app's IAuthorizationMiddlewareResultHandler is {handler.GetType().FullName} around {inner?.GetType().FullName ?? "nothing"}, not "
            + "GrpcJwtAuth's GrpcAuthorizationResultHandler around ASP.NET Core's AuthorizationMiddlewareResultHandler.");
    }

    [Fact]
    public async Task App_calling_AddAuthorization_after_AddGrpcJwtAuth_keeps_GrpcJwtAuths_policy_evaluator_around_ASP_NET_Cores()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddGrpc();
        services.AddGrpcJwtAuth(TestKeys.StaticOptions(TestKeys.Primary));
        services.AddAuthorization();
        await using var provider = services.BuildServiceProvider();

        var evaluator = provider.GetRequiredService<IPolicyEvaluator>();
        var inner = evaluator.GetType().GetProperty("Inner")?.GetValue(evaluator);

        Contract(
            evaluator.GetType().FullName == "GrpcJwtAuth.Authorization.GrpcPolicyEvaluator" && inner is PolicyEvaluator,
            $"The app's IPolicyEvaluator is {evaluator.GetType().FullName} around {inner?.GetType().FullName ?? "nothing"}, not GrpcJwtAuth's "
            + "GrpcPolicyEvaluator around ASP.NET Core's PolicyEvaluator: AddAuthorization() no longer registers it with TryAdd. Without "
            + "GrpcPolicyEvaluator the middleware evaluates gRPC methods' policies too, and the app's handlers run twice per call.");
    }

    [Fact]
    public async Task App_calling_AddAuthentication_after_AddGrpcJwtAuth_keeps_GrpcJwtAuths_scheme_provider_around_ASP_NET_Cores()
    {
        await using var provider = ProviderWithAddAuthenticationAfterGrpcJwtAuth();

        var schemes = provider.GetRequiredService<IAuthenticationSchemeProvider>();
        var inner = schemes.GetType().GetProperty("Inner")?.GetValue(schemes);

        Contract(
            schemes.GetType().FullName == "GrpcJwtAuth.Authentication.RequestHandlerSchemesCache"
                && inner?.GetType() == typeof(AuthenticationSchemeProvider)
                && ReferenceEquals(schemes.GetRequestHandlerSchemesAsync(), schemes.GetRequestHandlerSchemesAsync()),
            $"The app's IAuthenticationSchemeProvider is {schemes.GetType().FullName} around {inner?.GetType().FullName ?? "nothing"}, not "
            + "GrpcJwtAuth's RequestHandlerSchemesCache around ASP.NET Core's AuthenticationSchemeProvider answering with one task: "
            + "AddAuthentication() no longer registers the provider with TryAdd, or its type changed. Nothing is wrong, but every "
            + "request again allocates the task AuthenticationMiddleware asks for.");
    }

    [Fact]
    public async Task App_calling_AddAuthentication_after_AddGrpcJwtAuth_keeps_GrpcJwtAuths_authentication_service_around_ASP_NET_Cores()
    {
        await using var provider = ProviderWithAddAuthenticationAfterGrpcJwtAuth();
        await using var scope = provider.CreateAsyncScope();

        var service = scope.ServiceProvider.GetRequiredService<IAuthenticationService>();
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = scope.ServiceProvider };
        var inner = service.GetType().GetMethod("Inner")?.Invoke(null, [context]);

        Contract(
            service.GetType().FullName == "GrpcJwtAuth.Authentication.GrpcJwtAuthAuthenticationService" && inner is AuthenticationService,
            $"The app's IAuthenticationService is {service.GetType().FullName} around {inner?.GetType().FullName ?? "nothing"}, not GrpcJwtAuth's "
            + "GrpcJwtAuthAuthenticationService around ASP.NET Core's AuthenticationService: AddAuthentication() no longer registers it with "
            + "TryAdd. Tokens are still validated (through GrpcJwtAuthHandler), but every request then pays for a handler and a "
            + "transformation cache of the framework's service.");
    }

    [Fact]
    public async Task App_calling_AddAuthentication_after_AddGrpcJwtAuth_keeps_one_ASP_NET_Core_handler_provider_per_request_behind_GrpcJwtAuths()
    {
        await using var provider = ProviderWithAddAuthenticationAfterGrpcJwtAuth();
        await using var scope = provider.CreateAsyncScope();
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = scope.ServiceProvider };

        var first = scope.ServiceProvider.GetRequiredService<IAuthenticationHandlerProvider>();
        var second = scope.ServiceProvider.GetRequiredService<IAuthenticationHandlerProvider>();
        var inner = first.GetType().GetMethod("Inner")?.Invoke(null, [context]);
        var handler = await first.GetHandlerAsync(context, GrpcJwtAuthDefaults.AuthenticationScheme);

        Contract(
            first.GetType().FullName == "GrpcJwtAuth.Authentication.DeferredAuthenticationHandlerProvider" && inner is AuthenticationHandlerProvider,
            $"The app's IAuthenticationHandlerProvider is {first.GetType().FullName} around {inner?.GetType().FullName ?? "nothing"}, not GrpcJwtAuth's "
            + "DeferredAuthenticationHandlerProvider around ASP.NET Core's AuthenticationHandlerProvider: AddAuthentication() no longer "
            + "registers it with TryAdd. Tokens are still validated, but every request then creates the framework's provider.");
        Contract(
            handler is not null && ReferenceEquals(handler, await second.GetHandlerAsync(context, GrpcJwtAuthDefaults.AuthenticationScheme)),
            "Two resolutions of IAuthenticationHandlerProvider in one request no longer hand out the same handler: the request's "
            + "provider behind DeferredAuthenticationHandlerProvider is no longer one per request (scoped).");
    }

    [Fact]
    public async Task Undefined_policy_names_are_null_from_the_policy_provider_and_throw_InvalidOperationException_from_CombineAsync()
    {
        var policies = new DefaultAuthorizationPolicyProvider(Options.Create(new AuthorizationOptions()));

        var looked = await policies.GetPolicyAsync("nowhere");
        var thrown = await Record.ExceptionAsync(() => AuthorizationPolicy.CombineAsync(policies, [new AuthorizeAttribute("nowhere")]));

        Contract(
            looked is null,
            "DefaultAuthorizationPolicyProvider.GetPolicyAsync no longer returns null for an undefined name. "
            + "EndpointAuthorizationProvider.NameAsync turns null into the InvalidOperationException it catches.");
        Contract(
            thrown is InvalidOperationException,
            $"AuthorizationPolicy.CombineAsync now answers an undefined policy name with {thrown?.GetType().FullName ?? "no exception"}, not "
            + "InvalidOperationException. EndpointAuthorizationProvider.ResolveAsync catches exactly that to deny the method's calls with "
            + "PermissionDenied and log UndefinedAuthorizationPolicy; anything else escapes the interceptor as Unknown.");
    }

    [Fact]
    public async Task CombineAsync_turns_Authorize_with_only_AuthenticationSchemes_into_the_default_policy_for_those_schemes()
    {
        var policies = new DefaultAuthorizationPolicyProvider(Options.Create(new AuthorizationOptions()));

        var policy = await AuthorizationPolicy.CombineAsync(policies, [new AuthorizeAttribute { AuthenticationSchemes = "Bearer, Cookies" }]);

        Contract(
            policy is not null
            && policy.AuthenticationSchemes.SequenceEqual(["Bearer", "Cookies"])
            && policy.Requirements.SingleOrDefault() is DenyAnonymousAuthorizationRequirement,
            $"[Authorize(AuthenticationSchemes = \"Bearer, Cookies\")] now combines to schemes [{string.Join(", ", policy?.AuthenticationSchemes ?? [])}] "
            + $"and requirements [{string.Join(", ", policy?.Requirements.Select(r => r.GetType().Name) ?? [])}]. EndpointAuthorization.UsesOwnScheme "
            + "reads policy.AuthenticationSchemes to decide whether GrpcJwtAuth or ASP.NET Core's IPolicyEvaluator authenticates a call.");
    }

    [Fact]
    public async Task A_handler_that_calls_Fail_leaves_FailedRequirements_empty()
    {
        var services = new ServiceCollection().AddLogging().AddAuthorization();
        services.AddSingleton<IAuthorizationHandler, FailingHandler>();
        await using var provider = services.BuildServiceProvider();
        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "carol")], "Test"));

        var result = await provider.GetRequiredService<IAuthorizationService>().AuthorizeAsync(user, resource: null, [new FailedRequirement()]);

        Contract(
            result.Failure is { FailCalled: true } failure && !failure.FailedRequirements.Any()
            && failure.FailureReasons.Select(reason => reason.Message).SequenceEqual(["no"]),
            "After context.Fail(reason), AuthorizationFailure is now "
            + $"FailCalled={result.Failure?.FailCalled}, FailedRequirements=[{string.Join(", ", result.Failure?.FailedRequirements.Select(r => r.GetType().Name) ?? [])}], "
            + $"FailureReasons=[{string.Join(", ", result.Failure?.FailureReasons.Select(r => r.Message) ?? [])}]. PolicyEvaluation.Describe names "
            + "the failed policy from FailedRequirements, and falls back on OnlyNamedRequirement exactly because Fail() leaves it empty; "
            + "ExposeAuthorizationFailureReasons reads FailureReasons.");
    }

    [Fact]
    public void ClaimsPrincipal_Clone_keeps_the_identity_instances()
    {
        var identity = new MarkedIdentity("GrpcJwtAuth");
        var principal = new ClaimsPrincipal(identity);

        var clone = principal.Clone();

        Contract(
            clone.Identities.SequenceEqual([identity]),
            "ClaimsPrincipal.Clone() now copies its identities (or changes their type) instead of keeping them. GrpcJwtAuth's per-request "
            + "JwtCallIdentity (src/GrpcJwtAuth/Authentication/CallPrincipal.cs) copies claims on its first change because a claims "
            + "transformation's principal.Clone() shares it, and JwtCallPrincipal.CallerOf finds the caller by the identity's type: check both.");
    }

    [Fact]
    public async Task PolicyEvaluator_sets_User_to_a_principal_keeping_each_named_schemes_identity_type()
    {
        var services = new ServiceCollection().AddLogging().AddAuthorization();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, StubHandler>("stub-a", configureOptions: null)
            .AddScheme<AuthenticationSchemeOptions, StubHandler>("stub-b", configureOptions: null);
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        var one = new AuthorizationPolicyBuilder("stub-a").RequireAuthenticatedUser().Build();
        var both = new AuthorizationPolicyBuilder("stub-a", "stub-b").RequireAuthenticatedUser().Build();
        var evaluator = scope.ServiceProvider.GetRequiredService<IPolicyEvaluator>();

        var single = await evaluator.AuthenticateAsync(one, context);
        var singleUser = context.User;
        var merged = await evaluator.AuthenticateAsync(both, context);

        Contract(
            single.Ticket?.AuthenticationScheme == "stub-a" && singleUser.Identities.OfType<MarkedIdentity>().Select(i => i.Scheme).SequenceEqual(["stub-a"]),
            $"For a policy naming one scheme, IPolicyEvaluator.AuthenticateAsync now gives ticket scheme '{single.Ticket?.AuthenticationScheme}' and "
            + $"User identities [{string.Join(", ", singleUser.Identities.Select(i => i.GetType().Name))}]. CallAuthorizer matches the ticket "
            + "scheme against GrpcJwtAuth's name to take the transformed principal, and finds the caller by the JwtCallIdentity in User.");
        Contract(
            merged.Succeeded && context.User.Identities.OfType<MarkedIdentity>().Select(i => i.Scheme).Order().SequenceEqual(["stub-a", "stub-b"]),
            $"For a policy naming two schemes, IPolicyEvaluator.AuthenticateAsync now sets User to identities "
            + $"[{string.Join(", ", context.User.Identities.Select(i => i.GetType().Name))}]. CallAuthorizer.WithOtherSchemesAsync and "
            + "GetJwtCaller find GrpcJwtAuth's caller in the merged principal by its JwtCallIdentity.");
    }

    [Fact]
    public async Task Grpc_dotnet_puts_GrpcMethodMetadata_and_the_attributes_and_conventions_on_each_method_endpoint()
    {
        var server = await StartServerAsync(
            TestKeys.StaticOptions(TestKeys.Primary),
            probeConventions: probe => probe.RequireAuthorization(new AuthorizeAttribute { Roles = "ops" }));
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Where(endpoint => endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not null)
            .ToDictionary(endpoint => endpoint.Metadata.GetMetadata<GrpcMethodMetadata>()!.Method.FullName);

        string Describe(string method) => endpoints.TryGetValue(method, out var endpoint)
            ? string.Join(", ", endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(data => $"[Authorize Roles={data.Roles}]"))
                + (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null ? string.Empty : " [AllowAnonymous]")
            : "(no endpoint with this GrpcMethodMetadata)";
        var seen = new[] { Describe("/test.Attributed/AdminOnly"), Describe("/test.Attributed/Anonymous"), Describe("/test.Probe/Unary") };

        Contract(
            seen.SequenceEqual(["[Authorize Roles=], [Authorize Roles=admin]", "[Authorize Roles=] [AllowAnonymous]", "[Authorize Roles=ops]"]),
            $"grpc-dotnet's method endpoints now carry [{string.Join(" | ", seen)}]. GrpcJwtAuth finds a call's method by the endpoint's "
            + "GrpcMethodMetadata (GrpcRequests.IsGrpc, EndpointAuthorizationProvider, GrpcAuthorizationResultHandler), and its requirements "
            + "by the service's and method's attributes and MapGrpcService conventions in the endpoint metadata, in that order.");
    }

    [Fact]
    public async Task Grpc_dotnet_runs_global_interceptors_before_a_services_own()
    {
        var counter = new ServiceInterceptorCounter();
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary), configureBuilder: builder =>
        {
            builder.Services.AddSingleton(counter);
            builder.Services.AddGrpc().AddServiceOptions<ProbeService>(options => options.Interceptors.Add<CountingServiceInterceptor>());
        });

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Details.MissingToken);
        var rejectedSeen = counter.Count;
        await server.Probe.CallUnaryAsync(Auth.Bearer(Token()));

        Contract(
            rejectedSeen == 0 && counter.Count == 1,
            $"A service's own interceptor ran {rejectedSeen} time(s) for a call without token and {counter.Count - rejectedSeen} for an "
            + "allowed one. grpc-dotnet no longer runs global interceptors before service ones: ConfigureGrpcServiceOptions puts "
            + "GrpcJwtAuthInterceptor first among the global ones so that no app code sees a call before it is authorized.");
    }

    /// <summary>Services as AddGrpc() + AddGrpcJwtAuth() leave them, without a host.</summary>
    private static ServiceProvider GrpcJwtAuthServices()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddGrpc();
        services.AddGrpcJwtAuth(TestKeys.StaticOptions(TestKeys.Primary));
        return services.BuildServiceProvider();
    }

    private static void Contract(bool holds, string whatChanged) => Assert.True(holds, whatChanged);

    private static string Describe(ServiceDescriptor descriptor) =>
        descriptor.ImplementationType?.Name ?? (descriptor.ImplementationFactory is not null ? "factory" : descriptor.ImplementationInstance?.GetType().Name ?? "?");

    /// <summary>Puts a recorder in front of the app's result handler (GrpcJwtAuth's), as DecorateResultHandler does.</summary>
    private static void WrapResultHandler(IServiceCollection services, List<string> recorder)
    {
        var existing = services.Last(descriptor => descriptor.ServiceType == typeof(IAuthorizationMiddlewareResultHandler));
        services.Remove(existing);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler>(sp => new RecordingResultHandler(
            recorder,
            existing.ImplementationFactory is { } factory
                ? (IAuthorizationMiddlewareResultHandler)factory(sp)
                : (IAuthorizationMiddlewareResultHandler?)existing.ImplementationInstance
                    ?? (IAuthorizationMiddlewareResultHandler)ActivatorUtilities.CreateInstance(sp, existing.ImplementationType!)));
    }

    private static (IAuthorizationRequirement Requirement, ClaimsPrincipal User) BuiltInRequirement(string name)
    {
        static ClaimsPrincipal User(string? authenticationType, params Claim[] claims) =>
            new(new ClaimsIdentity(claims, authenticationType, "name", ClaimTypes.Role));

        return name switch
        {
            "DenyAnonymous: an identity with an authentication type" => (new DenyAnonymousAuthorizationRequirement(), User("Bearer")),
            "DenyAnonymous: an identity without an authentication type" => (new DenyAnonymousAuthorizationRequirement(), User(null, new Claim("sub", "x"))),
            "DenyAnonymous: an unauthenticated identity, then an authenticated one" => (
                new DenyAnonymousAuthorizationRequirement(),
                new ClaimsPrincipal([new ClaimsIdentity(), new ClaimsIdentity("Bearer")])),
            "Roles: the caller is in one of the roles" => (
                new RolesAuthorizationRequirement(["admin", "ops"]), User("Bearer", new Claim(ClaimTypes.Role, "ops"))),
            "Roles: the caller is in none of the roles" => (
                new RolesAuthorizationRequirement(["admin"]), User("Bearer", new Claim(ClaimTypes.Role, "Admin"))),
            "Claims: the claim type differs only in case" => (
                new ClaimsAuthorizationRequirement("dept", ["Sales"]), User("Bearer", new Claim("Dept", "Sales"))),
            "Claims: the claim value differs only in case" => (
                new ClaimsAuthorizationRequirement("dept", ["sales"]), User("Bearer", new Claim("dept", "Sales"))),
            "Claims: no allowed values, any value of the type" => (
                new ClaimsAuthorizationRequirement("dept", allowedValues: null), User("Bearer", new Claim("dept", "anything"))),
            "Name: the identity name is the same" => (new NameAuthorizationRequirement("Carol"), User("Bearer", new Claim("name", "Carol"))),
            "Name: the identity name differs only in case" => (new NameAuthorizationRequirement("carol"), User("Bearer", new Claim("name", "Carol"))),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    private sealed class RecordingResultHandler(List<string> recorder, IAuthorizationMiddlewareResultHandler inner) : IAuthorizationMiddlewareResultHandler
    {
        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName ?? "(no gRPC method endpoint)";
            lock (recorder)
            {
                recorder.Add($"{method} {(authorizeResult.Succeeded ? "succeeded" : "failed")}");
            }

            return inner.HandleAsync(next, context, policy, authorizeResult);
        }
    }

    private sealed class OtherResultHandler : IAuthorizationMiddlewareResultHandler
    {
        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult) =>
            next(context);
    }

    private sealed class MarkedIdentity(string scheme) : ClaimsIdentity([new Claim("sub", scheme)], scheme)
    {
        public string Scheme { get; } = scheme;
    }

    /// <summary>Authenticates every request with a <see cref="MarkedIdentity"/> of its scheme.</summary>
    private sealed class StubHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new MarkedIdentity(Scheme.Name)), Scheme.Name)));
    }

    private sealed class AddsTransformedClaim : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            var copy = new ClaimsPrincipal(principal.Identities.Select(identity => identity.Clone()));
            copy.Identities.First().AddClaim(new Claim("transformed", "yes"));
            return Task.FromResult(copy);
        }
    }

    private sealed class FailedRequirement : IAuthorizationRequirement;

    private sealed class FailingHandler : AuthorizationHandler<FailedRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, FailedRequirement requirement)
        {
            context.Fail(new AuthorizationFailureReason(this, "no"));
            return Task.CompletedTask;
        }
    }

    private sealed class ServiceInterceptorCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Increment() => Interlocked.Increment(ref _count);
    }

    private sealed class CountingServiceInterceptor(ServiceInterceptorCounter counter) : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            counter.Increment();
            return continuation(request, context);
        }
    }
}
