namespace GrpcJwtAuth.Rules;

/// <summary>
/// The configured rules sorted longest prefix first, so the first match is the longest. Built once at startup;
/// each method's result is cached by <see cref="MethodPolicyProvider"/>.
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

    /// <summary>The rule with the longest prefix of <paramref name="method"/>, or <see langword="null"/>.</summary>
    public CompiledRule? Match(string method)
    {
        foreach (var rule in _rules)
        {
            if (method.StartsWith(rule.Prefix, StringComparison.Ordinal))
            {
                return rule;
            }
        }

        return null;
    }

    public static RuleTable Compile(IEnumerable<GrpcJwtAuthRule> rules) =>
        new(rules.Select(rule => new CompiledRule(
            rule.Prefix,
            rule.Roles.Distinct(StringComparer.Ordinal).ToArray(),
            rule.Scopes.Distinct(StringComparer.Ordinal).ToArray(),
            rule.AllowAnonymous)));
}
