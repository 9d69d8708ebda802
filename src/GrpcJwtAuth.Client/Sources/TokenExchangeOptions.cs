namespace GrpcJwtAuth.Client.Sources;

/// <summary>
/// OAuth 2.0 token exchange (RFC 8693): the client trades a token it received (the subject token) for one meant for a
/// downstream API, named by <see cref="OAuthClientOptions.Audience"/> or <see cref="OAuthClientOptions.Resource"/>.
/// </summary>
public sealed class TokenExchangeOptions : OAuthClientOptions
{
    /// <summary>The access token type URI (RFC 8693 section 3).</summary>
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    /// <summary>The type of the token given to exchange (<c>subject_token_type</c>). Defaults to <see cref="AccessTokenType"/>.</summary>
    public string SubjectTokenType { get; set; } = AccessTokenType;

    /// <summary>The type of token asked for (<c>requested_token_type</c>). Defaults to <see cref="AccessTokenType"/>.</summary>
    public string? RequestedTokenType { get; set; } = AccessTokenType;
}
