using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Tool;

/// <summary>
/// Step 9: the configuration's rules for one method path, matched as the server matches them (<see cref="RuleTable"/>:
/// the longest prefix ending at a name boundary), turned into a policy as the server turns them
/// (<see cref="EndpointAuthorizationProvider.BuildAsync"/>) and evaluated for the caller as the server evaluates it
/// (<see cref="PolicyEvaluation"/>). Named policies, <c>[Authorize]</c> attributes, <c>RequireAuthorization()</c> and the
/// app's fallback policy live in the application's code: they are named, never guessed.
/// </summary>
internal sealed class MethodReport(ReportWriter writer, IServiceProvider services, CompiledAuthOptions options)
{
    private const string CodeNotVisible =
        "[Authorize] attributes, RequireAuthorization(), AddPolicy and the app's FallbackPolicy are in the application's code: this tool does not see them";

    public async Task<(CallDecision Decision, string? Note)> RunAsync(string method, CallDecision tokenDecision, JwtCaller? caller)
    {
        var shown = TokenReport.Quote(method);
        var rule = options.Rules.Match(method);
        var matching = options.Rules.Rules.Where(candidate => RuleTable.Matches(candidate.Prefix, method)).ToArray();

        if (rule is null)
        {
            writer.Step("method", tokenDecision.IsAllowed ? StepResult.Ok : StepResult.Fail,
                $"{shown}: no rule of GrpcJwtAuth:Rules matches; the server requires an authenticated caller");
            writer.Detail(CodeNotVisible);
            return (tokenDecision, tokenDecision.IsAllowed ? "if the application's code asks for nothing more" : null);
        }

        if (rule.AllowAnonymous)
        {
            writer.Step("method", StepResult.Ok, $"{shown}: rule {TokenReport.Quote(rule.Prefix)} allows anonymous callers (AllowAnonymous)");
            WriteOtherMatches(matching, rule);
            if (!tokenDecision.IsAllowed)
            {
                writer.Detail($"the token itself would be rejected ({tokenDecision.Status.Detail}); an anonymous method ignores a bad token");
            }

            writer.Detail(CodeNotVisible);
            return (CallDecision.Allowed, "the method allows anonymous callers");
        }

        // The rule's roles, scopes and issuers as the server's policy; its named policies are the app's to define.
        var policies = services.GetRequiredService<IAuthorizationPolicyProvider>();
        var authorization = await EndpointAuthorizationProvider.BuildAsync(
            policies, new EndpointMetadataCollection(), method, rule with { Policies = [] }).ConfigureAwait(false);
        var policy = authorization.Policy!;

        var results = policy.Requirements
            .Select(requirement => (Requirement: requirement, Met: caller is null ? (bool?)null : PolicyEvaluation.IsMet(requirement, caller)))
            .ToArray();
        var allMet = tokenDecision.IsAllowed && results.All(result => result.Met is not false);

        writer.Step("method", allMet ? StepResult.Ok : StepResult.Fail, $"{shown}: rule {TokenReport.Quote(rule.Prefix)} applies");
        WriteOtherMatches(matching, rule);
        foreach (var (requirement, met) in results)
        {
            writer.Detail(Describe(requirement, met, caller, tokenDecision.IsAllowed));
        }

        foreach (var name in rule.Policies)
        {
            writer.Detail($"policy {TokenReport.Quote(name)}: defined in the application's code (AddPolicy); not evaluated here");
        }

        writer.Detail(CodeNotVisible);

        if (!tokenDecision.IsAllowed)
        {
            return (tokenDecision, null);
        }

        // The server's evaluation of the rule's policy for this caller, and the status it sends when it fails.
        await using var scope = services.CreateAsyncScope();
        var httpContext = new DefaultHttpContext { RequestServices = scope.ServiceProvider, User = JwtCallPrincipal.For(caller!) };
        var denial = await new PolicyEvaluation(options.ExposeAuthorizationFailureReasons)
            .EvaluateAsync(authorization, policy, httpContext, caller, resource: null).ConfigureAwait(false);
        if (denial is { } denied)
        {
            return (new CallDecision(denied.Failure, denied.Detail), null);
        }

        return (CallDecision.Allowed, rule.Policies.Length > 0
            ? $"if the policies {string.Join(", ", rule.Policies.Select(TokenReport.Quote))} of the application's code pass"
            : null);
    }

    private void WriteOtherMatches(CompiledRule[] matching, CompiledRule applied)
    {
        foreach (var other in matching.Where(other => !ReferenceEquals(other, applied)))
        {
            writer.Detail($"rule {TokenReport.Quote(other.Prefix)} also matches, but does not apply: the longest prefix wins");
        }
    }

    private static string Describe(IAuthorizationRequirement requirement, bool? met, JwtCaller? caller, bool tokenAccepted)
    {
        var verdict = met switch
        {
            true => "met",
            false => "NOT met",
            null => "unknown",
        };
        switch (requirement)
        {
            case DenyAnonymousAuthorizationRequirement:
                return $"an authenticated caller: {(tokenAccepted ? "met" : "NOT met (the token is rejected)")}";
            case RolesAuthorizationRequirement roles:
                var missing = met is false ? $"; missing role: one of {TokenReport.List(roles.AllowedRoles)}, the token has {TokenReport.List(caller!.Roles)}" : string.Empty;
                return $"one of the roles {TokenReport.List(roles.AllowedRoles)}: {verdict}{missing}";
            case ScopeAuthorizationRequirement scopes:
                var lacking = caller is null ? [] : scopes.Scopes.Where(scope => !caller.HasScope(scope)).ToArray();
                return $"every scope of {TokenReport.List(scopes.Scopes)}: {verdict}{(lacking.Length > 0 ? $"; missing scope(s): {TokenReport.List(lacking)}" : string.Empty)}";
            case IssuerAuthorizationRequirement:
                return $"a token of the rule's Issuers ({TokenReport.Quote(caller?.IssuerName)} is this token's): {verdict}";
            default:
                return $"{requirement.GetType().Name}: {verdict}";
        }
    }
}
