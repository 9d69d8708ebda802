using System.Diagnostics.Metrics;
using Grpc.Net.ClientFactory;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Client.Sources;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers token sources and attaches tokens to clients made by the gRPC client factory.</summary>
public static class JwtCallCredentialsServiceCollectionExtensions
{
    /// <summary>
    /// The named <see cref="HttpClient"/> that talks to token endpoints and discovery documents. Its request logging is
    /// removed: Microsoft.Extensions.Http hands header values, the client's Basic credentials among them, unredacted to
    /// structured log sinks.
    /// </summary>
    public const string TokenEndpointHttpClientName = "GrpcJwtAuth.Client.TokenEndpoint";

    /// <summary>
    /// Every call of this gRPC client carries a token from the <see cref="IAccessTokenProvider"/> registered in DI;
    /// a unary call failing with <c>Unauthenticated</c> is retried once with a new token.
    /// </summary>
    public static IHttpClientBuilder AddJwtCallCredentials(this IHttpClientBuilder builder) =>
        builder.AddJwtCallCredentials(static services => services.GetRequiredService<IAccessTokenProvider>(), configure: null);

    /// <summary>Like <see cref="AddJwtCallCredentials(IHttpClientBuilder)"/>, with settings.</summary>
    public static IHttpClientBuilder AddJwtCallCredentials(this IHttpClientBuilder builder, Action<JwtCallCredentialsOptions>? configure) =>
        builder.AddJwtCallCredentials(static services => services.GetRequiredService<IAccessTokenProvider>(), configure);

    /// <summary>
    /// Every call of this gRPC client carries a token from the token client registered as <paramref name="clientName"/>
    /// (<see cref="AddClientCredentialsTokenProvider(IServiceCollection, string, Action{ClientCredentialsOptions}?, Action{TokenCacheOptions}?)"/>
    /// and its siblings); a unary call failing with <c>Unauthenticated</c> is retried once with a new token.
    /// </summary>
    public static IHttpClientBuilder AddJwtCallCredentials(this IHttpClientBuilder builder, string clientName) =>
        builder.AddJwtCallCredentials(clientName, configure: null);

    /// <summary>Like <see cref="AddJwtCallCredentials(IHttpClientBuilder, string)"/>, with settings.</summary>
    public static IHttpClientBuilder AddJwtCallCredentials(this IHttpClientBuilder builder, string clientName, Action<JwtCallCredentialsOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientName);
        return builder.AddJwtCallCredentials(
            services => services.GetKeyedService<IAccessTokenProvider>(clientName) ?? throw new InvalidOperationException(
                $"No token client named '{clientName}' is registered. Register it with AddClientCredentialsTokenProvider(\"{clientName}\") " +
                $"(settings in {NamedTokenClients.Section(clientName)}), AddSelfSignedTokenProvider or AddAccessTokenProvider with that name."),
            configure);
    }

    /// <summary>
    /// Every call of this gRPC client carries a token from the provider <paramref name="providerFactory"/> returns.
    /// </summary>
    public static IHttpClientBuilder AddJwtCallCredentials(this IHttpClientBuilder builder, Func<IServiceProvider, IAccessTokenProvider> providerFactory) =>
        builder.AddJwtCallCredentials(providerFactory, configure: null);

    /// <summary>
    /// Every call of this gRPC client carries a token from the provider <paramref name="providerFactory"/> returns;
    /// a unary call failing with <c>Unauthenticated</c> is retried once with a new token.
    /// </summary>
    public static IHttpClientBuilder AddJwtCallCredentials(
        this IHttpClientBuilder builder,
        Func<IServiceProvider, IAccessTokenProvider> providerFactory,
        Action<JwtCallCredentialsOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(providerFactory);

        var settings = new JwtCallCredentialsOptions();
        configure?.Invoke(settings);

        var name = builder.Name;
        builder.AddInterceptor(InterceptorScope.Channel, services => new JwtCallCredentialsInterceptor(
            providerFactory(services),
            settings,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JwtCallCredentialsInterceptor).FullName!),
            RenewalChannel.For(services, name),
            services.GetService<TimeProvider>()));

        if (settings.UnsafeAllowInsecureChannel)
        {
            builder.ConfigureChannel(channel => channel.UnsafeUseInsecureChannelCallCredentials = true);
        }

        // The default HTTP loggers would hand the authorization header to structured sinks: log without headers.
        var category = $"System.Net.Http.HttpClient.{builder.Name}.ClientHandler";
        builder.RemoveAllLoggers().AddLogger(
            services => new HeaderFreeHttpClientLogger(services.GetRequiredService<ILoggerFactory>().CreateLogger(category)));

        return builder;
    }

    /// <summary>
    /// Registers the <see cref="IAccessTokenProvider"/> that gets tokens with the OAuth 2.0 client credentials grant and
    /// caches them: the one <see cref="AddJwtCallCredentials(IHttpClientBuilder)"/> uses. The token endpoint is
    /// reached through the named client <see cref="TokenEndpointHttpClientName"/>. For more than one client, register
    /// each by name.
    /// </summary>
    /// <exception cref="InvalidOperationException">An unnamed <see cref="IAccessTokenProvider"/> is already registered.</exception>
    public static IServiceCollection AddClientCredentialsTokenProvider(this IServiceCollection services, Action<ClientCredentialsOptions> configure) =>
        services.AddClientCredentialsTokenProvider(configure, configureCache: null);

    /// <summary>Like <see cref="AddClientCredentialsTokenProvider(IServiceCollection, Action{ClientCredentialsOptions})"/>, with cache settings.</summary>
    public static IServiceCollection AddClientCredentialsTokenProvider(
        this IServiceCollection services,
        Action<ClientCredentialsOptions> configure,
        Action<TokenCacheOptions>? configureCache)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        var options = new ClientCredentialsOptions();
        configure(options);
        services.AddHttpClient(TokenEndpointHttpClientName).RemoveAllLoggers();
        return services.AddCachedTokenProvider(
            sp => new ClientCredentialsTokenProvider(
                () => sp.GetRequiredService<IHttpClientFactory>().CreateClient(TokenEndpointHttpClientName),
                options,
                sp.GetService<TimeProvider>(),
                "ClientCredentialsOptions."),
            configureCache);
    }

    /// <summary>
    /// Registers the client credentials token client <paramref name="name"/>, for
    /// <see cref="AddJwtCallCredentials(IHttpClientBuilder, string, Action{JwtCallCredentialsOptions}?)"/> (and as the keyed
    /// service <see cref="IAccessTokenProvider"/> <paramref name="name"/>). Its settings are bound from
    /// <c>GrpcJwtAuth:Clients:&lt;name&gt;</c> (cache settings from <c>…:Cache</c>) when the app has an
    /// <c>IConfiguration</c>; they are checked when the host starts, every
    /// problem named by its key. The token endpoint is reached through the named client
    /// <c>GrpcJwtAuth.Client.TokenEndpoint.&lt;name&gt;</c> (or <see cref="OAuthClientOptions.HttpClientName"/>), which
    /// presents the client certificate for <see cref="ClientAuthenticationMethod.TlsClientCertificate"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A token client of that name is already registered.</exception>
    public static IServiceCollection AddClientCredentialsTokenProvider(this IServiceCollection services, string name) =>
        services.AddClientCredentialsTokenProvider(name, configure: null, configureCache: null);

    /// <summary>
    /// Like <see cref="AddClientCredentialsTokenProvider(IServiceCollection, string)"/>; <paramref name="configure"/>
    /// runs after the settings are bound.
    /// </summary>
    public static IServiceCollection AddClientCredentialsTokenProvider(this IServiceCollection services, string name, Action<ClientCredentialsOptions>? configure) =>
        services.AddClientCredentialsTokenProvider(name, configure, configureCache: null);

    /// <summary>
    /// Like <see cref="AddClientCredentialsTokenProvider(IServiceCollection, string)"/>; <paramref name="configure"/> and
    /// <paramref name="configureCache"/> run after the settings are bound.
    /// </summary>
    public static IServiceCollection AddClientCredentialsTokenProvider(
        this IServiceCollection services,
        string name,
        Action<ClientCredentialsOptions>? configure,
        Action<TokenCacheOptions>? configureCache)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        EnsureNameIsFree<IAccessTokenProvider>(services, name, "token client");

        NamedTokenClients.AddOptions(services, name, configure, configureCache);
        services.AddKeyedSingleton<IAccessTokenProvider>(name, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<ClientCredentialsOptions>>().Get(name);
            var httpClientName = options.HttpClientName ?? NamedTokenClients.HttpClientName(name);
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return CreateCache(
                sp,
                new ClientCredentialsTokenProvider(() => factory.CreateClient(httpClientName), options, sp.GetService<TimeProvider>(), NamedTokenClients.Prefix(name)),
                sp.GetRequiredService<IOptionsMonitor<TokenCacheOptions>>().Get(name));
        });
        return services;
    }

    /// <summary>
    /// Registers the token exchange client <paramref name="name"/> (RFC 8693), as the keyed service
    /// <see cref="TokenExchangeClient"/> <paramref name="name"/>: settings bound from <c>GrpcJwtAuth:Clients:&lt;name&gt;</c>
    /// and checked when the host starts, like a client credentials client. A server that runs <c>AddGrpcJwtAuth()</c>
    /// uses it with <c>AddCallerTokenExchange(name)</c> to call downstream services on behalf of its callers.
    /// </summary>
    /// <exception cref="InvalidOperationException">A token exchange client of that name is already registered.</exception>
    public static IServiceCollection AddTokenExchangeClient(this IServiceCollection services, string name) =>
        services.AddTokenExchangeClient(name, configure: null);

    /// <summary>
    /// Like <see cref="AddTokenExchangeClient(IServiceCollection, string)"/>; <paramref name="configure"/> runs after the
    /// settings are bound.
    /// </summary>
    public static IServiceCollection AddTokenExchangeClient(this IServiceCollection services, string name, Action<TokenExchangeOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        EnsureNameIsFree<TokenExchangeClient>(services, name, "token exchange client");

        NamedTokenClients.AddOptions(services, name, configure, configureCache: null);
        services.AddKeyedSingleton(name, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<TokenExchangeOptions>>().Get(name);
            var httpClientName = options.HttpClientName ?? NamedTokenClients.HttpClientName(name);
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new TokenExchangeClient(() => factory.CreateClient(httpClientName), options, sp.GetService<TimeProvider>(), NamedTokenClients.Prefix(name));
        });
        return services;
    }

    /// <summary>Registers an <see cref="IAccessTokenProvider"/> that mints and caches its own signed tokens.</summary>
    /// <exception cref="InvalidOperationException">An unnamed <see cref="IAccessTokenProvider"/> is already registered.</exception>
    public static IServiceCollection AddSelfSignedTokenProvider(this IServiceCollection services, Action<SelfSignedTokenOptions> configure) =>
        services.AddSelfSignedTokenProvider(configure, configureCache: null);

    /// <summary>Like <see cref="AddSelfSignedTokenProvider(IServiceCollection, Action{SelfSignedTokenOptions})"/>, with cache settings.</summary>
    public static IServiceCollection AddSelfSignedTokenProvider(
        this IServiceCollection services,
        Action<SelfSignedTokenOptions> configure,
        Action<TokenCacheOptions>? configureCache)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        var options = new SelfSignedTokenOptions();
        configure(options);
        return services.AddCachedTokenProvider(sp => new SelfSignedTokenProvider(options, sp.GetService<TimeProvider>()), configureCache);
    }

    /// <summary>
    /// Registers token client <paramref name="name"/> that mints and caches its own signed tokens (cache settings bound
    /// from <c>GrpcJwtAuth:Clients:&lt;name&gt;:Cache</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">A token client of that name is already registered.</exception>
    public static IServiceCollection AddSelfSignedTokenProvider(this IServiceCollection services, string name, Action<SelfSignedTokenOptions> configure) =>
        services.AddSelfSignedTokenProvider(name, configure, configureCache: null);

    /// <summary>Like <see cref="AddSelfSignedTokenProvider(IServiceCollection, string, Action{SelfSignedTokenOptions})"/>, with cache settings.</summary>
    public static IServiceCollection AddSelfSignedTokenProvider(
        this IServiceCollection services,
        string name,
        Action<SelfSignedTokenOptions> configure,
        Action<TokenCacheOptions>? configureCache)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        EnsureNameIsFree<IAccessTokenProvider>(services, name, "token client");

        var options = new SelfSignedTokenOptions();
        configure(options);
        NamedTokenClients.AddCacheOptions(services, name, configureCache);
        services.AddKeyedSingleton<IAccessTokenProvider>(name, (sp, _) => CreateCache(
            sp, new SelfSignedTokenProvider(options, sp.GetService<TimeProvider>()), sp.GetRequiredService<IOptionsMonitor<TokenCacheOptions>>().Get(name)));
        return services;
    }

    /// <summary>Registers an <see cref="IAccessTokenProvider"/> that caches tokens from <paramref name="getToken"/>.</summary>
    /// <exception cref="InvalidOperationException">An unnamed <see cref="IAccessTokenProvider"/> is already registered.</exception>
    public static IServiceCollection AddAccessTokenProvider(this IServiceCollection services, Func<IServiceProvider, CancellationToken, ValueTask<AccessToken>> getToken) =>
        services.AddAccessTokenProvider(getToken, configureCache: null);

    /// <summary>Like <see cref="AddAccessTokenProvider(IServiceCollection, Func{IServiceProvider, CancellationToken, ValueTask{AccessToken}})"/>, with cache settings.</summary>
    public static IServiceCollection AddAccessTokenProvider(
        this IServiceCollection services,
        Func<IServiceProvider, CancellationToken, ValueTask<AccessToken>> getToken,
        Action<TokenCacheOptions>? configureCache)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(getToken);

        return services.AddCachedTokenProvider(
            sp => new DelegateAccessTokenProvider(cancellationToken => getToken(sp, cancellationToken)),
            configureCache);
    }

    /// <summary>
    /// Registers token client <paramref name="name"/> that caches tokens from <paramref name="getToken"/> (cache
    /// settings bound from <c>GrpcJwtAuth:Clients:&lt;name&gt;:Cache</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">A token client of that name is already registered.</exception>
    public static IServiceCollection AddAccessTokenProvider(
        this IServiceCollection services, string name, Func<IServiceProvider, CancellationToken, ValueTask<AccessToken>> getToken) =>
        services.AddAccessTokenProvider(name, getToken, configureCache: null);

    /// <summary>
    /// Like <see cref="AddAccessTokenProvider(IServiceCollection, string, Func{IServiceProvider, CancellationToken, ValueTask{AccessToken}})"/>,
    /// with cache settings.
    /// </summary>
    public static IServiceCollection AddAccessTokenProvider(
        this IServiceCollection services,
        string name,
        Func<IServiceProvider, CancellationToken, ValueTask<AccessToken>> getToken,
        Action<TokenCacheOptions>? configureCache)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(getToken);
        EnsureNameIsFree<IAccessTokenProvider>(services, name, "token client");

        NamedTokenClients.AddCacheOptions(services, name, configureCache);
        services.AddKeyedSingleton<IAccessTokenProvider>(name, (sp, _) => CreateCache(
            sp,
            new DelegateAccessTokenProvider(cancellationToken => getToken(sp, cancellationToken)),
            sp.GetRequiredService<IOptionsMonitor<TokenCacheOptions>>().Get(name)));
        return services;
    }

    private static void EnsureNameIsFree<TService>(IServiceCollection services, string name, string what)
    {
        foreach (var descriptor in services)
        {
            if (descriptor.IsKeyedService && descriptor.ServiceType == typeof(TService) && Equals(descriptor.ServiceKey, name))
            {
                throw new InvalidOperationException($"A {what} named '{name}' is already registered; give each client its own name.");
            }
        }
    }

    private static CachingAccessTokenProvider CreateCache(IServiceProvider services, IAccessTokenProvider source, TokenCacheOptions cacheOptions) => new(
        source,
        cacheOptions,
        services.GetService<TimeProvider>(),
        services.GetService<ILogger<CachingAccessTokenProvider>>(),
        services.GetService<IMeterFactory>());

    private static IServiceCollection AddCachedTokenProvider(
        this IServiceCollection services,
        Func<IServiceProvider, IAccessTokenProvider> createSource,
        Action<TokenCacheOptions>? configureCache)
    {
        foreach (var descriptor in services)
        {
            if (!descriptor.IsKeyedService && descriptor.ServiceType == typeof(IAccessTokenProvider))
            {
                throw new InvalidOperationException(
                    "An IAccessTokenProvider is already registered, and a second unnamed one would be ignored. Register each token " +
                    "client by name (AddClientCredentialsTokenProvider(\"orders\", …)) and pick it with AddJwtCallCredentials(\"orders\").");
            }
        }

        var cacheOptions = new TokenCacheOptions();
        configureCache?.Invoke(cacheOptions);
        services.AddSingleton<IAccessTokenProvider>(sp => CreateCache(sp, createSource(sp), cacheOptions));
        return services;
    }
}
