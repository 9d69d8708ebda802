using System.Buffers;
using System.Buffers.Text;
using System.Numerics;
using System.Text.Json;
using System.Text.Unicode;
using GrpcJwtAuth.Server;

namespace GrpcJwtAuth.Tokens;

/// <summary>
/// Strict checks on a compact JWS before IdentityModel parses it, for what IdentityModel lets through or reports
/// vaguely: exactly three non-empty segments of canonical, unpadded base64url; a header and a payload that are each
/// exactly one UTF-8 JSON object with no member named twice (duplicates are rejected, not resolved "last wins"); no
/// <c>crit</c> (RFC 7515 section 4.1.11: no extension is understood here), no <c>zip</c> and no nested-JWT <c>cty</c>;
/// <c>exp</c>, <c>nbf</c> and <c>iat</c>, when present, integers from 0 to the end of year 9999. Five segments are a
/// JWE (when the header names <c>enc</c>). Runs on validated-token cache misses only, after the size limit.
/// </summary>
/// <remarks>
/// Returns the failure instead of throwing. Segments are decoded into a stack buffer when small and a pooled one
/// otherwise, and read with <see cref="Utf8JsonReader"/>; a well-formed token allocates nothing. The reader reports
/// broken JSON only by throwing, so that one case is caught here; the cheap checks before it (alphabet, UTF-8,
/// braces) turn most garbage away first.
/// </remarks>
internal static class TokenPrecheck
{
    /// <summary>9999-12-31T23:59:59Z: the last second a <see cref="DateTime"/> can hold.</summary>
    internal const long LatestNumericDate = 253_402_300_799;

    // Decoded segments up to this size are read from the stack; larger ones from ArrayPool.
    private const int StackBytes = 512;
    private const int StackInts = 512;

    private static readonly SearchValues<char> Base64UrlChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 64,
    };

    private enum Segment
    {
        Header,
        Payload,
        EncryptedHeader,
    }

    /// <summary>Checks the token's shape; <see cref="AuthFailure.None"/> when IdentityModel may take it from here.</summary>
    public static AuthFailure Check(ReadOnlySpan<char> token) => Check(token, out _);

    /// <summary>
    /// Checks the token's shape and, while reading it, takes what the validator decides on before any signature or
    /// parsing work: <c>alg</c>, <c>kid</c> and <c>typ</c> from the header, <c>iss</c>, <c>exp</c>, <c>nbf</c> and
    /// <c>iat</c> from the payload (top level only, each at most once since duplicates are refused). <c>alg</c>,
    /// <c>kid</c>, <c>typ</c> and <c>iss</c> must be strings when present.
    /// </summary>
    public static AuthFailure Check(ReadOnlySpan<char> token, out TokenFacts facts)
    {
        facts = default;
        var dots = token.Count('.');
        if (dots == 4)
        {
            // JWE compact serialization; only its header is looked at, to tell a JWE from five pieces of garbage.
            return ReadSegment(token[..token.IndexOf('.')], Segment.EncryptedHeader, ref facts);
        }

        if (dots != 2)
        {
            return AuthFailure.MalformedToken;
        }

        var headerEnd = token.IndexOf('.');
        var header = token[..headerEnd];
        var rest = token[(headerEnd + 1)..];
        var payloadEnd = rest.IndexOf('.');
        var payload = rest[..payloadEnd];
        var signature = rest[(payloadEnd + 1)..];

        if (!IsCanonicalBase64Url(header) || !IsCanonicalBase64Url(payload) || !IsCanonicalBase64Url(signature))
        {
            return AuthFailure.MalformedToken;
        }

        var failure = ReadSegment(header, Segment.Header, ref facts);
        return failure != AuthFailure.None ? failure : ReadSegment(payload, Segment.Payload, ref facts);
    }

    /// <summary>
    /// Non-empty, only the base64url alphabet (no padding), a length that decodes, and zero bits after the last byte,
    /// so that every byte string has exactly one accepted spelling.
    /// </summary>
    internal static bool IsCanonicalBase64Url(ReadOnlySpan<char> segment)
    {
        if (segment.IsEmpty || segment.ContainsAnyExcept(Base64UrlChars))
        {
            return false;
        }

        var unusedBitsMask = (segment.Length % 4) switch
        {
            0 => 0,
            2 => 0b1111,
            3 => 0b11,
            _ => -1,
        };

        return unusedBitsMask == 0 || (unusedBitsMask > 0 && (SextetOf(segment[^1]) & unusedBitsMask) == 0);
    }

    private static int SextetOf(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };

    private static AuthFailure ReadSegment(ReadOnlySpan<char> encoded, Segment segment, ref TokenFacts facts)
    {
        if (segment == Segment.EncryptedHeader && !IsCanonicalBase64Url(encoded))
        {
            return AuthFailure.MalformedToken;
        }

        // The decoded JSON, then room for the unescaped member names.
        var maxDecoded = Base64Url.GetMaxDecodedLength(encoded.Length);
        byte[]? rentedBytes = null;
        var bytes = maxDecoded <= StackBytes
            ? stackalloc byte[2 * maxDecoded]
            : (rentedBytes = ArrayPool<byte>.Shared.Rent(2 * maxDecoded)).AsSpan(0, 2 * maxDecoded);

        // A member takes at least 5 bytes ("":0, or the last one's "":0 plus the braces), which bounds the member
        // count; twice as many hash slots keep probing short whatever the payload.
        var maxMembers = (maxDecoded / 5) + 1;
        var slotCount = (int)BitOperations.RoundUpToPowerOf2((uint)(2 * maxMembers));
        var intCount = (2 * maxMembers) + slotCount;
        int[]? rentedInts = null;
        var ints = intCount <= StackInts
            ? stackalloc int[intCount]
            : (rentedInts = ArrayPool<int>.Shared.Rent(intCount)).AsSpan(0, intCount);
        if (rentedInts is not null)
        {
            // A stack buffer starts zeroed; a pooled one holds whatever it held.
            ints.Clear();
        }

        try
        {
            var status = Base64Url.DecodeFromChars(encoded, bytes[..maxDecoded], out _, out var written);
            if (status != OperationStatus.Done)
            {
                return AuthFailure.MalformedToken;
            }

            var names = new MemberNames(bytes[maxDecoded..], ints[..maxMembers], ints[maxMembers..(2 * maxMembers)], ints[(2 * maxMembers)..]);
            return ReadObject(bytes[..written], ref names, segment, ref facts);
        }
        finally
        {
            if (rentedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedBytes);
            }

            if (rentedInts is not null)
            {
                ArrayPool<int>.Shared.Return(rentedInts);
            }
        }
    }

    private static AuthFailure ReadObject(ReadOnlySpan<byte> json, ref MemberNames names, Segment segment, ref TokenFacts facts)
    {
        // Exactly one object, nothing before or after it; checked without the reader for the common garbage.
        if (json.Length < 2 || json[0] != (byte)'{' || json[^1] != (byte)'}' || !Utf8.IsValid(json))
        {
            return AuthFailure.MalformedToken;
        }

        var reader = new Utf8JsonReader(json, ReaderOptions);
        var sawEnc = false;
        try
        {
            reader.Read();
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    // The root object closed: it must end the segment (a second value or stray bytes must not follow).
                    if (reader.BytesConsumed != json.Length)
                    {
                        return AuthFailure.MalformedToken;
                    }

                    return segment == Segment.EncryptedHeader
                        ? sawEnc ? AuthFailure.EncryptedToken : AuthFailure.MalformedToken
                        : AuthFailure.None;
                }

                var name = names.Add(ref reader, out var duplicate);
                if (duplicate)
                {
                    return segment == Segment.EncryptedHeader ? AuthFailure.MalformedToken : AuthFailure.DuplicateTokenMember;
                }

                if (!reader.Read())
                {
                    return AuthFailure.MalformedToken;
                }

                var failure = segment switch
                {
                    Segment.Header => CheckHeaderParameter(name, ref reader, ref facts),
                    Segment.Payload => CheckClaim(name, ref reader, ref facts),
                    _ => AuthFailure.None,
                };
                if (failure != AuthFailure.None)
                {
                    return failure;
                }

                sawEnc |= segment == Segment.EncryptedHeader && name.SequenceEqual("enc"u8);
                reader.Skip();
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Utf8JsonReader's only way to say "not JSON" (or an escape that unescapes to a lone surrogate).
            return AuthFailure.MalformedToken;
        }

        return AuthFailure.MalformedToken;
    }

    private static AuthFailure CheckHeaderParameter(scoped ReadOnlySpan<byte> name, ref Utf8JsonReader reader, ref TokenFacts facts)
    {
        if (name.SequenceEqual("alg"u8))
        {
            return TryTakeString(ref reader, out facts.Algorithm);
        }

        if (name.SequenceEqual("kid"u8))
        {
            return TryTakeString(ref reader, out facts.KeyId);
        }

        if (name.SequenceEqual("typ"u8))
        {
            return TryTakeString(ref reader, out facts.Type);
        }

        // crit: extensions that must be understood; none are. zip: compressed payloads (JWE only, and a known
        // decompression-bomb vector). cty JWT: a nested token, whose inner claims would not be the ones validated.
        if (name.SequenceEqual("crit"u8) || name.SequenceEqual("zip"u8))
        {
            return AuthFailure.UnsupportedTokenHeader;
        }

        if (name.SequenceEqual("cty"u8))
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return AuthFailure.UnsupportedTokenHeader;
            }

            // Media types compare case-insensitively, and "application/" may be left out (RFC 7515 section 4.1.10).
            // Unescaping never lengthens a string, so any value that can spell "application/jwt" fits.
            Span<byte> value = stackalloc byte[96];
            var length = reader.ValueSpan.Length > value.Length ? -1
                : reader.ValueIsEscaped ? reader.CopyString(value) : Copy(reader.ValueSpan, value);
            if (length >= 0
                && (System.Text.Ascii.EqualsIgnoreCase(value[..length], "JWT"u8)
                    || System.Text.Ascii.EqualsIgnoreCase(value[..length], "application/jwt"u8)))
            {
                return AuthFailure.UnsupportedTokenHeader;
            }
        }

        return AuthFailure.None;
    }

    private static AuthFailure CheckClaim(scoped ReadOnlySpan<byte> name, ref Utf8JsonReader reader, ref TokenFacts facts)
    {
        if (name.SequenceEqual("iss"u8))
        {
            return TryTakeString(ref reader, out facts.Issuer);
        }

        if (!name.SequenceEqual("exp"u8) && !name.SequenceEqual("nbf"u8) && !name.SequenceEqual("iat"u8))
        {
            return AuthFailure.None;
        }

        // An integer literal (no fraction, no exponent) that a DateTime can hold.
        if (reader.TokenType != JsonTokenType.Number
            || !reader.TryGetInt64(out var seconds)
            || seconds is < 0 or > LatestNumericDate)
        {
            return AuthFailure.InvalidTimeClaim;
        }

        if (name[0] == (byte)'e')
        {
            facts.Expires = seconds;
        }
        else if (name[0] == (byte)'n')
        {
            facts.NotBefore = seconds;
        }
        else
        {
            facts.IssuedAt = seconds;
        }

        return AuthFailure.None;
    }

    /// <summary>The string the reader is on, unescaped as System.Text.Json (and so IdentityModel) reads it; anything else is malformed.</summary>
    private static AuthFailure TryTakeString(ref Utf8JsonReader reader, out string? value)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            value = null;
            return AuthFailure.MalformedToken;
        }

        value = reader.GetString();
        return AuthFailure.None;
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    /// <summary>
    /// The unescaped names of one object's members, in a caller-provided buffer, with an open-addressing hash set
    /// over them (<see cref="HashCode"/> is seeded per process, so names cannot be chosen to collide).
    /// </summary>
    private ref struct MemberNames(Span<byte> store, Span<int> starts, Span<int> lengths, Span<int> slots)
    {
        private readonly Span<byte> _store = store;
        private readonly Span<int> _starts = starts;
        private readonly Span<int> _lengths = lengths;
        private readonly Span<int> _slots = slots;
        private int _used;
        private int _count;

        /// <summary>Records the property name the reader is on and returns it, unescaped.</summary>
        public ReadOnlySpan<byte> Add(ref Utf8JsonReader reader, out bool duplicate)
        {
            var destination = _store[_used..];
            var length = reader.ValueIsEscaped ? reader.CopyString(destination) : Copy(reader.ValueSpan, destination);
            var name = destination[..length];

            var hash = new HashCode();
            hash.AddBytes(name);
            var mask = _slots.Length - 1;
            for (var slot = hash.ToHashCode() & mask; ; slot = (slot + 1) & mask)
            {
                var entry = _slots[slot] - 1;
                if (entry < 0)
                {
                    _slots[slot] = _count + 1;
                    break;
                }

                if (_store.Slice(_starts[entry], _lengths[entry]).SequenceEqual(name))
                {
                    duplicate = true;
                    return name;
                }
            }

            _starts[_count] = _used;
            _lengths[_count] = length;
            _count++;
            _used += length;
            duplicate = false;
            return name;
        }
    }
}

/// <summary>
/// What <see cref="TokenPrecheck"/> read on its way through a token: <c>alg</c>, <c>kid</c>, <c>typ</c>, <c>iss</c>,
/// <c>exp</c>, <c>nbf</c> and <c>iat</c>, each <see langword="null"/> when absent. Unvalidated: the sender wrote them.
/// </summary>
internal struct TokenFacts
{
    public string? Algorithm;
    public string? KeyId;
    public string? Type;
    public string? Issuer;
    public long? Expires;
    public long? NotBefore;
    public long? IssuedAt;
}
