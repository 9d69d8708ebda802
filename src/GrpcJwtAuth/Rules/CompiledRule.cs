namespace GrpcJwtAuth.Rules;

/// <summary>A validated <see cref="GrpcJwtAuthRule"/> with its lists copied into arrays.</summary>
internal sealed record CompiledRule(string Prefix, string[] Roles, string[] Scopes, bool AllowAnonymous, string[] Policies)
{
    /// <summary>Whether the rule asks for anything beyond an authenticated caller.</summary>
    public bool HasRequirements => Roles.Length > 0 || Scopes.Length > 0 || Policies.Length > 0;
}
