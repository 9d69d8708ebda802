namespace GrpcJwtAuth.Client.Sources;

/// <summary>How the client sends its credentials to the token endpoint (RFC 6749 section 2.3.1).</summary>
public enum ClientAuthenticationMethod
{
    /// <summary>HTTP Basic authentication with the form-encoded client id and secret (<c>client_secret_basic</c>).</summary>
    BasicHeader = 0,

    /// <summary><c>client_id</c> and <c>client_secret</c> in the form body (<c>client_secret_post</c>).</summary>
    RequestBody = 1,
}

/// <summary>OAuth 2.0 client credentials grant (RFC 6749 section 4.4).</summary>
public sealed class ClientCredentialsOptions
{
    /// <summary>The token endpoint. Either this or <see cref="Authority"/> is required. Defaults to none.</summary>
    public string? TokenEndpoint { get; set; }

    /// <summary>
    /// The issuer whose discovery document (<c>{Authority}/.well-known/openid-configuration</c>) names the token
    /// endpoint, used when <see cref="TokenEndpoint"/> is not set. Defaults to none.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The client id. Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client secret. Required. Never logged nor put in an exception message.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Scopes to request, sent space-separated as <c>scope</c>. Defaults to none.</summary>
    public IList<string> Scopes { get; } = new List<string>();

    /// <summary>The <c>audience</c> parameter some identity providers require. Defaults to none.</summary>
    public string? Audience { get; set; }

    /// <summary>The <c>resource</c> parameter (RFC 8707). Defaults to none.</summary>
    public string? Resource { get; set; }

    /// <summary>How the client authenticates. Defaults to <see cref="ClientAuthenticationMethod.BasicHeader"/>.</summary>
    public ClientAuthenticationMethod ClientAuthentication { get; set; } = ClientAuthenticationMethod.BasicHeader;

    /// <summary>
    /// Whether the token endpoint and discovery document must use HTTPS. Switch off for local development only.
    /// Defaults to <see langword="true"/>.
    /// </summary>
    public bool RequireHttps { get; set; } = true;
}
