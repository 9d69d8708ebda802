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
    public static AuthFailure TryGetToken(StringValues entries, int maxTokenLength, out string value, out int start, out int length) =>
        TryGetToken(entries, maxTokenLength, checkTokenSyntax: true, out value, out start, out length);

    /// <summary>
    /// As <see cref="TryGetToken(StringValues, int, out string, out int, out int)"/>; without
    /// <paramref name="checkTokenSyntax"/> the token's characters are left for <see cref="IsToken"/> to check, for a
    /// caller that first compares the token with tokens it already validated (which can only match a well-formed one).
    /// </summary>
    public static AuthFailure TryGetToken(
        StringValues entries, int maxTokenLength, bool checkTokenSyntax, out string value, out int start, out int length)
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

        var failure = TryGetToken(entry.AsSpan(), maxTokenLength, checkTokenSyntax, out start, out length);
        if (failure == AuthFailure.None)
        {
            value = entry;
        }

        return failure;
    }

    /// <summary>Parses one <c>authorization</c> value; on success the token is <c>span.Slice(start, length)</c>.</summary>
    public static AuthFailure TryGetToken(ReadOnlySpan<char> entry, int maxTokenLength, out int start, out int length) =>
        TryGetToken(entry, maxTokenLength, checkTokenSyntax: true, out start, out length);

    private static AuthFailure TryGetToken(ReadOnlySpan<char> entry, int maxTokenLength, bool checkTokenSyntax, out int start, out int length)
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

        if (checkTokenSyntax && !IsToken(token))
        {
            return AuthFailure.MalformedBearerValue;
        }

        start = trimmedStart + tokenStart;
        length = token.Length;
        return AuthFailure.None;
    }

    /// <summary>
    /// Whether <paramref name="token"/> is one b64token (RFC 6750 section 2.1): token characters, then optional
    /// <c>=</c> padding, then nothing (a space here means a second token).
    /// </summary>
    public static bool IsToken(ReadOnlySpan<char> token)
    {
        var firstNonToken = token.IndexOfAnyExcept(TokenChars);
        if (firstNonToken == 0)
        {
            return false;
        }

        return firstNonToken < 0 || token[firstNonToken..].IndexOfAnyExcept('=') < 0;
    }

    private static bool IsOws(char c) => c is ' ' or '\t';
}
