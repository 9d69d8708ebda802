using System.Buffers;
using System.Globalization;
using System.Text;
using GrpcJwtAuth.Server;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// <c>iss</c>, <c>sub</c> and <c>jti</c> of a rejected token, for its Debug log line only. They are unvalidated (the
/// sender wrote them), so each is cut to <see cref="MaxLength"/> characters with every character that could change how a
/// log line reads replaced (see <see cref="Sanitize(string?, int)"/>), and
/// they are read only from tokens the validator already parsed: never from one refused before parsing (malformed,
/// encrypted, too large, or anything a pre-check turned away).
/// </summary>
internal readonly record struct RejectedTokenClaims(string? Issuer, string? Subject, string? TokenId)
{
    public const int MaxLength = 64;

    public static RejectedTokenClaims Read(string? token, AuthFailure failure)
    {
        if (token is null || !WasParsed(failure))
        {
            return default;
        }

        try
        {
            var jwt = new JsonWebToken(token);
            return new RejectedTokenClaims(Claim(jwt, "iss"), Claim(jwt, "sub"), Claim(jwt, "jti"));
        }
        catch (Exception)
        {
            // Whatever the parser says about the token stays here; the line goes out without claims.
            return default;
        }
    }

    /// <summary>Cuts an unvalidated value for a log line: at most <see cref="MaxLength"/> characters, no control characters.</summary>
    public static string? Sanitize(string? value) => Sanitize(value, MaxLength);

    /// <summary>
    /// Cuts an unvalidated value for a log line: at most <paramref name="maxLength"/> characters, then <c>…</c>. Every
    /// character that could change how a log line reads is replaced with <c>?</c>: controls (C0, C1, so also terminal
    /// escapes and NEL), format characters (bidirectional overrides such as U+202E, zero-width spaces, the BOM), line
    /// and paragraph separators (U+2028, U+2029), private-use and unassigned code points, and lone surrogates.
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
            // Never split a surrogate pair.
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

    /// <summary>Failures the validator reports only after the token parsed as a JWS.</summary>
    private static bool WasParsed(AuthFailure failure) => failure is AuthFailure.TokenExpired
        or AuthFailure.TokenTypeNotAccepted
        or AuthFailure.KeyNotFoundSourceUnavailable
        or AuthFailure.TokenNotYetValid
        or AuthFailure.NoExpiration
        or AuthFailure.InvalidLifetime
        or AuthFailure.SignatureKeyNotFound
        or AuthFailure.InvalidSignature
        or AuthFailure.AlgorithmNotAllowed
        or AuthFailure.IssuerNotAccepted
        or AuthFailure.AudienceNotAccepted
        or AuthFailure.KeysUnavailable;

    /// <summary>The claim if it is a string; nothing if it is missing or anything else (a number, an array).</summary>
    private static string? Claim(JsonWebToken jwt, string name)
    {
        try
        {
            return jwt.TryGetPayloadValue<string>(name, out var value) ? Sanitize(value) : null;
        }
        catch (Exception)
        {
            return null;
        }
    }
}
