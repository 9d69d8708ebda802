using GrpcJwtAuth.Client.Sources;
using GrpcJwtAuth.Shared;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Every problem with a token client's settings, each naming its setting with the given prefix
/// (<c>ClientCredentialsOptions.</c> for one built in code, <c>GrpcJwtAuth:Clients:orders:</c> for a named client).
/// </summary>
internal static class OAuthClientOptionsValidation
{
    private static readonly TimeSpan MaximumAssertionLifetime = TimeSpan.FromMinutes(10);

    /// <param name="options">The settings.</param>
    /// <param name="prefix">Put before each setting's name.</param>
    /// <param name="certificateOnHandler">
    /// Whether the caller brings its own <see cref="HttpClient"/>, whose handler then holds any client certificate.
    /// </param>
    public static List<string> Validate(OAuthClientOptions options, string prefix, bool certificateOnHandler)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            errors.Add($"{prefix}ClientId is required.");
        }

        switch (options.ClientAuthentication)
        {
            case ClientAuthenticationMethod.BasicHeader or ClientAuthenticationMethod.RequestBody:
                if (string.IsNullOrEmpty(options.ClientSecret))
                {
                    errors.Add($"{prefix}ClientSecret is required with {prefix}ClientAuthentication={options.ClientAuthentication}.");
                }

                break;
            case ClientAuthenticationMethod.PrivateKeyJwt:
                if (options.ClientAssertionSigningCredentials is null && string.IsNullOrWhiteSpace(options.ClientAssertionKeyPath))
                {
                    errors.Add($"{prefix}ClientAssertionKeyPath (or ClientAssertionSigningCredentials in code) is required with {prefix}ClientAuthentication=PrivateKeyJwt.");
                }

                if (options.ClientAssertionLifetime <= TimeSpan.Zero || options.ClientAssertionLifetime > MaximumAssertionLifetime)
                {
                    errors.Add($"{prefix}ClientAssertionLifetime must be more than 0 and at most {MaximumAssertionLifetime}; it is {options.ClientAssertionLifetime}.");
                }

                break;
            case ClientAuthenticationMethod.TlsClientCertificate:
                if (!certificateOnHandler && options.ClientCertificate is null && string.IsNullOrWhiteSpace(options.ClientCertificatePath)
                    && string.IsNullOrWhiteSpace(options.HttpClientName))
                {
                    errors.Add(
                        $"{prefix}ClientCertificatePath (or ClientCertificate in code, or an {prefix}HttpClientName whose handler has one) " +
                        $"is required with {prefix}ClientAuthentication=TlsClientCertificate.");
                }

                break;
            default:
                errors.Add($"{prefix}ClientAuthentication '{options.ClientAuthentication}' is not one of BasicHeader, RequestBody, PrivateKeyJwt, TlsClientCertificate.");
                break;
        }

        if (string.IsNullOrWhiteSpace(options.TokenEndpoint) && string.IsNullOrWhiteSpace(options.Authority))
        {
            errors.Add($"Set {prefix}TokenEndpoint or {prefix}Authority.");
        }
        else if (!string.IsNullOrWhiteSpace(options.TokenEndpoint))
        {
            CheckAddress(options.TokenEndpoint, "TokenEndpoint", options.RequireHttps, prefix, errors);
        }
        else
        {
            CheckAddress(options.Authority!, "Authority", options.RequireHttps, prefix, errors);
        }

        if (!string.IsNullOrWhiteSpace(options.Resource)
            && (!Uri.TryCreate(options.Resource, UriKind.Absolute, out var resource) || !string.IsNullOrEmpty(resource.Fragment)))
        {
            // RFC 8707 section 2.
            errors.Add($"{prefix}Resource '{options.Resource}' is not an absolute URI without a fragment.");
        }

        if (options is TokenExchangeOptions exchange && string.IsNullOrWhiteSpace(exchange.SubjectTokenType))
        {
            errors.Add($"{prefix}SubjectTokenType is required.");
        }

        for (var i = 0; i < options.Scopes.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Scopes[i]) || options.Scopes[i].Any(char.IsWhiteSpace))
            {
                errors.Add($"{prefix}Scopes:{i} '{options.Scopes[i]}' is empty or contains a space; give each scope as its own entry.");
            }
        }

        return errors;
    }

    private static void CheckAddress(string value, string name, bool requireHttps, string prefix, List<string> errors)
    {
        switch (EndpointAddress.Check(value, requireHttps, out _))
        {
            case EndpointAddressProblem.NotAbsoluteHttp:
                errors.Add($"{prefix}{name} '{value}' is not an absolute http(s) address.");
                break;
            case EndpointAddressProblem.NotHttps:
                errors.Add($"{prefix}{name} '{value}' does not use HTTPS; use https, or set {prefix}RequireHttps=false (development only).");
                break;
        }
    }
}
