using System.Collections.Frozen;

namespace GrpcJwtAuth.Issuers;

/// <summary>
/// A multi-tenant issuer's <c>iss</c> pattern, such as <c>https://login.microsoftonline.com/{tenantid}/v2.0</c>, and the
/// tenants it accepts. A token's <c>iss</c> matches when it is the template with a tenant id in place of the
/// placeholder; the id must look like one (1 to 128 letters, digits, <c>.</c>, <c>_</c> or <c>-</c>) and be accepted
/// (listed, or approved by the validator). Matching is ordinal and allocates only the tenant id.
/// </summary>
internal sealed class IssuerTemplate
{
    public const int MaxTenantLength = 128;

    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _listed;
    private readonly Func<string, bool>? _validator;

    public IssuerTemplate(string template, IEnumerable<string> tenants, Func<string, bool>? validator)
    {
        var at = template.IndexOf(GrpcJwtAuthIssuerOptions.TenantPlaceholder, StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            throw new ArgumentException($"The issuer template has no {GrpcJwtAuthIssuerOptions.TenantPlaceholder}.", nameof(template));
        }

        Template = template;
        Prefix = template[..at];
        Suffix = template[(at + GrpcJwtAuthIssuerOptions.TenantPlaceholder.Length)..];
        _listed = tenants.ToFrozenSet(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _validator = validator;
    }

    public string Template { get; }

    public string Prefix { get; }

    public string Suffix { get; }

    /// <summary>Whether <paramref name="issuer"/> has this template's shape, and if so the tenant id in it (not yet accepted).</summary>
    public bool TryMatch(string issuer, out string tenant)
    {
        if (!TryMatch(issuer, out int start, out var length))
        {
            tenant = string.Empty;
            return false;
        }

        tenant = issuer.Substring(start, length);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="issuer"/> is this template filled with an accepted tenant: what routing asks of every
    /// token naming such an issuer. A listed tenant costs no allocation.
    /// </summary>
    public bool Accepts(string issuer) => TryMatch(issuer, out int start, out var length) && Accepts(issuer.AsSpan(start, length));

    private bool TryMatch(string issuer, out int start, out int length)
    {
        start = Prefix.Length;
        length = issuer.Length - Prefix.Length - Suffix.Length;
        return length is >= 1 and <= MaxTenantLength
            && issuer.StartsWith(Prefix, StringComparison.Ordinal)
            && issuer.EndsWith(Suffix, StringComparison.Ordinal)
            && IsTenantId(issuer.AsSpan(start, length));
    }

    /// <summary>Whether the tenant is listed or, failing that, approved by the validator. A validator that throws approves nothing.</summary>
    private bool Accepts(ReadOnlySpan<char> tenant)
    {
        if (_listed.Contains(tenant))
        {
            return true;
        }

        if (_validator is null)
        {
            return false;
        }

        try
        {
            return _validator(tenant.ToString());
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>Whether some <c>iss</c> could match both templates (so routing would be ambiguous).</summary>
    public bool Overlaps(IssuerTemplate other) =>
        (Prefix.StartsWith(other.Prefix, StringComparison.Ordinal) || other.Prefix.StartsWith(Prefix, StringComparison.Ordinal))
        && (Suffix.EndsWith(other.Suffix, StringComparison.Ordinal) || other.Suffix.EndsWith(Suffix, StringComparison.Ordinal));

    public static bool IsTenantId(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxTenantLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
