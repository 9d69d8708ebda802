namespace GrpcJwtAuth.Client.Caching;

/// <summary>When <see cref="CachingAccessTokenProvider"/> refreshes, and how it backs off after failures.</summary>
public sealed class TokenCacheOptions
{
    /// <summary>
    /// Refresh this long before the token expires (or at half its lifetime, if that is later), while callers keep
    /// using the current token. Defaults to 00:01:00.
    /// </summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Up to this much earlier still, chosen at random per token, so that a fleet does not refresh at once.
    /// Defaults to 00:00:15.
    /// </summary>
    public TimeSpan RefreshJitter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A token closer than this to its expiry is not handed out; callers wait for a new one instead.
    /// Defaults to 00:00:05.
    /// </summary>
    public TimeSpan MinimumRemainingLifetime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The wait before retrying after the first failure; doubles with each failure. Defaults to 00:00:01.</summary>
    public TimeSpan MinimumRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between retries after failures. Defaults to 00:01:00.</summary>
    public TimeSpan MaximumRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A token the server rejected is replaced at most once per this interval: a second rejection within it returns
    /// the token just fetched, so a misconfigured server cannot make every call fetch a token. Defaults to 00:00:05.
    /// </summary>
    public TimeSpan MinimumForcedRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one fetch from the source may take. Defaults to 00:00:30.</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        if (RefreshBeforeExpiry < TimeSpan.Zero || RefreshJitter < TimeSpan.Zero || MinimumRemainingLifetime < TimeSpan.Zero
            || MinimumForcedRefreshInterval < TimeSpan.Zero)
        {
            throw new ArgumentException("TokenCacheOptions durations must not be negative.");
        }

        if (MinimumRetryDelay <= TimeSpan.Zero || MaximumRetryDelay < MinimumRetryDelay)
        {
            throw new ArgumentException("TokenCacheOptions.MinimumRetryDelay must be positive and not above MaximumRetryDelay.");
        }

        if (FetchTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("TokenCacheOptions.FetchTimeout must be positive.");
        }
    }
}
