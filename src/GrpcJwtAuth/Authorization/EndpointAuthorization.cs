using GrpcJwtAuth.Rules;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;

namespace GrpcJwtAuth.Authorization;

/// <summary>
/// What one routed gRPC method requires, resolved once (unless the app's policy provider forbids caching policies):
/// the endpoint's <c>[Authorize]</c>/<c>[AllowAnonymous]</c> metadata and attached policies, combined as ASP.NET Core's
/// authorization middleware combines them, together with the GrpcJwtAuth rule matching the method's declared name. A
/// rule's requirements always hold; <c>[AllowAnonymous]</c> waives the metadata's and the default gate, never a rule's.
/// A method with neither metadata nor a rule gets the app's <c>FallbackPolicy</c>, or else requires an authenticated
/// caller.
/// </summary>
internal sealed class EndpointAuthorization
{
    /// <summary>
    /// The name logs and metrics use for a call that reached no declared gRPC method: one fixed value, so the
    /// caller's spelling of a path never becomes a tag or a key.
    /// </summary>
    public const string OtherMethod = "_OTHER";

    private static readonly Type[] NativeRequirements =
    [
        typeof(DenyAnonymousAuthorizationRequirement),
        typeof(RolesAuthorizationRequirement),
        typeof(ScopeAuthorizationRequirement),
        typeof(IssuerAuthorizationRequirement),
        typeof(ClaimsAuthorizationRequirement),
        typeof(NameAuthorizationRequirement),
    ];

    public EndpointAuthorization(
        string method,
        CompiledRule? rule,
        AuthorizationPolicy? policy,
        AuthorizationPolicy? metadataPolicy,
        AuthorizationPolicy? rulePolicy,
        IReadOnlyDictionary<IAuthorizationRequirement, string> policyNames)
    {
        Method = method;
        RpcMethod = method.StartsWith('/') ? method[1..] : method;
        Rule = rule;
        Policy = policy;
        MetadataPolicy = metadataPolicy;
        RulePolicy = rulePolicy;
        PolicyNames = policyNames;
        UsesOwnScheme = policy is null || policy.AuthenticationSchemes.Count == 0
            || (policy.AuthenticationSchemes.Count == 1 && policy.AuthenticationSchemes[0] == GrpcJwtAuthDefaults.AuthenticationScheme);
        IsNative = policy is null || policy.Requirements.All(IsNativeRequirement);
    }

    private EndpointAuthorization(string method, Server.AuthFailure failure)
        : this(method, rule: null, policy: null, metadataPolicy: null, rulePolicy: null, new Dictionary<IAuthorizationRequirement, string>())
    {
        Failure = failure;
    }

    /// <summary>A request with no gRPC method endpoint: its requirements cannot be known, so it is denied.</summary>
    public static EndpointAuthorization Unresolved { get; } = new(OtherMethod, Server.AuthFailure.UnresolvedMethod);

    /// <summary>A method whose requirements name a policy the app does not define: denied, as ASP.NET Core would fail it.</summary>
    public static EndpointAuthorization UndefinedPolicy(string method) => new(method, Server.AuthFailure.PolicyNotFound);

    /// <summary>The method's declared name, or <see cref="OtherMethod"/>: what logs and metrics call it.</summary>
    public string Method { get; }

    /// <summary>OpenTelemetry's <c>rpc.method</c>: <c>package.Service/Method</c>, or <see cref="OtherMethod"/>.</summary>
    public string RpcMethod { get; }

    public CompiledRule? Rule { get; }

    /// <summary>Everything the call must pass; <see langword="null"/> when the method is anonymous.</summary>
    public AuthorizationPolicy? Policy { get; }

    /// <summary>The metadata's part of <see cref="Policy"/> (what ASP.NET Core's authorization middleware evaluates).</summary>
    public AuthorizationPolicy? MetadataPolicy { get; }

    /// <summary>The rule's part of <see cref="Policy"/>.</summary>
    public AuthorizationPolicy? RulePolicy { get; }

    /// <summary>For each requirement of a named policy, that name: a failure names the policy.</summary>
    public IReadOnlyDictionary<IAuthorizationRequirement, string> PolicyNames { get; }

    /// <summary>A failure every call gets (an unresolved method, an undefined policy); <see cref="Server.AuthFailure.None"/> otherwise.</summary>
    public Server.AuthFailure Failure { get; }

    public bool IsAnonymous => Policy is null && Failure == Server.AuthFailure.None;

    /// <summary>Whether the caller is authenticated with GrpcJwtAuth's scheme (the policy names no other).</summary>
    public bool UsesOwnScheme { get; }

    /// <summary>Whether every requirement is one GrpcJwtAuth evaluates itself exactly as ASP.NET Core's handlers would.</summary>
    public bool IsNative { get; }

    private static bool IsNativeRequirement(IAuthorizationRequirement requirement) =>
        Array.IndexOf(NativeRequirements, requirement.GetType()) >= 0;
}
