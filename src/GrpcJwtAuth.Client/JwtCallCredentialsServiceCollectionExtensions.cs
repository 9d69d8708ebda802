using System.Diagnostics.Metrics;
using Grpc.Net.ClientFactory;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Internal;
using GrpcJwtAuth.Client.Sources;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers token sources and attaches tokens to clients made by the gRPC client factory.</summary>
public static class JwtCallCredentialsServiceCollectionExtensions
{
    /// <summary>The named <see cref="HttpClient"/> that talks to token endpoints and discovery documents.</summary>
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

        builder.AddInterceptor(InterceptorScope.Channel, services => new JwtCallCredentialsInterceptor(
            providerFactory(services),
            settings,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JwtCallCredentialsInterceptor).FullName!)));

        if (settings.UnsafeAllowInsecureChannel)
        {
            builder.ConfigureChannel(channel => channel.UnsafeUseInsecureChannelCallCredentials = true);
        }

        return builder;
    }

    /// <summary>
    /// Registers an <see cref="IAccessTokenProvider"/> that gets tokens with the OAuth 2.0 client credentials grant and
    /// caches them. The token endpoint is reached through the named client <see cref="TokenEndpointHttpClientName"/>.
    /// </summary>
    public static IServiceCollection AddClientCredentialsTokenProvider(
        this IServiceCollection services,
        Action<ClientCredentialsOptions> configure,
        Action<TokenCacheOptions>? configureCache = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        var options = new ClientCredentialsOptions();
        configure(options);
        services.AddHttpClient(TokenEndpointHttpClientName);
        return services.AddCachedTokenProvider(
            sp => new ClientCredentialsTokenProvider(
                () => sp.GetRequiredService<IHttpClientFactory>().CreateClient(TokenEndpointHttpClientName),
                options,
                sp.GetService<TimeProvider>()),
            configureCache);
    }

    /// <summary>Registers an <see cref="IAccessTokenProvider"/> that mints and caches its own signed tokens.</summary>
    public static IServiceCollection AddSelfSignedTokenProvider(
        this IServiceCollection services,
        Action<SelfSignedTokenOptions> configure,
        Action<TokenCacheOptions>? configureCache = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        var options = new SelfSignedTokenOptions();
        configure(options);
        return services.AddCachedTokenProvider(sp => new SelfSignedTokenProvider(options, sp.GetService<TimeProvider>()), configureCache);
    }

    /// <summary>Registers an <see cref="IAccessTokenProvider"/> that caches tokens from <paramref name="getToken"/>.</summary>
    public static IServiceCollection AddAccessTokenProvider(
        this IServiceCollection services,
        Func<IServiceProvider, CancellationToken, ValueTask<AccessToken>> getToken,
        Action<TokenCacheOptions>? configureCache = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(getToken);

        return services.AddCachedTokenProvider(
            sp => new DelegateAccessTokenProvider(cancellationToken => getToken(sp, cancellationToken)),
            configureCache);
    }

    private static IServiceCollection AddCachedTokenProvider(
        this IServiceCollection services,
        Func<IServiceProvider, IAccessTokenProvider> createSource,
        Action<TokenCacheOptions>? configureCache)
    {
        var cacheOptions = new TokenCacheOptions();
        configureCache?.Invoke(cacheOptions);
        services.TryAddSingleton<IAccessTokenProvider>(sp => new CachingAccessTokenProvider(
            createSource(sp),
            cacheOptions,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<CachingAccessTokenProvider>>(),
            sp.GetService<IMeterFactory>()));
        return services;
    }
}
