using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Shared;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Configuration;

/// <summary>
/// Checks <see cref="GrpcJwtAuthOptions"/> at startup and reports every problem at once, each naming its
/// configuration key and what to do about it.
/// </summary>
internal sealed class GrpcJwtAuthOptionsValidator : IValidateOptions<GrpcJwtAuthOptions>
{
    private const string S = GrpcJwtAuthOptions.SectionName;

    // Said for the top-level static keys' own issuers (ValidateIssuers) and for named issuers (ValidateTrustedIssuers).
    private const string IssuerValidationNeeded =
        $"{S}:ValidateIssuer is false, but keys belong to more than one issuer; a token's iss decides which keys may " +
        $"verify it, so it must be validated. Set {S}:ValidateIssuer=true.";

    public ValidateOptionsResult Validate(string? name, GrpcJwtAuthOptions options)
    {
        var errors = new List<string>();
        var issuers = IssuerSettings.All(options);
        foreach (var issuer in issuers)
        {
            ValidateKeySources(issuer, options, errors);
            ValidateAlgorithms(issuer, errors);
        }

        ValidateTrustedIssuers(options, issuers, errors);
        ValidateClaims(options, errors);
        ValidateTimes(options, errors);
        ValidateRules(options, issuers, errors);
        ValidateEvents(options, errors);

        // Settings several issuers inherit are reported once.
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Distinct(StringComparer.Ordinal));
    }

    private static void ValidateKeySources(IssuerSettings issuer, GrpcJwtAuthOptions options, List<string> errors)
    {
        var k = issuer.Key;
        var hasDiscovery = !string.IsNullOrWhiteSpace(issuer.Authority) || !string.IsNullOrWhiteSpace(issuer.MetadataAddress);
        var hasJwks = !string.IsNullOrWhiteSpace(issuer.JwksUri);

        if (!hasDiscovery && !hasJwks && issuer.StaticKeys.Count == 0)
        {
            errors.Add(issuer.IsTopLevel
                ? $"No signing key source is configured; set {S}:Authority, {S}:MetadataAddress, {S}:JwksUri or {S}:StaticKeys, or name issuers under {IssuerSettings.TrustedIssuersKey}."
                : $"{k} has no signing key source; set {k}:Authority, {k}:MetadataAddress, {k}:JwksUri or {k}:StaticKeys.");
        }

        if (hasDiscovery && hasJwks)
        {
            errors.Add($"{k}:JwksUri cannot be combined with {k}:Authority or {k}:MetadataAddress (discovery names its own key set); set one of them.");
        }

        CheckAddress(issuer.Authority, $"{k}:Authority", issuer.RequireHttpsMetadata, errors);
        CheckAddress(issuer.MetadataAddress, $"{k}:MetadataAddress", issuer.RequireHttpsMetadata, errors);
        CheckAddress(issuer.JwksUri, $"{k}:JwksUri", issuer.RequireHttpsMetadata, errors);

        for (var i = 0; i < issuer.StaticKeys.Count; i++)
        {
            try
            {
                StaticKeyLoader.Load(issuer.StaticKeys[i], $"{k}:StaticKeys:{i}");
            }
            catch (InvalidOperationException ex)
            {
                errors.Add(ex.Message);
            }
        }

        if (issuer.IsTopLevel)
        {
            ValidateIssuers(options, errors);
        }
        else
        {
            ValidateNamedIssuer(issuer, errors);
        }

        CheckEntries(issuer.Issuers, $"{k}:Issuers", errors);
        if (options.ValidateAudience && issuer.Audiences.Count == 0)
        {
            errors.Add(issuer.IsTopLevel
                ? $"{S}:Audiences is empty; set it or set {S}:ValidateAudience=false."
                : $"{k}:Audiences is empty, and so is {S}:Audiences; set one of them or set {S}:ValidateAudience=false.");
        }

        CheckEntries(issuer.Audiences, issuer.Own is { Audiences.Count: 0 } ? $"{S}:Audiences" : $"{k}:Audiences", errors);
    }

    /// <summary>
    /// A named issuer's keys sign for it alone: a static key may name one of its <c>iss</c> values, never another; its
    /// template, if any, has one tenant placeholder and a way to accept tenants; a per-tenant key source needs the list.
    /// </summary>
    private static void ValidateNamedIssuer(IssuerSettings issuer, List<string> errors)
    {
        var k = issuer.Key;
        for (var i = 0; i < issuer.StaticKeys.Count; i++)
        {
            var key = issuer.StaticKeys[i];
            if (key?.Issuer is { } named && !issuer.Issuers.Contains(named, StringComparer.Ordinal))
            {
                errors.Add($"{k}:StaticKeys:{i}:Issuer '{named}' is not one of {k}:Issuers; remove it (the key signs for this issuer) or add it there.");
            }
        }

        var template = issuer.IssuerTemplate;
        if (string.IsNullOrWhiteSpace(template))
        {
            if (issuer.Tenants.Count > 0 || issuer.TenantValidator is not null || issuer.HasPerTenantSource)
            {
                errors.Add($"{k} lists tenants or a tenant address but has no IssuerTemplate; set {k}:IssuerTemplate, such as 'https://login.microsoftonline.com/{{tenantid}}/v2.0'.");
            }

            if (issuer.Issuers.Count == 0 && string.IsNullOrWhiteSpace(issuer.Authority) && string.IsNullOrWhiteSpace(issuer.MetadataAddress))
            {
                errors.Add($"{k}:Issuers is empty; set the iss of this issuer's tokens (or use {k}:Authority, whose discovery document names it).");
            }

            return;
        }

        var placeholders = CountPlaceholders(template);
        if (placeholders != 1 || !Uri.TryCreate(IssuerSettings.ForTenant(template, "tenant"), UriKind.Absolute, out _))
        {
            errors.Add($"{k}:IssuerTemplate '{template}' must be an absolute address with {GrpcJwtAuthIssuerOptions.TenantPlaceholder} exactly once.");
        }

        if (issuer.Issuers.Count > 0)
        {
            errors.Add($"{k} sets both Issuers and IssuerTemplate; a multi-tenant issuer's iss values come from the template. Remove {k}:Issuers.");
        }

        if (issuer.Tenants.Count == 0 && issuer.TenantValidator is null)
        {
            errors.Add($"{k}:Tenants is empty; list the tenant ids {k}:IssuerTemplate accepts (or set TenantValidator in code).");
        }

        for (var i = 0; i < issuer.Tenants.Count; i++)
        {
            if (!Issuers.IssuerTemplate.IsTenantId(issuer.Tenants[i]))
            {
                errors.Add($"{k}:Tenants:{i} '{issuer.Tenants[i]}' is not a tenant id; use 1 to {Issuers.IssuerTemplate.MaxTenantLength} letters, digits, '.', '_' or '-'.");
            }
        }

        if (issuer.HasPerTenantSource)
        {
            if (issuer.TenantValidator is not null)
            {
                errors.Add($"{k} fetches keys per tenant ({GrpcJwtAuthIssuerOptions.TenantPlaceholder} in its key address), which needs every tenant listed in {k}:Tenants: TenantValidator cannot be used with it.");
            }

            if (issuer.Tenants.Count > MaxTenantsWithOwnKeys)
            {
                errors.Add($"{k}:Tenants lists {issuer.Tenants.Count} tenants, each with its own key address; at most {MaxTenantsWithOwnKeys} are allowed. Use a key address shared by every tenant.");
            }

            if (issuer.StaticKeys.Count > 0)
            {
                errors.Add($"{k} fetches keys per tenant and also has StaticKeys, which would sign for every tenant; remove {k}:StaticKeys.");
            }
        }
    }

    /// <summary>Names, and routing: every <c>iss</c> reaches at most one issuer, and issuer validation stays on when there are several.</summary>
    private static void ValidateTrustedIssuers(GrpcJwtAuthOptions options, IReadOnlyList<IssuerSettings> issuers, List<string> errors)
    {
        foreach (var (name, issuer) in options.TrustedIssuers)
        {
            var key = $"{IssuerSettings.TrustedIssuersKey}:{name}";
            if (issuer is null)
            {
                errors.Add($"{key} is empty.");
            }

            if (!IsIssuerName(name))
            {
                errors.Add($"{key}: '{name}' is not an issuer name; use 1 to 64 letters, digits, '.', '_' or '-'.");
            }
            else if (string.Equals(name, IssuerDefinition.DefaultName, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{key}: the name '{IssuerDefinition.DefaultName}' is the top-level settings' own; choose another name.");
            }
        }

        var withKeys = issuers.Where(issuer => issuer.HasKeySource).ToList();
        if (!options.ValidateIssuer && withKeys.Count > 1)
        {
            errors.Add(IssuerValidationNeeded);
        }

        // Exact iss values (configured, or the one a discovery document must name), and templates: no iss may route twice.
        var exact = new Dictionary<string, string>(StringComparer.Ordinal);
        var templates = new List<(Issuers.IssuerTemplate Template, string Key)>();
        foreach (var issuer in withKeys)
        {
            foreach (var (iss, setting) in ExactIssuers(issuer))
            {
                if (!exact.TryAdd(iss, setting) && exact[iss] != setting)
                {
                    errors.Add($"{setting} '{iss}' is also accepted by {exact[iss]}; a token's iss must choose exactly one issuer. Remove one of them.");
                }
            }

            if (!string.IsNullOrWhiteSpace(issuer.IssuerTemplate) && !issuer.HasPerTenantSource && CountPlaceholders(issuer.IssuerTemplate) == 1)
            {
                templates.Add((new Issuers.IssuerTemplate(issuer.IssuerTemplate, [], null), $"{issuer.Key}:IssuerTemplate"));
            }
        }

        for (var i = 0; i < templates.Count; i++)
        {
            for (var j = i + 1; j < templates.Count; j++)
            {
                if (templates[i].Template.Overlaps(templates[j].Template))
                {
                    errors.Add($"{templates[j].Key} '{templates[j].Template.Template}' overlaps {templates[i].Key} '{templates[i].Template.Template}': some iss would match both. Make them distinct.");
                }
            }

            foreach (var (iss, setting) in exact)
            {
                if (templates[i].Template.TryMatch(iss, out _))
                {
                    errors.Add($"{setting} '{iss}' also matches {templates[i].Key} '{templates[i].Template.Template}'; a token's iss must choose exactly one issuer.");
                }
            }
        }
    }

    /// <summary>The exact <c>iss</c> values an issuer answers for, each with the setting it comes from.</summary>
    private static IEnumerable<(string Iss, string Setting)> ExactIssuers(IssuerSettings issuer)
    {
        for (var i = 0; i < issuer.Issuers.Count; i++)
        {
            if (!string.IsNullOrWhiteSpace(issuer.Issuers[i]))
            {
                yield return (issuer.Issuers[i], $"{issuer.Key}:Issuers:{i}");
            }
        }

        if (!string.IsNullOrWhiteSpace(issuer.IssuerTemplate) && issuer.HasPerTenantSource)
        {
            for (var i = 0; i < issuer.Tenants.Count; i++)
            {
                yield return (IssuerSettings.ForTenant(issuer.IssuerTemplate, issuer.Tenants[i])!, $"{issuer.Key}:Tenants:{i}");
            }
        }
        else if (issuer.Issuers.Count == 0 && string.IsNullOrWhiteSpace(issuer.IssuerTemplate)
            && CompiledAuthOptions.RemoteSource(issuer.Authority, issuer.MetadataAddress, issuer.JwksUri) is { Kind: RemoteKeySourceKind.Discovery, ExpectedIssuer: { } expected })
        {
            yield return (expected.TrimEnd('/'), $"{issuer.Key}:{(string.IsNullOrWhiteSpace(issuer.MetadataAddress) ? "Authority" : "MetadataAddress")}");
        }
    }

    private const int MaxTenantsWithOwnKeys = 1000;

    private static int CountPlaceholders(string value)
    {
        var count = 0;
        for (var at = value.IndexOf(GrpcJwtAuthIssuerOptions.TenantPlaceholder, StringComparison.OrdinalIgnoreCase);
            at >= 0;
            at = value.IndexOf(GrpcJwtAuthIssuerOptions.TenantPlaceholder, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            count++;
        }

        return count;
    }

    private static bool IsIssuerName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>
    /// Every key must belong to exactly one issuer: a key endpoint's keys to the issuer it serves, a static key to the
    /// issuer it names (or, without a key endpoint, to the top-level <c>Issuers</c>).
    /// </summary>
    private static void ValidateIssuers(GrpcJwtAuthOptions options, List<string> errors)
    {
        var (remoteKind, _, expectedIssuer) = CompiledAuthOptions.RemoteSource(options);
        var hasRemote = remoteKind != RemoteKeySourceKind.None;
        var remoteSetting = !string.IsNullOrWhiteSpace(options.MetadataAddress) ? "MetadataAddress"
            : !string.IsNullOrWhiteSpace(options.Authority) ? "Authority"
            : "JwksUri";

        var defaultHasKeys = hasRemote;
        var ownIssuers = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.StaticKeys.Count; i++)
        {
            var key = options.StaticKeys[i];
            if (key is null)
            {
                continue;
            }

            var setting = $"{S}:StaticKeys:{i}:Issuer";
            if (key.Issuer is not null && string.IsNullOrWhiteSpace(key.Issuer) && !hasRemote)
            {
                errors.Add($"{setting} is blank; remove it (the key then signs for {S}:Issuers) or set the iss this key signs for.");
            }
            else if (hasRemote && string.IsNullOrWhiteSpace(key.Issuer))
            {
                errors.Add(
                    $"{setting} is empty; a static key next to {S}:{remoteSetting} must name the issuer (iss) it signs for, " +
                    "so that it can never sign tokens for the identity provider. Set it to the iss of the tokens this key signs.");
            }
            else if (hasRemote
                && (options.Issuers.Contains(key.Issuer!, StringComparer.Ordinal)
                    || (expectedIssuer is not null && IssuerDefinition.SameIgnoringTrailingSlash(expectedIssuer, key.Issuer!))))
            {
                errors.Add(
                    $"{setting} '{key.Issuer}' is the issuer of {S}:{remoteSetting}, whose keys come from that endpoint only; " +
                    "a static key must sign for an issuer of its own.");
            }
            else if (CompiledAuthOptions.BelongsToDefaultIssuer(key, options.Issuers, hasRemote))
            {
                defaultHasKeys = true;
            }
            else
            {
                ownIssuers.Add(key.Issuer!);
            }
        }

        if (!options.ValidateIssuer)
        {
            if (ownIssuers.Count + (defaultHasKeys ? 1 : 0) > 1 && options.TrustedIssuers.Count == 0)
            {
                errors.Add(IssuerValidationNeeded);
            }
        }
        else if (defaultHasKeys && options.Issuers.Count == 0 && remoteKind != RemoteKeySourceKind.Discovery)
        {
            errors.Add($"{S}:Issuers is empty; set it, use {S}:Authority (whose discovery document names the issuer), or set {S}:ValidateIssuer=false.");
        }
        else if (!defaultHasKeys && options.Issuers.Count > 0 && ownIssuers.Count > 0)
        {
            errors.Add(
                $"{S}:Issuers lists issuers no key signs for: every static key names its own issuer. Remove {S}:Issuers, or " +
                "add the keys of those issuers (static keys without Issuer, or a key endpoint).");
        }

        if (options.ValidateIssuer && remoteKind == RemoteKeySourceKind.Discovery && expectedIssuer is null && options.Issuers.Count == 0)
        {
            errors.Add(
                $"{S}:MetadataAddress does not end with {CompiledAuthOptions.DiscoverySuffix}, so the issuer its document must " +
                $"name cannot be derived from it; set {S}:Issuers to that issuer.");
        }
    }

    private static void CheckAddress(string? value, string key, bool requireHttps, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return;
        }

        switch (EndpointAddress.Check(IssuerSettings.ForTenant(value, "0"), requireHttps, out _))
        {
            case EndpointAddressProblem.NotAbsoluteHttp:
                errors.Add($"{key} '{value}' is not an absolute http(s) address.");
                break;
            case EndpointAddressProblem.NotHttps:
                errors.Add($"{key} '{value}' does not use HTTPS; use an https address, or set {S}:RequireHttpsMetadata=false (development only).");
                break;
        }
    }

    private static void ValidateClaims(GrpcJwtAuthOptions options, List<string> errors)
    {
        CheckEntries(options.ValidTypes, $"{S}:ValidTypes", errors);
        for (var i = 0; i < options.ValidTypes.Count; i++)
        {
            var type = options.ValidTypes[i];
            if (!string.IsNullOrWhiteSpace(type)
                && (type.Any(char.IsWhiteSpace) || (type.Contains('/', StringComparison.Ordinal) && !type.StartsWith("application/", StringComparison.OrdinalIgnoreCase))))
            {
                errors.Add($"{S}:ValidTypes:{i} '{type}' is not a JWT type; use a value such as 'at+jwt' or 'application/at+jwt'.");
            }
        }

        CheckEntries(options.RoleClaimTypes, $"{S}:RoleClaimTypes", errors);
        CheckEntries(options.ScopeClaimTypes, $"{S}:ScopeClaimTypes", errors);
    }

    private static void ValidateAlgorithms(IssuerSettings issuer, List<string> errors)
    {
        // An inherited list is reported under the top-level key it comes from.
        var k = issuer.Own is { ValidAlgorithms.Count: 0 } ? S : issuer.Key;
        var hasSymmetricKey = issuer.StaticKeys.Any(StaticKeyLoader.IsSymmetric);
        foreach (var algorithm in issuer.ValidAlgorithms)
        {
            if (string.Equals(algorithm, "none", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{k}:ValidAlgorithms lists 'none'; unsigned tokens are never accepted.");
            }
            else if (Array.IndexOf(CompiledAuthOptions.SymmetricAlgorithms, algorithm) >= 0)
            {
                if (!hasSymmetricKey && k == issuer.Key)
                {
                    errors.Add($"{k}:ValidAlgorithms lists '{algorithm}' but no symmetric key is configured; HMAC algorithms need a {issuer.Key}:StaticKeys entry with SymmetricSecret.");
                }
            }
            else if (Array.IndexOf(CompiledAuthOptions.DefaultAsymmetricAlgorithms, algorithm) < 0)
            {
                errors.Add($"{k}:ValidAlgorithms lists '{algorithm}', which is not a supported JWS algorithm; use RS256/384/512, PS256/384/512, ES256/384/512 or HS256/384/512.");
            }
        }

        if (issuer.Own is { } own)
        {
            // Only what the named issuer sets itself: inherited values are checked at the top level.
            CheckTimes(issuer.Key, own.ClockSkew, own.JwksMinimumRefreshInterval, own.JwksAutomaticRefreshInterval,
                own.KeyFetchTimeout, own.KeyRefreshWaitTimeout, own.MaxKeyDocumentBytes, errors,
                issuer.JwksMinimumRefreshInterval, issuer.JwksAutomaticRefreshInterval);
            CheckEntries(own.RoleClaimTypes, $"{issuer.Key}:RoleClaimTypes", errors);
            CheckEntries(own.ScopeClaimTypes, $"{issuer.Key}:ScopeClaimTypes", errors);
        }
    }

    private static void ValidateTimes(GrpcJwtAuthOptions options, List<string> errors)
    {
        CheckTimes(S, options.ClockSkew, options.JwksMinimumRefreshInterval, options.JwksAutomaticRefreshInterval,
            options.KeyFetchTimeout, options.KeyRefreshWaitTimeout, options.MaxKeyDocumentBytes, errors,
            options.JwksMinimumRefreshInterval, options.JwksAutomaticRefreshInterval);

        if (options.StreamRenewalsPerMinute is < 1 or > 600)
        {
            errors.Add($"{S}:StreamRenewalsPerMinute is {options.StreamRenewalsPerMinute}; it must be between 1 and 600.");
        }

        if (options.MaxRenewableStreams is < 0 or > 10_000_000)
        {
            errors.Add($"{S}:MaxRenewableStreams is {options.MaxRenewableStreams}; it must be between 0 (no stream is renewable) and 10000000.");
        }

        if (options.TokenCacheSize is < 0 or > 10_000_000)
        {
            errors.Add($"{S}:TokenCacheSize is {options.TokenCacheSize}; it must be between 0 (no cache) and 10000000.");
        }

        if (options.TokenCacheMaxEntryLifetime <= TimeSpan.Zero)
        {
            errors.Add($"{S}:TokenCacheMaxEntryLifetime is {options.TokenCacheMaxEntryLifetime}; it must be positive.");
        }

        if (options.MaxTokenLength is < 1024 or > 1024 * 1024)
        {
            errors.Add($"{S}:MaxTokenLength is {options.MaxTokenLength}; it must be between 1024 and 1048576.");
        }
    }

    /// <summary>
    /// The times and limits of one issuer's settings: the top level's, or those a named issuer sets itself (unset ones,
    /// <see langword="null"/>, are the top level's and checked there). The two refresh intervals are compared as in effect.
    /// </summary>
    private static void CheckTimes(
        string k, TimeSpan? clockSkew, TimeSpan? minimumRefresh, TimeSpan? automaticRefresh, TimeSpan? fetchTimeout, TimeSpan? waitTimeout,
        int? maxKeyDocumentBytes, List<string> errors, TimeSpan effectiveMinimumRefresh, TimeSpan effectiveAutomaticRefresh)
    {
        if (clockSkew is { } skew && (skew < TimeSpan.Zero || skew > TimeSpan.FromMinutes(10)))
        {
            errors.Add($"{k}:ClockSkew is {skew}; it must be between 00:00:00 and 00:10:00.");
        }

        if (minimumRefresh is { } minimum && minimum < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{k}:JwksMinimumRefreshInterval is {minimum}; it must be at least 00:00:01.");
        }

        if ((minimumRefresh is not null || automaticRefresh is not null) && effectiveAutomaticRefresh < effectiveMinimumRefresh)
        {
            errors.Add($"{k}:JwksAutomaticRefreshInterval ({effectiveAutomaticRefresh}) must not be shorter than {k}:JwksMinimumRefreshInterval ({effectiveMinimumRefresh}).");
        }

        if (fetchTimeout is { } fetch && fetch <= TimeSpan.Zero)
        {
            errors.Add($"{k}:KeyFetchTimeout is {fetch}; it must be positive.");
        }

        if (waitTimeout is { } wait && wait < TimeSpan.Zero)
        {
            errors.Add($"{k}:KeyRefreshWaitTimeout is {wait}; it must not be negative.");
        }

        if (maxKeyDocumentBytes is < 4 * 1024 or > 10 * 1024 * 1024)
        {
            errors.Add($"{k}:MaxKeyDocumentBytes is {maxKeyDocumentBytes}; it must be between 4096 and 10485760.");
        }
    }

    private static void ValidateRules(GrpcJwtAuthOptions options, IReadOnlyList<IssuerSettings> issuers, List<string> errors)
    {
        // The names a rule may require: every trust domain's, top-level static keys' own issuers included.
        var names = new HashSet<string>(issuers.Where(issuer => issuer.HasKeySource).Select(issuer => issuer.Name), StringComparer.OrdinalIgnoreCase);
        names.UnionWith(options.StaticKeys.Where(key => !string.IsNullOrWhiteSpace(key?.Issuer)).Select(key => key.Issuer!));
        var prefixes = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Rules.Count; i++)
        {
            var rule = options.Rules[i];
            var key = $"{S}:Rules:{i}";
            if (rule is null)
            {
                errors.Add($"{key} is empty.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(rule.Prefix))
            {
                errors.Add($"{key}:Prefix is empty; set a method-path prefix such as '/' or '/package.Service/'.");
            }
            else
            {
                if (!rule.Prefix.StartsWith('/') || rule.Prefix.Any(char.IsWhiteSpace))
                {
                    errors.Add($"{key}:Prefix '{rule.Prefix}' must start with '/' and contain no whitespace, as in '/package.Service/Method'.");
                }

                if (!prefixes.Add(rule.Prefix))
                {
                    errors.Add($"{key}:Prefix '{rule.Prefix}' is listed by an earlier rule too; merge the two.");
                }
            }

            if (rule.AllowAnonymous && (rule.Roles.Count > 0 || rule.Scopes.Count > 0 || rule.Policies.Count > 0 || rule.Issuers.Count > 0))
            {
                errors.Add($"{key} sets AllowAnonymous together with Roles, Scopes, Policies or Issuers; anonymous callers pass none. Remove one.");
            }

            CheckEntries(rule.Roles, $"{key}:Roles", errors);
            CheckEntries(rule.Scopes, $"{key}:Scopes", errors);
            CheckEntries(rule.Policies, $"{key}:Policies", errors);
            for (var j = 0; j < rule.Issuers.Count; j++)
            {
                if (!string.IsNullOrWhiteSpace(rule.Issuers[j]) && !names.Contains(rule.Issuers[j]))
                {
                    errors.Add($"{key}:Issuers:{j} '{rule.Issuers[j]}' names no trusted issuer; use one of: {string.Join(", ", names.Order(StringComparer.Ordinal))}.");
                }
            }

            CheckEntries(rule.Issuers, $"{key}:Issuers", errors);
        }
    }

    private static void ValidateEvents(GrpcJwtAuthOptions options, List<string> errors)
    {
        if (options.EventsType is { } type && !typeof(GrpcJwtAuthEvents).IsAssignableFrom(type))
        {
            errors.Add($"{S}:EventsType is {type.FullName}, which does not derive from {nameof(GrpcJwtAuthEvents)}.");
        }
    }

    private static void CheckEntries(IList<string> values, string key, List<string> errors)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(values[i]))
            {
                errors.Add($"{key}:{i} is empty.");
            }
        }
    }
}
