namespace GrpcJwtAuth.Client;

/// <summary>Where the tokens attached to gRPC calls come from.</summary>
public interface IAccessTokenProvider
{
    /// <summary>A token to send now.</summary>
    /// <exception cref="AccessTokenException">No valid token can be had.</exception>
    ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A token other than <paramref name="rejected"/>, which the server refused. Caching providers fetch a new one
    /// (unless they already hold a newer one); plain sources simply get a token again.
    /// </summary>
    ValueTask<AccessToken> GetFreshTokenAsync(AccessToken rejected, CancellationToken cancellationToken = default) =>
        GetTokenAsync(cancellationToken);
}
