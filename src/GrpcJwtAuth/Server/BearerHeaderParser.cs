using System.Buffers;
using Microsoft.Extensions.Primitives;

namespace GrpcJwtAuth.Server;

/// <summary>
/// Reads <c>authorization: Bearer &lt;token&gt;</c> (RFC 6750 section 2.1): exactly one entry, the scheme compared
/// case-insensitively, one or more spaces, then one b64token. Works on spans and allocates nothing.
/// </summary>
internal static class BearerHeaderParser
{
    private const string Scheme = "Bearer";

    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");

    /// <summary>
    /// Finds the token in the <c>authorization</c> entries. On success the token is
    /// <c>value.AsSpan(start, length)</c>.
    /// </summary>
    public static AuthFailure TryGetToken(StringValues entries, int maxTokenLength, out string value, out int start, out int length)
    {
        value = string.Empty;
        start = 0;
        length = 0;

        if (entries.Count == 0)
        {
            return AuthFailure.MissingAuthorization;
        }

        if (entries.Count > 1)
        {
            return AuthFailure.MultipleAuthorization;
        }

        var entry = entries[0];
        if (string.IsNullOrEmpty(entry))
        {
            return AuthFailure.EmptyAuthorization;
        }

        var failure = TryGetToken(entry.AsSpan(), maxTokenLength, out start, out length);
        if (failure == AuthFailure.None)
        {
            value = entry;
        }

        return failure;
    }

    /// <summary>Parses one <c>authorization</c> value; on success the token is <c>span.Slice(start, length)</c>.</summary>
    public static AuthFailure TryGetToken(ReadOnlySpan<char> entry, int maxTokenLength, out int start, out int length)
    {
        start = 0;
        length = 0;

        // Optional whitespace around a field value is not part of it (RFC 9110 section 5.5).
        var trimmedStart = 0;
        while (trimmedStart < entry.Length && IsOws(entry[trimmedStart]))
        {
            trimmedStart++;
        }

        var trimmedEnd = entry.Length;
        while (trimmedEnd > trimmedStart && IsOws(entry[trimmedEnd - 1]))
        {
            trimmedEnd--;
        }

        if (trimmedStart == trimmedEnd)
        {
            return AuthFailure.EmptyAuthorization;
        }

        var value = entry[trimmedStart..trimmedEnd];
        var schemeEnd = value.IndexOfAny(' ', '\t');
        var scheme = schemeEnd < 0 ? value : value[..schemeEnd];
        if (!scheme.Equals(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return AuthFailure.NotBearerScheme;
        }

        if (schemeEnd < 0)
        {
            return AuthFailure.MissingBearerToken;
        }

        // 1*SP between scheme and token; a tab there is not allowed.
        var tokenStart = schemeEnd;
        while (tokenStart < value.Length && value[tokenStart] == ' ')
        {
            tokenStart++;
        }

        if (tokenStart < value.Length && value[tokenStart] == '\t')
        {
            return AuthFailure.MalformedBearerValue;
        }

        var token = value[tokenStart..];
        if (token.IsEmpty)
        {
            return AuthFailure.MissingBearerToken;
        }

        if (token.Length > maxTokenLength)
        {
            return AuthFailure.TokenTooLarge;
        }

        // The token chars, then optional '=' padding, then nothing (a space here means a second token).
        var firstNonToken = token.IndexOfAnyExcept(TokenChars);
        if (firstNonToken == 0)
        {
            return AuthFailure.MalformedBearerValue;
        }

        if (firstNonToken > 0)
        {
            var padding = token[firstNonToken..];
            if (padding.IndexOfAnyExcept('=') >= 0)
            {
                return AuthFailure.MalformedBearerValue;
            }
        }

        start = trimmedStart + tokenStart;
        length = token.Length;
        return AuthFailure.None;
    }

    private static bool IsOws(char c) => c is ' ' or '\t';
}
