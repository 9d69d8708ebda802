using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Client.Sources;

/// <summary>How the client authenticates to the token endpoint.</summary>
public enum ClientAuthenticationMethod
{
    /// <summary>
    /// HTTP Basic authentication with the form-encoded client id and secret (<c>client_secret_basic</c>, RFC 6749
    /// section 2.3.1).
    /// </summary>
    BasicHeader = 0,

    /// <summary><c>client_id</c> and <c>client_secret</c> in the form body (<c>client_secret_post</c>).</summary>
    RequestBody = 1,

    /// <summary>
    /// A short-lived JWT signed with the client's private key (<c>private_key_jwt</c>, RFC 7523 section 2.2, OpenID
    /// Connect Core section 9): no secret is sent.
    /// </summary>
    PrivateKeyJwt = 2,

    /// <summary>
    /// The TLS client certificate authenticates the client (<c>tls_client_auth</c> or
    /// <c>self_signed_tls_client_auth</c>, RFC 8705 section 2): only <c>client_id</c> is sent in the form.
    /// </summary>
    TlsClientCertificate = 3,
}

/// <summary>
/// Where an OAuth 2.0 token endpoint is and how to authenticate to it. Shared by the client credentials grant
/// (<see cref="ClientCredentialsOptions"/>) and token exchange (<see cref="TokenExchangeOptions"/>). Bound from
/// <c>GrpcJwtAuth:Clients:&lt;name&gt;</c> for named clients.
/// </summary>
public abstract class OAuthClientOptions
{
    /// <summary>The token endpoint. Either this or <see cref="Authority"/> is required. Defaults to none.</summary>
    public string? TokenEndpoint { get; set; }

    /// <summary>
    /// The issuer whose discovery document (<c>{Authority}/.well-known/openid-configuration</c>) names the token
    /// endpoint, used when <see cref="TokenEndpoint"/> is not set. The document must name this issuer and an endpoint
    /// on the same host. Defaults to none.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The client id. Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// The client secret, for <see cref="ClientAuthenticationMethod.BasicHeader"/> and
    /// <see cref="ClientAuthenticationMethod.RequestBody"/>. Never logged nor put in an exception message. Defaults to
    /// none.
    /// </summary>
    public string? ClientSecret { get; set; }

    /// <summary>How the client authenticates. Defaults to <see cref="ClientAuthenticationMethod.BasicHeader"/>.</summary>
    public ClientAuthenticationMethod ClientAuthentication { get; set; } = ClientAuthenticationMethod.BasicHeader;

    /// <summary>Scopes to request, sent space-separated as <c>scope</c>. Defaults to none.</summary>
    public IList<string> Scopes { get; } = new List<string>();

    /// <summary>
    /// The <c>audience</c> parameter, which some identity providers (Auth0, Keycloak token exchange) require to issue
    /// a JWT for an API rather than an opaque token. Defaults to none.
    /// </summary>
    public string? Audience { get; set; }

    /// <summary>The <c>resource</c> parameter (RFC 8707): the absolute URI of the API the token is for. Defaults to none.</summary>
    public string? Resource { get; set; }

    /// <summary>
    /// For <see cref="ClientAuthenticationMethod.PrivateKeyJwt"/>: the key that signs client assertions. Takes
    /// precedence over <see cref="ClientAssertionKeyPath"/>. Defaults to none.
    /// </summary>
    public SigningCredentials? ClientAssertionSigningCredentials { get; set; }

    /// <summary>
    /// For <see cref="ClientAuthenticationMethod.PrivateKeyJwt"/>: a PEM file with the RSA or EC private key that signs
    /// client assertions (RS256, or ES256/ES384/ES512 by curve). Defaults to none.
    /// </summary>
    public string? ClientAssertionKeyPath { get; set; }

    /// <summary>The <c>kid</c> put in client assertions signed with <see cref="ClientAssertionKeyPath"/>. Defaults to none.</summary>
    public string? ClientAssertionKeyId { get; set; }

    /// <summary>How long a client assertion is valid (its <c>exp</c> after <c>iat</c>). Defaults to 1 minute.</summary>
    public TimeSpan ClientAssertionLifetime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// For <see cref="ClientAuthenticationMethod.TlsClientCertificate"/> with the DI registrations: the certificate,
    /// with its private key, that the token endpoint's <see cref="HttpClient"/> presents. Takes precedence over
    /// <see cref="ClientCertificatePath"/>. Defaults to none.
    /// </summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>A PEM file with the client certificate, for <see cref="ClientAuthenticationMethod.TlsClientCertificate"/>. Defaults to none.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>
    /// A PEM file with the client certificate's private key, when <see cref="ClientCertificatePath"/> does not hold it.
    /// Defaults to none.
    /// </summary>
    public string? ClientCertificateKeyPath { get; set; }

    /// <summary>
    /// With the DI registrations: the named <see cref="HttpClient"/> that talks to the token endpoint. Set it to share
    /// one client you configure yourself (trust, proxy, a client certificate on its handler); call
    /// <c>RemoveAllLoggers()</c> on it, as the default client does, or its Trace logs carry the Basic header. Defaults to
    /// <c>GrpcJwtAuth.Client.TokenEndpoint.&lt;client name&gt;</c>.
    /// </summary>
    public string? HttpClientName { get; set; }

    /// <summary>
    /// Whether the token endpoint and discovery document must use HTTPS. Switch off for local development only.
    /// Defaults to <see langword="true"/>.
    /// </summary>
    public bool RequireHttps { get; set; } = true;
}
