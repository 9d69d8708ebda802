using GrpcJwtAuth.Keys;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Configuration;

/// <summary>
/// Checks <see cref="GrpcJwtAuthOptions"/> at startup and reports every problem at once, each naming its
/// configuration key and what to do about it.
/// </summary>
internal sealed class GrpcJwtAuthOptionsValidator : IValidateOptions<GrpcJwtAuthOptions>
{
    private const string S = GrpcJwtAuthOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, GrpcJwtAuthOptions options)
    {
        var errors = new List<string>();
        ValidateKeySources(options, errors);
        ValidateClaims(options, errors);
        ValidateAlgorithms(options, errors);
        ValidateTimes(options, errors);
        ValidateRules(options, errors);
        ValidateEvents(options, errors);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateKeySources(GrpcJwtAuthOptions options, List<string> errors)
    {
        var hasDiscovery = !string.IsNullOrWhiteSpace(options.Authority) || !string.IsNullOrWhiteSpace(options.MetadataAddress);
        var hasJwks = !string.IsNullOrWhiteSpace(options.JwksUri);

        if (!hasDiscovery && !hasJwks && options.StaticKeys.Count == 0)
        {
            errors.Add($"No signing key source is configured; set {S}:Authority, {S}:MetadataAddress, {S}:JwksUri or {S}:StaticKeys.");
        }

        if (hasDiscovery && hasJwks)
        {
            errors.Add($"{S}:JwksUri cannot be combined with {S}:Authority or {S}:MetadataAddress (discovery names its own key set); set one of them.");
        }

        CheckAddress(options.Authority, "Authority", options.RequireHttpsMetadata, errors);
        CheckAddress(options.MetadataAddress, "MetadataAddress", options.RequireHttpsMetadata, errors);
        CheckAddress(options.JwksUri, "JwksUri", options.RequireHttpsMetadata, errors);

        for (var i = 0; i < options.StaticKeys.Count; i++)
        {
            try
            {
                StaticKeyLoader.Load(options.StaticKeys[i], $"{S}:StaticKeys:{i}");
            }
            catch (InvalidOperationException ex)
            {
                errors.Add(ex.Message);
            }
        }

        ValidateIssuers(options, errors);
        CheckEntries(options.Issuers, "Issuers", errors);

        if (options.ValidateAudience && options.Audiences.Count == 0)
        {
            errors.Add($"{S}:Audiences is empty; set it or set {S}:ValidateAudience=false.");
        }

        CheckEntries(options.Audiences, "Audiences", errors);
    }

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
            else if (CompiledAuthOptions.BelongsToDefaultIssuer(key, options, hasRemote))
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
            if (ownIssuers.Count + (defaultHasKeys ? 1 : 0) > 1)
            {
                errors.Add(
                    $"{S}:ValidateIssuer is false, but keys belong to more than one issuer; a token's iss decides which keys may " +
                    $"verify it, so it must be validated. Set {S}:ValidateIssuer=true.");
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

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add($"{S}:{key} '{value}' is not an absolute http(s) address.");
            return;
        }

        if (requireHttps && uri.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add($"{S}:{key} '{value}' does not use HTTPS; use an https address, or set {S}:RequireHttpsMetadata=false (development only).");
        }
    }

    private static void ValidateClaims(GrpcJwtAuthOptions options, List<string> errors)
    {
        CheckEntries(options.ValidTypes, "ValidTypes", errors);
        for (var i = 0; i < options.ValidTypes.Count; i++)
        {
            var type = options.ValidTypes[i];
            if (!string.IsNullOrWhiteSpace(type)
                && (type.Any(char.IsWhiteSpace) || (type.Contains('/', StringComparison.Ordinal) && !type.StartsWith("application/", StringComparison.OrdinalIgnoreCase))))
            {
                errors.Add($"{S}:ValidTypes:{i} '{type}' is not a JWT type; use a value such as 'at+jwt' or 'application/at+jwt'.");
            }
        }

        CheckEntries(options.RoleClaimTypes, "RoleClaimTypes", errors);
        CheckEntries(options.ScopeClaimTypes, "ScopeClaimTypes", errors);
    }

    private static void ValidateAlgorithms(GrpcJwtAuthOptions options, List<string> errors)
    {
        var hasSymmetricKey = options.StaticKeys.Any(StaticKeyLoader.IsSymmetric);
        foreach (var algorithm in options.ValidAlgorithms)
        {
            if (string.Equals(algorithm, "none", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{S}:ValidAlgorithms lists 'none'; unsigned tokens are never accepted.");
            }
            else if (Array.IndexOf(CompiledAuthOptions.SymmetricAlgorithms, algorithm) >= 0)
            {
                if (!hasSymmetricKey)
                {
                    errors.Add($"{S}:ValidAlgorithms lists '{algorithm}' but no symmetric key is configured; HMAC algorithms need a {S}:StaticKeys entry with SymmetricSecret.");
                }
            }
            else if (Array.IndexOf(CompiledAuthOptions.DefaultAsymmetricAlgorithms, algorithm) < 0)
            {
                errors.Add($"{S}:ValidAlgorithms lists '{algorithm}', which is not a supported JWS algorithm; use RS256/384/512, PS256/384/512, ES256/384/512 or HS256/384/512.");
            }
        }
    }

    private static void ValidateTimes(GrpcJwtAuthOptions options, List<string> errors)
    {
        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{S}:ClockSkew is {options.ClockSkew}; it must be between 00:00:00 and 00:10:00.");
        }

        if (options.JwksMinimumRefreshInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{S}:JwksMinimumRefreshInterval is {options.JwksMinimumRefreshInterval}; it must be at least 00:00:01.");
        }

        if (options.JwksAutomaticRefreshInterval < options.JwksMinimumRefreshInterval)
        {
            errors.Add($"{S}:JwksAutomaticRefreshInterval ({options.JwksAutomaticRefreshInterval}) must not be shorter than {S}:JwksMinimumRefreshInterval ({options.JwksMinimumRefreshInterval}).");
        }

        if (options.KeyFetchTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{S}:KeyFetchTimeout is {options.KeyFetchTimeout}; it must be positive.");
        }

        if (options.KeyRefreshWaitTimeout < TimeSpan.Zero)
        {
            errors.Add($"{S}:KeyRefreshWaitTimeout is {options.KeyRefreshWaitTimeout}; it must not be negative.");
        }

        if (options.TokenCacheSize is < 0 or > 10_000_000)
        {
            errors.Add($"{S}:TokenCacheSize is {options.TokenCacheSize}; it must be between 0 (no cache) and 10000000.");
        }

        if (options.TokenCacheMaxEntryLifetime <= TimeSpan.Zero)
        {
            errors.Add($"{S}:TokenCacheMaxEntryLifetime is {options.TokenCacheMaxEntryLifetime}; it must be positive.");
        }

        if (options.MaxKeyDocumentBytes is < 4 * 1024 or > 10 * 1024 * 1024)
        {
            errors.Add($"{S}:MaxKeyDocumentBytes is {options.MaxKeyDocumentBytes}; it must be between 4096 and 10485760.");
        }

        if (options.MaxTokenLength is < 1024 or > 1024 * 1024)
        {
            errors.Add($"{S}:MaxTokenLength is {options.MaxTokenLength}; it must be between 1024 and 1048576.");
        }
    }

    private static void ValidateRules(GrpcJwtAuthOptions options, List<string> errors)
    {
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

            if (rule.AllowAnonymous && (rule.Roles.Count > 0 || rule.Scopes.Count > 0 || rule.Policies.Count > 0))
            {
                errors.Add($"{key} sets AllowAnonymous together with Roles, Scopes or Policies; anonymous callers pass none. Remove one.");
            }

            CheckEntries(rule.Roles, $"Rules:{i}:Roles", errors);
            CheckEntries(rule.Scopes, $"Rules:{i}:Scopes", errors);
            CheckEntries(rule.Policies, $"Rules:{i}:Policies", errors);
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
                errors.Add($"{S}:{key}:{i} is empty.");
            }
        }
    }
}
