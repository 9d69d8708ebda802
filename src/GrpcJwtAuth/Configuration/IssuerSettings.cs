namespace GrpcJwtAuth.Configuration;

/// <summary>
/// The settings of one trust domain with inheritance applied: the top-level settings of <see cref="GrpcJwtAuthOptions"/>
/// (the issuer named <see cref="IssuerDefinition.DefaultName"/>), or one entry of
/// <see cref="GrpcJwtAuthOptions.TrustedIssuers"/> with what it leaves unset taken from the top level. What the
/// validator checks and the compiler builds from, so both read the same values under the same configuration keys.
/// </summary>
internal sealed class IssuerSettings
{
    /// <summary>The configuration section of the named issuers.</summary>
    public const string TrustedIssuersKey = GrpcJwtAuthOptions.SectionName + ":" + nameof(GrpcJwtAuthOptions.TrustedIssuers);

    private IssuerSettings(GrpcJwtAuthOptions top, string name, string key)
    {
        Name = name;
        Key = key;
        Audiences = top.Audiences;
        ValidAlgorithms = top.ValidAlgorithms;
        RoleClaimTypes = top.RoleClaimTypes;
        ScopeClaimTypes = top.ScopeClaimTypes;
        ClockSkew = top.ClockSkew;
        RequireHttpsMetadata = top.RequireHttpsMetadata;
        JwksAutomaticRefreshInterval = top.JwksAutomaticRefreshInterval;
        JwksMinimumRefreshInterval = top.JwksMinimumRefreshInterval;
        KeyFetchTimeout = top.KeyFetchTimeout;
        KeyRefreshWaitTimeout = top.KeyRefreshWaitTimeout;
        MaxKeyDocumentBytes = top.MaxKeyDocumentBytes;
    }

    /// <summary>The issuer's name in logs, metrics, health, rules and policies.</summary>
    public string Name { get; }

    /// <summary>The configuration key of this issuer's settings, for error messages: <c>GrpcJwtAuth</c> or <c>GrpcJwtAuth:TrustedIssuers:users</c>.</summary>
    public string Key { get; }

    /// <summary>The named issuer's own settings, before inheritance; <see langword="null"/> for the top level.</summary>
    public GrpcJwtAuthIssuerOptions? Own { get; private init; }

    /// <summary>Whether these are the top-level settings.</summary>
    public bool IsTopLevel => Key == GrpcJwtAuthOptions.SectionName;

    public string? Authority { get; private init; }

    public string? MetadataAddress { get; private init; }

    public string? JwksUri { get; private init; }

    public IList<GrpcJwtAuthStaticKey> StaticKeys { get; private init; } = [];

    public IList<string> Issuers { get; private init; } = [];

    public string? IssuerTemplate { get; private init; }

    public IList<string> Tenants { get; private init; } = [];

    public Func<string, bool>? TenantValidator { get; private init; }

    public IList<string> Audiences { get; private init; }

    public IList<string> ValidAlgorithms { get; private init; }

    public IList<string> RoleClaimTypes { get; private init; }

    public IList<string> ScopeClaimTypes { get; private init; }

    public TimeSpan ClockSkew { get; private init; }

    public bool RequireHttpsMetadata { get; private init; }

    public TimeSpan JwksAutomaticRefreshInterval { get; private init; }

    public TimeSpan JwksMinimumRefreshInterval { get; private init; }

    public TimeSpan KeyFetchTimeout { get; private init; }

    public TimeSpan KeyRefreshWaitTimeout { get; private init; }

    public int MaxKeyDocumentBytes { get; private init; }

    public bool HasRemoteSource =>
        !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(MetadataAddress) || !string.IsNullOrWhiteSpace(JwksUri);

    public bool HasKeySource => HasRemoteSource || StaticKeys.Count > 0;

    /// <summary>Whether the key source differs per tenant (it contains <see cref="GrpcJwtAuthIssuerOptions.TenantPlaceholder"/>).</summary>
    public bool HasPerTenantSource =>
        ContainsPlaceholder(Authority) || ContainsPlaceholder(MetadataAddress) || ContainsPlaceholder(JwksUri);

    /// <summary>
    /// Every trust domain the options describe: the top-level settings when they name a key source (or when nothing
    /// else is configured, so that the missing source is reported there), then each named issuer, in order.
    /// </summary>
    public static IReadOnlyList<IssuerSettings> All(GrpcJwtAuthOptions options)
    {
        var all = new List<IssuerSettings>();
        var topLevel = new IssuerSettings(options, IssuerDefinition.DefaultName, GrpcJwtAuthOptions.SectionName)
        {
            Authority = options.Authority,
            MetadataAddress = options.MetadataAddress,
            JwksUri = options.JwksUri,
            StaticKeys = options.StaticKeys,
            Issuers = options.Issuers,
        };
        if (topLevel.HasKeySource || options.TrustedIssuers.Count == 0)
        {
            all.Add(topLevel);
        }

        foreach (var (name, issuer) in options.TrustedIssuers)
        {
            if (issuer is null)
            {
                continue;
            }

            all.Add(new IssuerSettings(options, name, $"{TrustedIssuersKey}:{name}")
            {
                Own = issuer,
                Authority = issuer.Authority,
                MetadataAddress = issuer.MetadataAddress,
                JwksUri = issuer.JwksUri,
                StaticKeys = issuer.StaticKeys,
                Issuers = issuer.Issuers,
                IssuerTemplate = issuer.IssuerTemplate,
                Tenants = issuer.Tenants,
                TenantValidator = issuer.TenantValidator,
                Audiences = issuer.Audiences.Count > 0 ? issuer.Audiences : options.Audiences,
                ValidAlgorithms = issuer.ValidAlgorithms.Count > 0 ? issuer.ValidAlgorithms : options.ValidAlgorithms,
                RoleClaimTypes = issuer.RoleClaimTypes.Count > 0 ? issuer.RoleClaimTypes : options.RoleClaimTypes,
                ScopeClaimTypes = issuer.ScopeClaimTypes.Count > 0 ? issuer.ScopeClaimTypes : options.ScopeClaimTypes,
                ClockSkew = issuer.ClockSkew ?? options.ClockSkew,
                RequireHttpsMetadata = issuer.RequireHttpsMetadata ?? options.RequireHttpsMetadata,
                JwksAutomaticRefreshInterval = issuer.JwksAutomaticRefreshInterval ?? options.JwksAutomaticRefreshInterval,
                JwksMinimumRefreshInterval = issuer.JwksMinimumRefreshInterval ?? options.JwksMinimumRefreshInterval,
                KeyFetchTimeout = issuer.KeyFetchTimeout ?? options.KeyFetchTimeout,
                KeyRefreshWaitTimeout = issuer.KeyRefreshWaitTimeout ?? options.KeyRefreshWaitTimeout,
                MaxKeyDocumentBytes = issuer.MaxKeyDocumentBytes ?? options.MaxKeyDocumentBytes,
            });
        }

        return all;
    }

    /// <summary><paramref name="value"/> with the tenant placeholder replaced by <paramref name="tenant"/>.</summary>
    public static string? ForTenant(string? value, string tenant) =>
        value?.Replace(GrpcJwtAuthIssuerOptions.TenantPlaceholder, tenant, StringComparison.OrdinalIgnoreCase);

    public static bool ContainsPlaceholder(string? value) =>
        value?.Contains(GrpcJwtAuthIssuerOptions.TenantPlaceholder, StringComparison.OrdinalIgnoreCase) == true;
}
