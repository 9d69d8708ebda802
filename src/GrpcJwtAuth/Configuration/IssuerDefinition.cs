using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Configuration;

internal enum RemoteKeySourceKind
{
    None,
    Discovery,
    Jwks,
}

/// <summary>
/// One trust domain, compiled at startup: the <c>iss</c> values it answers for, where its keys come from, and what its
/// tokens must satisfy. A key belongs to exactly one issuer and is used only for tokens whose <c>iss</c> routes to it
/// (RFC 8725 section 3.8): the keys of a key endpoint sign for the issuer the endpoint serves, a static key for the
/// issuer it is configured with. Immutable.
/// </summary>
internal sealed class IssuerDefinition
{
    /// <summary>The name of the issuer the top-level settings describe.</summary>
    public const string DefaultName = "default";

    private readonly TokenValidationParameters _baseParameters;

    public IssuerDefinition(
        string name,
        string[] issuers,
        bool validateIssuer,
        RemoteKeySourceKind remoteKind,
        string? remoteAddress,
        string? expectedDiscoveryIssuer,
        IReadOnlyList<SigningKey> staticKeys,
        string[] algorithms,
        IssuerProfile profile,
        IssuerTemplate? template = null,
        string? tenant = null)
    {
        Name = name;
        Issuers = issuers;
        ValidateIssuer = validateIssuer;
        RemoteKind = remoteKind;
        RemoteAddress = remoteAddress;
        ExpectedDiscoveryIssuer = expectedDiscoveryIssuer;
        StaticKeys = staticKeys;
        Algorithms = algorithms;
        Profile = profile;
        Template = template;
        Tenant = tenant;
        KeySourceName = tenant is null ? name : $"{name}/{tenant}";
        _baseParameters = profile.BaseParameters;
    }

    /// <summary>
    /// The trust domain's name, as rules, policies and <see cref="JwtCaller.IssuerName"/> know it: a name of
    /// <see cref="GrpcJwtAuthOptions.TrustedIssuers"/>, <see cref="DefaultName"/>, or the <c>iss</c> of a top-level
    /// static key's own issuer.
    /// </summary>
    public string Name { get; }

    /// <summary>The name of this definition's keys in logs, metrics and health: <see cref="Name"/>, or <c>name/tenant</c> for one tenant's keys.</summary>
    public string KeySourceName { get; }

    /// <summary>What this issuer's tokens are checked against beside keys: claim types, clock skew, key fetching.</summary>
    public IssuerProfile Profile { get; }

    /// <summary>The <c>iss</c> pattern of a multi-tenant issuer whose keys all its tenants share; <see langword="null"/> otherwise.</summary>
    public IssuerTemplate? Template { get; }

    /// <summary>The tenant whose own keys these are (a template with a per-tenant key source); <see langword="null"/> otherwise.</summary>
    public string? Tenant { get; }

    /// <summary>The tenant a validated token of this issuer belongs to: its own, or the one its <c>iss</c> names in the template.</summary>
    public string? TenantOf(string? issuer) =>
        Tenant ?? (Template is not null && issuer is not null && Template.TryMatch(issuer, out var tenant) ? tenant : null);

    /// <summary>
    /// The exact <c>iss</c> values this issuer answers for. Empty for a discovery source without configured issuers: it
    /// answers for the <c>issuer</c> its document names.
    /// </summary>
    public string[] Issuers { get; }

    public bool ValidateIssuer { get; }

    /// <summary>Whether the accepted <c>iss</c> is the one the discovery document names.</summary>
    public bool UsesDiscoveredIssuer => Issuers.Length == 0 && Template is null && RemoteKind == RemoteKeySourceKind.Discovery;

    public RemoteKeySourceKind RemoteKind { get; }

    public string? RemoteAddress { get; }

    /// <summary>
    /// The <c>issuer</c> a discovery document must name (OpenID Connect Discovery section 4.3, RFC 8414 section 3.3):
    /// the authority it was fetched from. <see langword="null"/> when it cannot be derived from the address; the
    /// document must then name one of <see cref="Issuers"/>.
    /// </summary>
    public string? ExpectedDiscoveryIssuer { get; }

    public IReadOnlyList<SigningKey> StaticKeys { get; }

    /// <summary>The algorithms this issuer's tokens may use: the allowed list, narrowed to what its keys can verify.</summary>
    public string[] Algorithms { get; }

    public TimeSpan AutomaticRefreshInterval => Profile.AutomaticRefreshInterval;

    public TimeSpan MinimumRefreshInterval => Profile.MinimumRefreshInterval;

    public TimeSpan KeyFetchTimeout => Profile.KeyFetchTimeout;

    public TimeSpan KeyRefreshWaitTimeout => Profile.KeyRefreshWaitTimeout;

    public bool RequireHttpsMetadata => Profile.RequireHttpsMetadata;

    public int MaxKeyDocumentBytes => Profile.MaxKeyDocumentBytes;

    /// <summary>The validation parameters for one key set of this issuer; built when keys change, never per call.</summary>
    public TokenValidationParameters ParametersFor(SigningKeySet set)
    {
        var parameters = _baseParameters.Clone();
        parameters.ValidAlgorithms = Algorithms;

        // The signature is checked before IdentityModel parses the token (Tokens.SignatureCheck), with the keys
        // SigningKeySet.Find chose; IdentityModel is handed that verified token and never tries a key itself.
        parameters.SignatureValidator = Tokens.SignatureCheck.Verified;
        parameters.TryAllIssuerSigningKeys = false;
        parameters.ValidIssuers = UsesDiscoveredIssuer
            ? set.DiscoveredIssuer is null ? [] : [set.DiscoveredIssuer]
            : Issuers;
        if (Template is { } template)
        {
            // Routing already matched the template; IdentityModel checks the validated token's iss the same way.
            parameters.IssuerValidator = (issuer, _, _) => template.Accepts(issuer)
                ? issuer
                : throw new SecurityTokenInvalidIssuerException("The token's issuer is not an accepted tenant of the issuer template.");
        }

        return parameters;
    }

    /// <summary>
    /// Whether a token naming <paramref name="issuer"/> belongs here by way of the discovery document: its exact
    /// <c>issuer</c> once fetched; before that, the authority the document must name (trailing slash aside), so that
    /// the call waits for the first fetch instead of being told its issuer is unknown.
    /// </summary>
    public bool AcceptsDiscoveredIssuer(string issuer, SigningKeySet current)
    {
        if (current.DiscoveredIssuer is { } discovered)
        {
            return string.Equals(discovered, issuer, StringComparison.Ordinal);
        }

        return ExpectedDiscoveryIssuer is { } expected && SameIgnoringTrailingSlash(expected, issuer);
    }

    /// <summary>Equal, or equal but for one trailing <c>/</c> on either side.</summary>
    public static bool SameIgnoringTrailingSlash(string a, string b) =>
        WithoutTrailingSlash(a).Equals(WithoutTrailingSlash(b), StringComparison.Ordinal);

    private static ReadOnlySpan<char> WithoutTrailingSlash(string value) =>
        value.EndsWith('/') ? value.AsSpan(0, value.Length - 1) : value.AsSpan();
}

/// <summary>An issuer's settings beside its keys and <c>iss</c> values, resolved once (see <see cref="IssuerSettings"/>).</summary>
internal sealed record IssuerProfile(
    TimeSpan AutomaticRefreshInterval,
    TimeSpan MinimumRefreshInterval,
    TimeSpan KeyFetchTimeout,
    TimeSpan KeyRefreshWaitTimeout,
    bool RequireHttpsMetadata,
    int MaxKeyDocumentBytes,
    TimeSpan ClockSkew,
    string[] RoleClaimTypes,
    string[] ScopeClaimTypes,
    LifetimeCheck Lifetime,
    TokenValidationParameters BaseParameters);
