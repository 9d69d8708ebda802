namespace GrpcJwtAuth.Client.Sources;

/// <summary>Always the same token: for tests, tools and tokens managed elsewhere.</summary>
public sealed class StaticAccessTokenProvider : IAccessTokenProvider
{
    private readonly AccessToken _token;

    /// <summary>Uses <paramref name="token"/>; its expiry is read from <c>exp</c> when it is a JWT.</summary>
    public StaticAccessTokenProvider(string token)
        : this(AccessToken.FromJwt(token))
    {
    }

    /// <summary>Uses <paramref name="token"/>.</summary>
    public StaticAccessTokenProvider(AccessToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        _token = token;
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_token);
}
