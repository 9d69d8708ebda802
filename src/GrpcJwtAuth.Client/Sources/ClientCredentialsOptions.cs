namespace GrpcJwtAuth.Client.Sources;

/// <summary>
/// OAuth 2.0 client credentials grant (RFC 6749 section 4.4): the client gets tokens in its own name. Bound from
/// <c>GrpcJwtAuth:Clients:&lt;name&gt;</c> for named clients.
/// </summary>
public sealed class ClientCredentialsOptions : OAuthClientOptions
{
}
