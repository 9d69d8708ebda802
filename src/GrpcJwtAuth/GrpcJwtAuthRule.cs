namespace GrpcJwtAuth;

/// <summary>
/// An authorization rule for every gRPC method whose path (<c>/package.Service/Method</c>) starts with
/// <see cref="Prefix"/>.
/// </summary>
public sealed class GrpcJwtAuthRule
{
    /// <summary>
    /// The method-path prefix, starting with <c>/</c>: <c>/</c> for every method, <c>/greet.Greeter/</c> for one
    /// service, <c>/greet.Greeter/SayHello</c> for one method. Defaults to empty, which is invalid.
    /// </summary>
    public string Prefix { get; set; } = string.Empty;

    /// <summary>Roles of which the caller needs at least one. Defaults to empty (no role required).</summary>
    public IList<string> Roles { get; } = new List<string>();

    /// <summary>Scopes the caller needs, every one of them. Defaults to empty (no scope required).</summary>
    public IList<string> Scopes { get; } = new List<string>();

    /// <summary>
    /// Names of ASP.NET Core authorization policies (<c>AddAuthorization(o =&gt; o.AddPolicy(...))</c>) the call must also
    /// pass, every one of them. Defaults to empty.
    /// </summary>
    public IList<string> Policies { get; } = new List<string>();

    /// <summary>
    /// The trusted issuers (by name: <c>default</c> or a name of <see cref="GrpcJwtAuthOptions.TrustedIssuers"/>) whose
    /// tokens may call the matched methods; empty accepts any trusted issuer. A token of another issuer gets
    /// <c>PermissionDenied</c>.
    /// </summary>
    public IList<string> Issuers { get; } = new List<string>();

    /// <summary>
    /// Whether calls need no token at all; a valid token sent anyway still authenticates the caller, an invalid one is
    /// ignored. Cannot be combined with <see cref="Roles"/>, <see cref="Scopes"/> or <see cref="Policies"/>.
    /// Defaults to <see langword="false"/>.
    /// </summary>
    public bool AllowAnonymous { get; set; }
}
