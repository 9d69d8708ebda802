using Grpc.AspNetCore.Server;
using GrpcJwtAuth;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Streams;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers GrpcJwtAuth in an ASP.NET Core gRPC server.</summary>
public static class GrpcJwtAuthServiceCollectionExtensions
{
    /// <summary>
    /// Gates every gRPC method of every service behind JWT bearer authentication and the configured rules, with
    /// options bound from the <c>GrpcJwtAuth</c> configuration section and validated at startup.
    /// </summary>
    public static GrpcJwtAuthBuilder AddGrpcJwtAuth(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        var backchannel = services.AddHttpClient(GrpcJwtAuthDefaults.BackchannelHttpClientName);
        if (services.Any(descriptor => descriptor.ServiceType == typeof(GrpcJwtAuthMarker)))
        {
            return new GrpcJwtAuthBuilder(services, backchannel);
        }

        services.AddSingleton<GrpcJwtAuthMarker>();

        // Bound once: binding twice would append every list twice.
        services.AddOptions<GrpcJwtAuthOptions>()
            .BindConfiguration(GrpcJwtAuthOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrpcJwtAuthOptions>, GrpcJwtAuthOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<Metrics>();
        services.TryAddSingleton<RejectionBursts>();
        services.TryAddSingleton(static sp => CompiledAuthOptions.Create(
            sp.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value,
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(static sp => TrustedIssuers.Create(
            sp.GetRequiredService<CompiledAuthOptions>(),
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<Metrics>()));
        services.TryAddSingleton<JwtTokenValidator>();
        services.TryAddSingleton<ValidatedTokenCache>();
        services.TryAddSingleton<TokenAuthenticator>();
        services.TryAddSingleton<EndpointAuthorizationProvider>();
        services.TryAddSingleton<CallAuthorizer>();
        services.TryAddSingleton<GrpcJwtAuthInterceptor>();
        services.TryAddSingleton<RenewableStreams>();

        // ASP.NET Core's authentication and authorization, with GrpcJwtAuth as a scheme: the middleware WebApplication
        // adds then finds what it needs, and [Authorize] on controllers can use the same tokens.
        services.AddAuthentication(options => options.AddScheme(
            GrpcJwtAuthDefaults.AuthenticationScheme, scheme => scheme.HandlerType = typeof(GrpcJwtAuthHandler)));
        services.TryAddTransient<GrpcJwtAuthHandler>();
        DecorateSchemeProvider(services);
        DecorateAuthenticationService(services);
        DecorateHandlerProvider(services);
        services.AddAuthorization();
        DecorateResultHandler(services);
        DecoratePolicyEvaluator(services);

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, KeyRefreshHostedService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RuleCoverageCheck>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<GrpcServiceOptions>, ConfigureGrpcServiceOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, UnknownMethodMatcherPolicy>());

        return new GrpcJwtAuthBuilder(services, backchannel);
    }

    /// <summary>
    /// Like <see cref="AddGrpcJwtAuth(IServiceCollection)"/>, then applies <paramref name="configure"/> after the
    /// configuration section is bound, so values set in code win.
    /// </summary>
    public static GrpcJwtAuthBuilder AddGrpcJwtAuth(this IServiceCollection services, Action<GrpcJwtAuthOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        var builder = services.AddGrpcJwtAuth();
        services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Puts <see cref="GrpcAuthorizationResultHandler"/> in front of the app's <see cref="IAuthorizationMiddlewareResultHandler"/>:
    /// gRPC requests get gRPC statuses, every other request what it got before.
    /// </summary>
    private static void DecorateResultHandler(IServiceCollection services)
    {
        var (inner, _) = ServiceDecoration.Take(
            services, typeof(IAuthorizationMiddlewareResultHandler), typeof(AuthorizationMiddlewareResultHandler), ServiceLifetime.Singleton);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler>(sp => new GrpcAuthorizationResultHandler(
            (IAuthorizationMiddlewareResultHandler)inner(sp), sp.GetRequiredService<IOptions<GrpcServiceOptions>>()));
    }

    /// <summary>Puts <see cref="GrpcPolicyEvaluator"/> in front of the app's <see cref="IPolicyEvaluator"/>, with the lifetime the app's has.</summary>
    private static void DecoratePolicyEvaluator(IServiceCollection services)
    {
        var (inner, lifetime) = ServiceDecoration.Take(services, typeof(IPolicyEvaluator), typeof(PolicyEvaluator), ServiceLifetime.Transient);
        services.Add(ServiceDescriptor.Describe(
            typeof(IPolicyEvaluator),
            sp => new GrpcPolicyEvaluator((IPolicyEvaluator)inner(sp), sp.GetRequiredService<IOptions<GrpcServiceOptions>>()),
            lifetime));
    }

    /// <summary>
    /// Puts <see cref="RequestHandlerSchemesCache"/> in front of the app's <see cref="IAuthenticationSchemeProvider"/>,
    /// with the lifetime the app's has.
    /// </summary>
    private static void DecorateSchemeProvider(IServiceCollection services)
    {
        var (inner, lifetime) = ServiceDecoration.Take(
            services, typeof(IAuthenticationSchemeProvider), typeof(AuthenticationSchemeProvider), ServiceLifetime.Singleton);
        services.Add(ServiceDescriptor.Describe(
            typeof(IAuthenticationSchemeProvider), sp => new RequestHandlerSchemesCache((IAuthenticationSchemeProvider)inner(sp)), lifetime));
    }

    /// <summary>
    /// Puts <see cref="GrpcJwtAuthAuthenticationService"/> in front of the app's <see cref="IAuthenticationService"/>.
    /// The app's stays what it was (scoped by default, one per request) under a private key, resolved only when a
    /// request needs it; the decorator is a singleton, so resolving it costs a request nothing.
    /// </summary>
    private static void DecorateAuthenticationService(IServiceCollection services)
    {
        ServiceDecoration.MoveUnderKey(
            services, typeof(IAuthenticationService), InnerServiceKey, typeof(AuthenticationService), ServiceLifetime.Scoped);

        services.AddSingleton<IAuthenticationService, GrpcJwtAuthAuthenticationService>();
    }

    /// <summary>
    /// Puts <see cref="DeferredAuthenticationHandlerProvider"/> in front of the app's <see cref="IAuthenticationHandlerProvider"/>,
    /// which stays what it was (scoped by default) under a private key and is created only when a handler is asked for.
    /// </summary>
    private static void DecorateHandlerProvider(IServiceCollection services)
    {
        ServiceDecoration.MoveUnderKey(
            services, typeof(IAuthenticationHandlerProvider), InnerServiceKey, typeof(AuthenticationHandlerProvider), ServiceLifetime.Scoped);
        services.AddSingleton<IAuthenticationHandlerProvider, DeferredAuthenticationHandlerProvider>();
    }

    /// <summary>
    /// The key the app's own <see cref="IAuthenticationService"/> and <see cref="IAuthenticationHandlerProvider"/> are
    /// registered under, behind GrpcJwtAuth's.
    /// </summary>
    internal static readonly object InnerServiceKey = new();

    private sealed class GrpcJwtAuthMarker;
}
