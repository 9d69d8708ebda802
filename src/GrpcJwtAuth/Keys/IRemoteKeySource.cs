namespace GrpcJwtAuth.Keys;

/// <summary>Where keys come from over the network: an OpenID Connect discovery document or a JWKS address.</summary>
internal interface IRemoteKeySource
{
    /// <summary>The address, for logs.</summary>
    string Address { get; }

    /// <summary>Fetches the current keys. Throws when the source cannot be reached or returns nothing usable.</summary>
    Task<RemoteKeys> FetchAsync(CancellationToken cancellationToken);
}

/// <summary>Keys from one fetch, and the issuer the discovery document names (if any).</summary>
internal sealed record RemoteKeys(IReadOnlyList<SigningKey> Keys, string? Issuer);

/// <summary>The key source returned a document, but nothing in it can be used.</summary>
internal sealed class KeySourceException(string message, Exception? inner = null) : Exception(message, inner);
