using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Grpc.Core;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Server;

namespace GrpcJwtAuth.Streams;

/// <summary>
/// The live streams that can be renewed, by call id. A stream is in it from its start to its end, never longer, and
/// never more than <see cref="GrpcJwtAuthOptions.MaxRenewableStreams"/> at once: past that, new streams run as before,
/// ending when their token expires. Ids are 256 random bits, so one cannot be guessed or derived from another.
/// </summary>
internal sealed class RenewableStreams(CompiledAuthOptions options, TimeProvider timeProvider)
{
    /// <summary>The length of a call id: 32 random bytes in unpadded base64url.</summary>
    public const int CallIdLength = 43;

    private readonly ConcurrentDictionary<string, RenewableStream> _streams = new(StringComparer.Ordinal);
    private readonly int _capacity = options.MaxRenewableStreams;
    private int _count;

    /// <summary>Whether the app mapped the renewal service; streams get no call id until it does.</summary>
    public bool Enabled { get; set; }

    /// <summary>How many streams can be renewed right now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Registers a starting stream of <paramref name="caller"/> and starts sending its call id, or returns
    /// <see langword="null"/> when it cannot be renewed: the service is not mapped, the table is full, the token has no
    /// subject to tie a renewal to, or the method's policy names other authentication schemes.
    /// </summary>
    public RenewableStream? Register(
        ServerCallContext context, StreamExpiry expiry, JwtCaller caller, EndpointAuthorization authorization, object? resource)
    {
        if (!Enabled || !authorization.UsesOwnScheme || StreamOwner.Of(caller) is not { } owner)
        {
            return null;
        }

        if (Interlocked.Increment(ref _count) > _capacity)
        {
            Interlocked.Decrement(ref _count);
            return null;
        }

        var stream = new RenewableStream(this, NewCallId(), owner, authorization, resource, context, expiry, timeProvider);
        _streams[stream.CallId] = stream;
        stream.StartHeaderTimer();
        return stream;
    }

    /// <summary>The live stream with this id; <see langword="null"/> for anything else, malformed ids included.</summary>
    public RenewableStream? Find(string? callId) =>
        callId is { Length: CallIdLength } && _streams.TryGetValue(callId, out var stream) ? stream : null;

    internal void Remove(RenewableStream stream)
    {
        if (_streams.TryRemove(new KeyValuePair<string, RenewableStream>(stream.CallId, stream)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private static string NewCallId()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }
}

/// <summary>
/// Whose stream it is, from the token it started with: a renewal's token must match every part, including those that
/// are absent (a stream started without <c>cnf</c> cannot be renewed with a token bound to a key, nor the reverse).
/// </summary>
internal readonly record struct StreamOwner(
    string IssuerName, string? Issuer, string Subject, string? AuthorizedParty, string? ClientId, string? Confirmation)
{
    /// <summary>The owner of <paramref name="caller"/>'s streams; <see langword="null"/> without a <c>sub</c> to tie them to.</summary>
    public static StreamOwner? Of(JwtCaller caller)
    {
        if (string.IsNullOrEmpty(caller.Subject))
        {
            return null;
        }

        string? azp = null, clientId = null, cnf = null;
        foreach (var claim in caller.Claims)
        {
            switch (claim.Type)
            {
                case "azp":
                    azp ??= claim.Value;
                    break;
                case "client_id":
                    clientId ??= claim.Value;
                    break;
                case "cnf":
                    cnf ??= claim.Value;
                    break;
            }
        }

        return new StreamOwner(caller.IssuerName, caller.Issuer, caller.Subject, azp, clientId, cnf);
    }

    public bool Owns(JwtCaller caller) =>
        Of(caller) is { } other
        && string.Equals(IssuerName, other.IssuerName, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Issuer, other.Issuer, StringComparison.Ordinal)
        && string.Equals(Subject, other.Subject, StringComparison.Ordinal)
        && string.Equals(AuthorizedParty, other.AuthorizedParty, StringComparison.Ordinal)
        && string.Equals(ClientId, other.ClientId, StringComparison.Ordinal)
        && string.Equals(Confirmation, other.Confirmation, StringComparison.Ordinal);
}
