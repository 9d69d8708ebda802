using System.Security.Cryptography.X509Certificates;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Sources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Named token clients: settings bound from <c>GrpcJwtAuth:Clients:&lt;name&gt;</c> (when the app has an
/// <see cref="IConfiguration"/>) before the code's own <c>configure</c>, checked as a whole with every problem named by
/// its key, and each client's token endpoint reached through its own named <see cref="HttpClient"/>.
/// </summary>
internal static class NamedTokenClients
{
    public const string SectionName = "GrpcJwtAuth:Clients";

    /// <summary>How a setting of client <paramref name="name"/> is named in errors.</summary>
    public static string Prefix(string name) => $"{SectionName}:{name}:";

    /// <summary>The section of client <paramref name="name"/>.</summary>
    public static string Section(string name) => $"{SectionName}:{name}";

    /// <summary>The named <see cref="HttpClient"/> client <paramref name="name"/> uses unless its settings name another.</summary>
    public static string HttpClientName(string name) => $"{JwtCallCredentialsServiceCollectionExtensions.TokenEndpointHttpClientName}.{name}";

    /// <summary>
    /// Registers the options of client <paramref name="name"/> (bound, then configured, then validated at start) and
    /// its named <see cref="HttpClient"/>, which presents the client certificate when the settings give one.
    /// </summary>
    public static void AddOptions<TOptions>(IServiceCollection services, string name, Action<TOptions>? configure, Action<TokenCacheOptions>? configureCache)
        where TOptions : OAuthClientOptions
    {
        services.AddOptions<TOptions>(name)
            .Configure<IServiceProvider>((options, provider) => provider.GetService<IConfiguration>()?.GetSection(Section(name)).Bind(options))
            .Configure(options => configure?.Invoke(options))
            .ValidateOnStart();
        AddCacheOptions(services, name, configureCache);
        services.AddSingleton<IValidateOptions<TOptions>>(new Validator<TOptions>(name));

        var httpClientName = HttpClientName(name);

        // Microsoft.Extensions.Http redacts header values in the log message but hands them as they are to structured
        // sinks (HttpHeadersLogValue): at Trace, the Basic header would reach the logs.
        services.AddHttpClient(httpClientName).RemoveAllLoggers();

        // After every Configure, so that a primary handler the app sets for this client gets the certificate too.
        services.AddOptions<Microsoft.Extensions.Http.HttpClientFactoryOptions>(httpClientName)
            .PostConfigure<IOptionsMonitor<TOptions>>((factoryOptions, monitor) =>
            {
                // Read once, not again for every handler the factory builds (every two minutes by default).
                var certificate = new Lazy<X509Certificate2?>(() =>
                {
                    var options = monitor.Get(name);
                    return options.ClientAuthentication == ClientAuthenticationMethod.TlsClientCertificate
                        ? options.ClientCertificate ?? LoadCertificate(options, name)
                        : null;
                });
                factoryOptions.HttpMessageHandlerBuilderActions.Add(builder =>
                {
                    if (certificate.Value is { } value)
                    {
                        AddCertificate(builder.PrimaryHandler, value, httpClientName);
                    }
                });
            });
    }

    /// <summary>Cache settings of client <paramref name="name"/>: <c>GrpcJwtAuth:Clients:&lt;name&gt;:Cache</c>, then the code's.</summary>
    public static void AddCacheOptions(IServiceCollection services, string name, Action<TokenCacheOptions>? configureCache)
    {
        services.AddOptions<TokenCacheOptions>(name)
            .Configure<IServiceProvider>((options, provider) => provider.GetService<IConfiguration>()?.GetSection(Section(name) + ":Cache").Bind(options))
            .Configure(options => configureCache?.Invoke(options))
            .Validate(options =>
            {
                try
                {
                    options.Validate();
                    return true;
                }
                catch (ArgumentException)
                {
                    return false;
                }
            }, $"{Section(name)}:Cache is invalid: durations must not be negative, MinimumRetryDelay must be positive and not above MaximumRetryDelay, and FetchTimeout positive.")
            .ValidateOnStart();
    }

    private static X509Certificate2? LoadCertificate(OAuthClientOptions options, string name) =>
        string.IsNullOrWhiteSpace(options.ClientCertificatePath)
            ? null
            : ClientKeyFiles.LoadCertificate(options.ClientCertificatePath, options.ClientCertificateKeyPath, Prefix(name));

    private static void AddCertificate(HttpMessageHandler handler, X509Certificate2 certificate, string httpClientName)
    {
        switch (handler)
        {
            case SocketsHttpHandler sockets:
                sockets.SslOptions.ClientCertificates ??= [];
                sockets.SslOptions.ClientCertificates.Add(certificate);
                break;
            case HttpClientHandler classic:
                classic.ClientCertificateOptions = ClientCertificateOption.Manual;
                classic.ClientCertificates.Add(certificate);
                break;
            default:
                throw new InvalidOperationException(
                    $"The primary handler of the HttpClient '{httpClientName}' is a {handler.GetType().Name}; a client certificate can only be added to a " +
                    "SocketsHttpHandler or HttpClientHandler. Put the certificate on your handler and leave ClientCertificate unset.");
        }
    }

    private sealed class Validator<TOptions>(string name) : IValidateOptions<TOptions>
        where TOptions : OAuthClientOptions
    {
        public ValidateOptionsResult Validate(string? optionsName, TOptions options)
        {
            if (!string.Equals(optionsName, name, StringComparison.Ordinal))
            {
                return ValidateOptionsResult.Skip;
            }

            var errors = OAuthClientOptionsValidation.Validate(options, Prefix(name), certificateOnHandler: false);
            if (errors.Count == 0 && options.ClientAuthentication == ClientAuthenticationMethod.PrivateKeyJwt
                && options.ClientAssertionSigningCredentials is null)
            {
                try
                {
                    ClientKeyFiles.LoadSigningCredentials(options.ClientAssertionKeyPath!, options.ClientAssertionKeyId, Prefix(name));
                }
                catch (ArgumentException ex)
                {
                    errors.Add(ex.Message);
                }
            }

            if (errors.Count == 0 && options.ClientAuthentication == ClientAuthenticationMethod.TlsClientCertificate
                && options.ClientCertificate is null && !string.IsNullOrWhiteSpace(options.ClientCertificatePath))
            {
                try
                {
                    using var certificate = LoadCertificate(options, name);
                }
                catch (ArgumentException ex)
                {
                    errors.Add(ex.Message);
                }
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
