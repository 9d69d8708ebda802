namespace GrpcJwtAuth.Rules;

/// <summary>
/// The configured rules sorted longest prefix first, so the first match is the longest. Built once at startup;
/// each method's result is cached by <see cref="Authorization.EndpointAuthorizationProvider"/>.
/// </summary>
internal sealed class RuleTable
{
    private readonly CompiledRule[] _rules;

    public RuleTable(IEnumerable<CompiledRule> rules)
    {
        _rules = rules
            .OrderByDescending(rule => rule.Prefix.Length)
            .ThenBy(rule => rule.Prefix, StringComparer.Ordinal)
            .ToArray();
    }

    public static RuleTable Empty { get; } = new([]);

    public int Count => _rules.Length;

    /// <summary>The rules, longest prefix first.</summary>
    public IReadOnlyList<CompiledRule> Rules => _rules;

    /// <summary>The rule with the longest prefix of <paramref name="method"/>, or <see langword="null"/>.</summary>
    public CompiledRule? Match(string method)
    {
        foreach (var rule in _rules)
        {
            if (Matches(rule.Prefix, method))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="prefix"/> covers <paramref name="method"/>: a prefix of it that ends at a name boundary.
    /// <c>/</c>, <c>/pkg.</c>, <c>/pkg.Service/</c> and <c>/pkg.Service</c> cover what their names say, and
    /// <c>/pkg.Service/Get</c> covers that one method, not <c>/pkg.Service/GetSecrets</c>: a rule meant for one
    /// method never opens (or closes) another whose name merely starts the same way.
    /// </summary>
    public static bool Matches(string prefix, string method)
    {
        if (!method.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        return prefix.Length == method.Length
            || prefix[^1] is '/' or '.'
            || method[prefix.Length] == '/';
    }

    public static RuleTable Compile(IEnumerable<GrpcJwtAuthRule> rules) =>
        new(rules.Select(rule => new CompiledRule(
            rule.Prefix,
            rule.Roles.Distinct(StringComparer.Ordinal).ToArray(),
            rule.Scopes.Distinct(StringComparer.Ordinal).ToArray(),
            rule.AllowAnonymous,
            rule.Policies.Distinct(StringComparer.Ordinal).ToArray(),
            rule.Issuers.Distinct(StringComparer.OrdinalIgnoreCase).ToArray())));
}
