namespace GrpcJwtAuth.Client.Sources;

/// <summary>Tokens from a delegate, for sources this package does not cover.</summary>
public sealed class DelegateAccessTokenProvider : IAccessTokenProvider
{
    private readonly Func<CancellationToken, ValueTask<AccessToken>> _getToken;

    /// <summary>Calls <paramref name="getToken"/> for each token. Wrap it in a cache to call it less.</summary>
    public DelegateAccessTokenProvider(Func<CancellationToken, ValueTask<AccessToken>> getToken)
    {
        ArgumentNullException.ThrowIfNull(getToken);
        _getToken = getToken;
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default) => _getToken(cancellationToken);
}
