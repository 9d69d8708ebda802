namespace GrpcJwtAuth.Tokens;

/// <summary>
/// The <c>typ</c> header values accepted: media types compared case-insensitively, with <c>application/</c> assumed
/// in front of a value without a <c>/</c> (RFC 7515 section 4.1.9), so <c>at+jwt</c>, <c>AT+JWT</c> and
/// <c>application/at+jwt</c> are one type. A token without <c>typ</c> is accepted unless the settings require one.
/// </summary>
internal sealed class TokenTypes
{
    private const string Application = "application/";

    public static readonly string[] Defaults = ["at+jwt", "JWT"];

    private readonly string[] _subtypes;

    public TokenTypes(IEnumerable<string> types, bool requireType)
    {
        _subtypes = types.Select(Subtype).Where(subtype => subtype is not null).Distinct(StringComparer.OrdinalIgnoreCase).ToArray()!;
        RequireType = requireType;
    }

    public bool RequireType { get; }

    /// <summary>Whether a token whose header holds <paramref name="typ"/> (<see langword="null"/> when it has none) is accepted.</summary>
    public bool Accepts(string? typ)
    {
        if (typ is null)
        {
            return !RequireType;
        }

        var value = typ.AsSpan();
        if (value.Contains('/'))
        {
            if (!value.StartsWith(Application, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            value = value[Application.Length..];
        }

        if (value.IsEmpty)
        {
            return false;
        }

        foreach (var subtype in _subtypes)
        {
            if (value.Equals(subtype, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The part after <c>application/</c>; <see langword="null"/> for another top-level type.</summary>
    private static string? Subtype(string type)
    {
        if (!type.Contains('/', StringComparison.Ordinal))
        {
            return type;
        }

        return type.StartsWith(Application, StringComparison.OrdinalIgnoreCase) ? type[Application.Length..] : null;
    }
}
