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

/// <summary>The key source answered, but nothing in the answer can be used. The message quotes no document content.</summary>
internal class KeySourceException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The key source answered with more than <see cref="GrpcJwtAuthOptions.MaxKeyDocumentBytes"/>.</summary>
internal sealed class KeyDocumentTooLargeException(string message) : KeySourceException(message);
