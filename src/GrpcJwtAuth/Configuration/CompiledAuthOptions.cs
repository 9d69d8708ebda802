using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Shared;
using GrpcJwtAuth.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Configuration;

/// <summary>
/// <see cref="GrpcJwtAuthOptions"/> compiled once at startup into what the request path reads: the issuers (each with
/// its own keys, accepted <c>iss</c> values, algorithms, claim types and clock skew), rules and limits. Immutable.
/// </summary>
internal sealed class CompiledAuthOptions
{
    public const string DiscoverySuffix = EndpointAddress.DiscoverySuffix;

    public static readonly string[] DefaultAsymmetricAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public static readonly string[] SymmetricAlgorithms = SigningKey.HmacAlgorithms;

    public static readonly string[] DefaultRoleClaimTypes = ["roles", "role"];
    public static readonly string[] DefaultScopeClaimTypes = ["scope", "scp"];

    private CompiledAuthOptions(GrpcJwtAuthOptions options, TimeProvider timeProvider)
    {
        Rules = RuleTable.Compile(options.Rules);
        MaxTokenLength = options.MaxTokenLength;
        EndStreamsWhenTokenExpires = options.EndStreamsWhenTokenExpires;
        StreamRenewalsPerMinute = options.StreamRenewalsPerMinute;
        MaxRenewableStreams = options.MaxRenewableStreams;
        AuthenticateUnknownMethods = options.AuthenticateUnknownMethods;
        TokenCacheSize = options.TokenCacheSize;
        TokenCacheMaxEntryLifetime = options.TokenCacheMaxEntryLifetime;
        ValidateIssuer = options.ValidateIssuer;
        TokenTypes = new TokenTypes(options.ValidTypes.Count > 0 ? options.ValidTypes : TokenTypes.Defaults, options.RequireTokenType);
        Issuers = CompileIssuers(options, timeProvider);
        Events = options.Events is { IsEmpty: false } events ? events : null;
        EventsType = options.EventsType;
        ExposeAuthorizationFailureReasons = options.ExposeAuthorizationFailureReasons;
        RecordUserId = options.RecordUserId;
        MiddlewareAuthenticatesGrpcCalls = options.MiddlewareAuthenticatesGrpcCalls;
    }

    /// <summary>The events set on the options, if any event is set (ignored when <see cref="EventsType"/> is set).</summary>
    public GrpcJwtAuthEvents? Events { get; }

    /// <summary>Whether authentication has events at all: without them, none is looked up per request.</summary>
    public bool HasEvents => Events is not null || EventsType is not null;

    /// <summary>The events type to resolve from the request's services, if any.</summary>
    public Type? EventsType { get; }

    public bool ExposeAuthorizationFailureReasons { get; }

    public bool RecordUserId { get; }

    public bool MiddlewareAuthenticatesGrpcCalls { get; }

    /// <summary>
    /// Every trust domain, each with its own claim types, clock skew and key settings: the one the top-level settings
    /// describe, one per issuer named by top-level static keys, and each of <see cref="GrpcJwtAuthOptions.TrustedIssuers"/>
    /// (one per tenant whose keys are its own).
    /// </summary>
    public IReadOnlyList<IssuerDefinition> Issuers { get; }

    public bool ValidateIssuer { get; }

    /// <summary>The <c>typ</c> values tokens may carry.</summary>
    public TokenTypes TokenTypes { get; }

    public RuleTable Rules { get; }

    public int MaxTokenLength { get; }

    public bool EndStreamsWhenTokenExpires { get; }

    public int StreamRenewalsPerMinute { get; }

    public int MaxRenewableStreams { get; }

    public bool AuthenticateUnknownMethods { get; }

    public int TokenCacheSize { get; }

    public TimeSpan TokenCacheMaxEntryLifetime { get; }

    /// <summary>The events for one request: the registered <see cref="EventsType"/> from its services, or <see cref="Events"/>.</summary>
    public GrpcJwtAuthEvents? EventsFor(Microsoft.AspNetCore.Http.HttpContext httpContext) =>
        EventsType is null ? Events : (GrpcJwtAuthEvents)Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService(httpContext.RequestServices, EventsType);

    public static CompiledAuthOptions Create(GrpcJwtAuthOptions options, TimeProvider timeProvider) => new(options, timeProvider);

    public static string DiscoveryAddress(string authority) => EndpointAddress.Discovery(authority);

    /// <summary>The key endpoint the top-level settings name, if any: discovery wins over a bare JWKS address.</summary>
    public static (RemoteKeySourceKind Kind, string? Address, string? ExpectedIssuer) RemoteSource(GrpcJwtAuthOptions options) =>
        RemoteSource(options.Authority, options.MetadataAddress, options.JwksUri);

    /// <summary>The key endpoint these settings name, if any: discovery wins over a bare JWKS address.</summary>
    public static (RemoteKeySourceKind Kind, string? Address, string? ExpectedIssuer) RemoteSource(
        string? authority, string? metadataAddress, string? jwksUri)
    {
        if (!string.IsNullOrWhiteSpace(metadataAddress))
        {
            var expected = metadataAddress.EndsWith(DiscoverySuffix, StringComparison.Ordinal) ? metadataAddress[..^DiscoverySuffix.Length] : null;
            return (RemoteKeySourceKind.Discovery, metadataAddress, string.IsNullOrEmpty(expected) ? null : expected);
        }

        if (!string.IsNullOrWhiteSpace(authority))
        {
            return (RemoteKeySourceKind.Discovery, DiscoveryAddress(authority), authority);
        }

        if (!string.IsNullOrWhiteSpace(jwksUri))
        {
            return (RemoteKeySourceKind.Jwks, jwksUri, null);
        }

        return (RemoteKeySourceKind.None, null, null);
    }

    /// <summary>
    /// Whether a static key belongs to the issuer the top-level settings describe: it names no issuer, or (without a
    /// key endpoint, whose issuer gets its keys from the endpoint only) one of the top-level <c>Issuers</c>.
    /// </summary>
    public static bool BelongsToDefaultIssuer(GrpcJwtAuthStaticKey key, IList<string> issuers, bool hasRemoteSource) =>
        string.IsNullOrEmpty(key.Issuer)
        || (!hasRemoteSource && issuers.Contains(key.Issuer, StringComparer.Ordinal));

    private static IssuerDefinition[] CompileIssuers(GrpcJwtAuthOptions options, TimeProvider timeProvider)
    {
        var issuers = new List<IssuerDefinition>();
        foreach (var settings in IssuerSettings.All(options))
        {
            if (settings.HasKeySource)
            {
                Compile(settings, options, timeProvider, issuers);
            }
        }

        return [.. issuers];
    }

    /// <summary>The definitions of one trust domain: one, or one per tenant when its key source differs per tenant.</summary>
    private static void Compile(IssuerSettings settings, GrpcJwtAuthOptions options, TimeProvider timeProvider, List<IssuerDefinition> issuers)
    {
        var profile = Profile(settings, options, timeProvider);
        string[]? configuredAlgorithms = settings.ValidAlgorithms.Count > 0 ? settings.ValidAlgorithms.Distinct(StringComparer.Ordinal).ToArray() : null;
        var template = string.IsNullOrWhiteSpace(settings.IssuerTemplate)
            ? null
            : new IssuerTemplate(settings.IssuerTemplate, settings.Tenants, settings.TenantValidator);

        if (template is not null && settings.HasPerTenantSource)
        {
            // Each listed tenant its own keys, fetched from its own address; an unlisted tenant routes nowhere.
            foreach (var tenant in settings.Tenants.Distinct(StringComparer.Ordinal))
            {
                var iss = IssuerSettings.ForTenant(settings.IssuerTemplate, tenant)!;
                var (kind, address, expected) = RemoteSource(
                    IssuerSettings.ForTenant(settings.Authority, tenant),
                    IssuerSettings.ForTenant(settings.MetadataAddress, tenant),
                    IssuerSettings.ForTenant(settings.JwksUri, tenant));
                issuers.Add(new IssuerDefinition(
                    settings.Name, [iss], options.ValidateIssuer, kind, address, expected ?? iss, [],
                    Allowed(configuredAlgorithms, DefaultAsymmetricAlgorithms), profile, tenant: tenant));
            }

            return;
        }

        var (remoteKind, remoteAddress, expectedIssuer) = RemoteSource(settings.Authority, settings.MetadataAddress, settings.JwksUri);
        var hasRemote = remoteKind != RemoteKeySourceKind.None;
        var ownKeys = new List<SigningKey>();
        var keysOfOwnIssuers = new Dictionary<string, List<SigningKey>>(StringComparer.Ordinal);
        for (var i = 0; i < settings.StaticKeys.Count; i++)
        {
            var entry = settings.StaticKeys[i];
            var key = SigningKey.Of(StaticKeyLoader.Load(entry, $"{settings.Key}:StaticKeys:{i}"));
            if (!settings.IsTopLevel || BelongsToDefaultIssuer(entry, settings.Issuers, hasRemote))
            {
                ownKeys.Add(key);
            }
            else
            {
                // A top-level static key naming an iss of its own is a trust domain of its own, named by that iss.
                if (!keysOfOwnIssuers.TryGetValue(entry.Issuer!, out var keys))
                {
                    keysOfOwnIssuers[entry.Issuer!] = keys = [];
                }

                keys.Add(key);
            }
        }

        if (hasRemote || ownKeys.Count > 0)
        {
            // A key endpoint serves asymmetric keys only (a JWKS secret would be public); static keys bring their own.
            var natural = hasRemote
                ? [.. DefaultAsymmetricAlgorithms, .. ownKeys.SelectMany(key => key.Algorithms)]
                : ownKeys.SelectMany(key => key.Algorithms).ToArray();
            issuers.Add(new IssuerDefinition(
                settings.Name,
                settings.Issuers.Distinct(StringComparer.Ordinal).ToArray(),
                options.ValidateIssuer,
                remoteKind,
                remoteAddress,
                template?.Template ?? expectedIssuer,
                ownKeys,
                Allowed(configuredAlgorithms, natural.Distinct(StringComparer.Ordinal).ToArray()),
                profile,
                template));
        }

        foreach (var (issuer, keys) in keysOfOwnIssuers)
        {
            issuers.Add(new IssuerDefinition(
                issuer,
                [issuer],
                options.ValidateIssuer,
                RemoteKeySourceKind.None,
                remoteAddress: null,
                expectedDiscoveryIssuer: null,
                keys,
                Allowed(configuredAlgorithms, keys.SelectMany(key => key.Algorithms).Distinct(StringComparer.Ordinal).ToArray()),
                profile));
        }
    }

    private static IssuerProfile Profile(IssuerSettings settings, GrpcJwtAuthOptions options, TimeProvider timeProvider)
    {
        var lifetime = new LifetimeCheck(timeProvider, settings.ClockSkew);
        var parameters = new TokenValidationParameters
        {
            ValidateIssuer = options.ValidateIssuer,
            ValidateAudience = options.ValidateAudience,
            ValidAudiences = settings.Audiences.ToArray(),
            IgnoreTrailingSlashWhenValidatingAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            LifetimeValidator = lifetime.Validate,
            ClockSkew = settings.ClockSkew,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,
            TryAllIssuerSigningKeys = false,
            ValidateTokenReplay = false,
            SaveSigninToken = false,
            AuthenticationType = GrpcJwtAuthDefaults.AuthenticationType,
        };
        return new IssuerProfile(
            settings.JwksAutomaticRefreshInterval,
            settings.JwksMinimumRefreshInterval,
            settings.KeyFetchTimeout,
            settings.KeyRefreshWaitTimeout,
            settings.RequireHttpsMetadata,
            settings.MaxKeyDocumentBytes,
            settings.ClockSkew,
            ClaimTypesOrDefault(settings.RoleClaimTypes, DefaultRoleClaimTypes),
            ClaimTypesOrDefault(settings.ScopeClaimTypes, DefaultScopeClaimTypes),
            lifetime,
            parameters);
    }

    private static string[] ClaimTypesOrDefault(IList<string> configured, string[] defaults) =>
        configured.Count > 0 ? configured.Distinct(StringComparer.Ordinal).ToArray() : defaults;

    /// <summary>The configured algorithms (or every supported one) that the issuer's keys can verify, in that order.</summary>
    private static string[] Allowed(string[]? configured, string[] natural)
    {
        var candidates = configured ?? [.. DefaultAsymmetricAlgorithms, .. SymmetricAlgorithms];
        return candidates.Where(algorithm => Array.IndexOf(natural, algorithm) >= 0).ToArray();
    }
}
