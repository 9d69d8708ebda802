using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Configuration;

/// <summary>
/// <see cref="GrpcJwtAuthOptions"/> compiled once at startup into what the request path reads: the issuers (each with
/// its own keys, accepted <c>iss</c> values and algorithms), rules, claim types and limits. Immutable.
/// </summary>
internal sealed class CompiledAuthOptions
{
    public const string DiscoverySuffix = "/.well-known/openid-configuration";

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
        RoleClaimTypes = options.RoleClaimTypes.Count > 0 ? options.RoleClaimTypes.Distinct(StringComparer.Ordinal).ToArray() : DefaultRoleClaimTypes;
        ScopeClaimTypes = options.ScopeClaimTypes.Count > 0 ? options.ScopeClaimTypes.Distinct(StringComparer.Ordinal).ToArray() : DefaultScopeClaimTypes;
        Rules = RuleTable.Compile(options.Rules);
        ClockSkew = options.ClockSkew;
        MaxTokenLength = options.MaxTokenLength;
        EndStreamsWhenTokenExpires = options.EndStreamsWhenTokenExpires;
        AuthenticateUnknownMethods = options.AuthenticateUnknownMethods;
        TokenCacheSize = options.TokenCacheSize;
        TokenCacheMaxEntryLifetime = options.TokenCacheMaxEntryLifetime;
        ValidateIssuer = options.ValidateIssuer;
        TokenTypes = new TokenTypes(options.ValidTypes.Count > 0 ? options.ValidTypes : TokenTypes.Defaults, options.RequireTokenType);
        Lifetime = new LifetimeCheck(timeProvider, options.ClockSkew);
        Issuers = CompileIssuers(options, Lifetime);
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

    /// <summary>Every trust domain: the one the top-level settings describe, and one per issuer named by static keys.</summary>
    public IReadOnlyList<IssuerDefinition> Issuers { get; }

    public bool ValidateIssuer { get; }

    /// <summary>The <c>typ</c> values tokens may carry.</summary>
    public TokenTypes TokenTypes { get; }

    public string[] RoleClaimTypes { get; }

    public string[] ScopeClaimTypes { get; }

    public RuleTable Rules { get; }

    public TimeSpan ClockSkew { get; }

    public int MaxTokenLength { get; }

    public bool EndStreamsWhenTokenExpires { get; }

    public bool AuthenticateUnknownMethods { get; }

    public int TokenCacheSize { get; }

    public TimeSpan TokenCacheMaxEntryLifetime { get; }

    public LifetimeCheck Lifetime { get; }

    /// <summary>The events for one request: the registered <see cref="EventsType"/> from its services, or <see cref="Events"/>.</summary>
    public GrpcJwtAuthEvents? EventsFor(Microsoft.AspNetCore.Http.HttpContext httpContext) =>
        EventsType is null ? Events : (GrpcJwtAuthEvents)Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService(httpContext.RequestServices, EventsType);

    public static CompiledAuthOptions Create(GrpcJwtAuthOptions options, TimeProvider timeProvider) => new(options, timeProvider);

    public static string DiscoveryAddress(string authority) => authority.TrimEnd('/') + DiscoverySuffix;

    /// <summary>The key endpoint the top-level settings name, if any: discovery wins over a bare JWKS address.</summary>
    public static (RemoteKeySourceKind Kind, string? Address, string? ExpectedIssuer) RemoteSource(GrpcJwtAuthOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.MetadataAddress))
        {
            var address = options.MetadataAddress;
            var expected = address.EndsWith(DiscoverySuffix, StringComparison.Ordinal) ? address[..^DiscoverySuffix.Length] : null;
            return (RemoteKeySourceKind.Discovery, address, string.IsNullOrEmpty(expected) ? null : expected);
        }

        if (!string.IsNullOrWhiteSpace(options.Authority))
        {
            return (RemoteKeySourceKind.Discovery, DiscoveryAddress(options.Authority), options.Authority);
        }

        if (!string.IsNullOrWhiteSpace(options.JwksUri))
        {
            return (RemoteKeySourceKind.Jwks, options.JwksUri, null);
        }

        return (RemoteKeySourceKind.None, null, null);
    }

    /// <summary>
    /// Whether a static key belongs to the issuer the top-level settings describe: it names no issuer, or (without a
    /// key endpoint, whose issuer gets its keys from the endpoint only) one of the top-level <c>Issuers</c>.
    /// </summary>
    public static bool BelongsToDefaultIssuer(GrpcJwtAuthStaticKey key, GrpcJwtAuthOptions options, bool hasRemoteSource) =>
        string.IsNullOrEmpty(key.Issuer)
        || (!hasRemoteSource && options.Issuers.Contains(key.Issuer, StringComparer.Ordinal));

    private static IssuerDefinition[] CompileIssuers(GrpcJwtAuthOptions options, LifetimeCheck lifetime)
    {
        var (remoteKind, remoteAddress, expectedIssuer) = RemoteSource(options);
        var hasRemote = remoteKind != RemoteKeySourceKind.None;
        var timing = new Timing(
            options.JwksAutomaticRefreshInterval,
            options.JwksMinimumRefreshInterval,
            options.KeyFetchTimeout,
            options.KeyRefreshWaitTimeout,
            options.RequireHttpsMetadata,
            options.MaxKeyDocumentBytes);
        string[]? configuredAlgorithms = options.ValidAlgorithms.Count > 0 ? options.ValidAlgorithms.Distinct(StringComparer.Ordinal).ToArray() : null;
        var baseParameters = new TokenValidationParameters
        {
            ValidateIssuer = options.ValidateIssuer,
            ValidateAudience = options.ValidateAudience,
            ValidAudiences = options.Audiences.ToArray(),
            IgnoreTrailingSlashWhenValidatingAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            LifetimeValidator = lifetime.Validate,
            ClockSkew = options.ClockSkew,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,
            TryAllIssuerSigningKeys = false,
            ValidateTokenReplay = false,
            SaveSigninToken = false,
            AuthenticationType = GrpcJwtAuthDefaults.AuthenticationType,
        };

        var defaultKeys = new List<SigningKey>();
        var ownIssuers = new Dictionary<string, List<SigningKey>>(StringComparer.Ordinal);
        for (var i = 0; i < options.StaticKeys.Count; i++)
        {
            var entry = options.StaticKeys[i];
            var key = SigningKey.Of(StaticKeyLoader.Load(entry, $"{GrpcJwtAuthOptions.SectionName}:StaticKeys:{i}"));
            if (BelongsToDefaultIssuer(entry, options, hasRemote))
            {
                defaultKeys.Add(key);
            }
            else
            {
                if (!ownIssuers.TryGetValue(entry.Issuer!, out var keys))
                {
                    ownIssuers[entry.Issuer!] = keys = [];
                }

                keys.Add(key);
            }
        }

        var issuers = new List<IssuerDefinition>();
        if (hasRemote || defaultKeys.Count > 0)
        {
            // A key endpoint serves asymmetric keys only (a JWKS secret would be public); static keys bring their own.
            var natural = hasRemote ? DefaultAsymmetricAlgorithms : defaultKeys.SelectMany(key => key.Algorithms).Distinct(StringComparer.Ordinal).ToArray();
            issuers.Add(new IssuerDefinition(
                IssuerDefinition.DefaultName,
                options.Issuers.Distinct(StringComparer.Ordinal).ToArray(),
                options.ValidateIssuer,
                remoteKind,
                remoteAddress,
                expectedIssuer,
                defaultKeys,
                Allowed(configuredAlgorithms, natural),
                timing,
                baseParameters));
        }

        foreach (var (issuer, keys) in ownIssuers)
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
                timing,
                baseParameters));
        }

        return [.. issuers];
    }

    /// <summary>The configured algorithms (or every supported one) that the issuer's keys can verify, in that order.</summary>
    private static string[] Allowed(string[]? configured, string[] natural)
    {
        var candidates = configured ?? [.. DefaultAsymmetricAlgorithms, .. SymmetricAlgorithms];
        return candidates.Where(algorithm => Array.IndexOf(natural, algorithm) >= 0).ToArray();
    }

    /// <summary>Key-fetching settings every issuer shares.</summary>
    internal readonly record struct Timing(
        TimeSpan AutomaticRefreshInterval,
        TimeSpan MinimumRefreshInterval,
        TimeSpan KeyFetchTimeout,
        TimeSpan KeyRefreshWaitTimeout,
        bool RequireHttpsMetadata,
        int MaxKeyDocumentBytes);
}
