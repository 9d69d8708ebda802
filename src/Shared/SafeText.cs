using System.Buffers;
using System.Globalization;
using System.Text;

namespace GrpcJwtAuth.Shared;

/// <summary>
/// Makes text someone else wrote (a token's claims, an identity provider's error description, a key id) safe to put in
/// a log line or an exception message: cut to a length, with every character that could change how a line reads
/// replaced by <c>?</c>. Linked into both packages.
/// </summary>
internal static class SafeText
{
    /// <summary>
    /// At most <paramref name="maxLength"/> characters, then <c>…</c>; controls (C0, C1, so also terminal escapes and
    /// NEL), format characters (bidirectional overrides such as U+202E, zero-width spaces, the BOM), line and paragraph
    /// separators (U+2028, U+2029), private-use and unassigned code points, and lone surrogates become <c>?</c>. A cut
    /// never splits a surrogate pair. Printable text in any script is kept as it is.
    /// </summary>
    public static string? Sanitize(string? value, int maxLength)
    {
        if (value is null)
        {
            return null;
        }

        var cut = value.Length > maxLength;
        var end = cut ? maxLength : value.Length;
        if (cut && end > 0 && char.IsHighSurrogate(value[end - 1]))
        {
            end--;
        }

        if (!cut && IsPlain(value))
        {
            return value;
        }

        var result = new StringBuilder(end + 1);
        var rest = value.AsSpan(0, end);
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) == OperationStatus.Done && IsPrintable(rune))
            {
                result.Append(rest[..consumed]);
            }
            else
            {
                result.Append('?', consumed);
            }

            rest = rest[consumed..];
        }

        if (cut)
        {
            result.Append('…');
        }

        return result.ToString();
    }

    private static bool IsPlain(string value)
    {
        foreach (var c in value)
        {
            // Printable ASCII needs no look at categories: the common case costs one pass.
            if (c is < ' ' or > '~')
            {
                return IsPrintableText(value);
            }
        }

        return true;
    }

    private static bool IsPrintableText(string value)
    {
        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != OperationStatus.Done || !IsPrintable(rune))
            {
                return false;
            }

            rest = rest[consumed..];
        }

        return true;
    }

    private static bool IsPrintable(Rune rune) => Rune.GetUnicodeCategory(rune) is not (
        UnicodeCategory.Control
        or UnicodeCategory.Format
        or UnicodeCategory.LineSeparator
        or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.PrivateUse
        or UnicodeCategory.OtherNotAssigned
        or UnicodeCategory.Surrogate);
}
