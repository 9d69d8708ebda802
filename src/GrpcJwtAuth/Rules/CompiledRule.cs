namespace GrpcJwtAuth.Rules;

/// <summary>A validated <see cref="GrpcJwtAuthRule"/> with its lists copied into arrays.</summary>
internal sealed record CompiledRule(string Prefix, string[] Roles, string[] Scopes, bool AllowAnonymous, string[] Policies, string[]? Issuers = null);
