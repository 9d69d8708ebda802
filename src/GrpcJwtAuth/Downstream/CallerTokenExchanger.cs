using System.Collections.Concurrent;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Sources;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Downstream;

/// <summary>
/// Trades the token of the request being handled for one meant for a downstream service (RFC 8693), and keeps the
/// result per caller token (one exchange client serves one audience, so the key is the caller's token alone) until
/// shortly before the earlier of the two tokens' expiries: the downstream token is never used after the caller's
/// token expires. Concurrent calls of one caller share one exchange. The table holds at most
/// <see cref="MaxEntries"/> tokens; when it is full and nothing in it has expired, the exchange is done without
/// keeping the result. Failed exchanges are not kept: the next call tries again.
/// </summary>
internal sealed class CallerTokenExchanger : IAccessTokenProvider
{
    public const int MaxEntries = 10_000;

    /// <summary>How long before expiry a kept token stops being handed out.</summary>
    public static readonly TimeSpan RefreshBeforeExpiry = TimeSpan.FromSeconds(30);

    private readonly IHttpContextAccessor _httpContextAccessor;
    private readonly TokenExchangeClient _client;
    private readonly TimeProvider _timeProvider;
    private readonly int _maxTokenLength;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public CallerTokenExchanger(
        IHttpContextAccessor httpContextAccessor, TokenExchangeClient client, TimeProvider timeProvider, IOptions<GrpcJwtAuthOptions> options)
    {
        _httpContextAccessor = httpContextAccessor;
        _client = client;
        _timeProvider = timeProvider;
        _maxTokenLength = options.Value.MaxTokenLength;
    }

    /// <summary>How many exchanged tokens are kept.</summary>
    public int Count => _entries.Count;

    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var caller = CallerToken.Get(_httpContextAccessor.HttpContext, _maxTokenLength);
        var now = _timeProvider.GetUtcNow();
        if (_entries.TryGetValue(caller.Value, out var entry))
        {
            if (entry.Exchange.IsCompletedSuccessfully && now < entry.UsableUntil)
            {
                return ValueTask.FromResult(entry.Exchange.Result);
            }

            if (!entry.Exchange.IsCompleted)
            {
                return new ValueTask<AccessToken>(entry.Exchange.WaitAsync(cancellationToken));
            }

            _entries.TryRemove(new KeyValuePair<string, Entry>(caller.Value, entry));
        }

        return new ValueTask<AccessToken>(ExchangeAsync(caller, now, cancellationToken));
    }

    /// <summary>The downstream service rejected the exchanged token: drop it, so that the next call exchanges again.</summary>
    public ValueTask<AccessToken> GetFreshTokenAsync(AccessToken rejected, CancellationToken cancellationToken = default)
    {
        foreach (var pair in _entries)
        {
            if (pair.Value.Exchange.IsCompletedSuccessfully && ReferenceEquals(pair.Value.Exchange.Result, rejected))
            {
                _entries.TryRemove(pair);
                break;
            }
        }

        return GetTokenAsync(cancellationToken);
    }

    private Task<AccessToken> ExchangeAsync(AccessToken caller, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var entry = new Entry();
        entry.Exchange = RunAsync(entry, caller);
        Keep(caller.Value, entry, now);

        // The exchange itself is not cancelled with the one call that started it: others may share it.
        return entry.Exchange.WaitAsync(cancellationToken);
    }

    private async Task<AccessToken> RunAsync(Entry entry, AccessToken caller)
    {
        try
        {
            var token = await _client.ExchangeAsync(caller.Value, CancellationToken.None).ConfigureAwait(false);
            if (token.ExpiresAt <= _timeProvider.GetUtcNow())
            {
                throw new AccessTokenException(AccessTokenFailure.InvalidResponse, "The token endpoint issued an exchanged token that has already expired.");
            }

            // Set before the task completes, so whoever sees it completed sees this too. Already past when either token
            // is about to expire: this call uses the token, the next exchanges again.
            entry.UsableUntil = (token.ExpiresAt < caller.ExpiresAt ? token.ExpiresAt : caller.ExpiresAt) - RefreshBeforeExpiry;
            return token;
        }
        catch
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(caller.Value, entry));
            throw;
        }
    }

    private void Keep(string callerToken, Entry entry, DateTimeOffset now)
    {
        if (_entries.Count >= MaxEntries)
        {
            foreach (var pair in _entries)
            {
                if (pair.Value.Exchange.IsCompleted && (!pair.Value.Exchange.IsCompletedSuccessfully || pair.Value.UsableUntil <= now))
                {
                    _entries.TryRemove(pair);
                }
            }

            if (_entries.Count >= MaxEntries)
            {
                return;
            }
        }

        _entries[callerToken] = entry;
    }

    private sealed class Entry
    {
        public Task<AccessToken> Exchange { get; set; } = null!;

        /// <summary>Set once the exchange succeeded; until then <see cref="DateTimeOffset.MinValue"/>.</summary>
        public DateTimeOffset UsableUntil { get; set; } = DateTimeOffset.MinValue;
    }
}
