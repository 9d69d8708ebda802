using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Rules;
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
/// <see cref="GrpcJwtAuthOptions"/> compiled once at startup into what the request path reads: validation parameters
/// (without keys), static keys, rules, claim types and limits. Immutable.
/// </summary>
internal sealed class CompiledAuthOptions
{
    public static readonly string[] DefaultAsymmetricAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public static readonly string[] SymmetricAlgorithms =
    [
        SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512,
    ];

    public static readonly string[] DefaultRoleClaimTypes = ["roles", "role"];
    public static readonly string[] DefaultScopeClaimTypes = ["scope", "scp"];

    private CompiledAuthOptions(GrpcJwtAuthOptions options, TimeProvider timeProvider)
    {
        StaticKeys = options.StaticKeys
            .Select((entry, index) => StaticKeyLoader.Load(entry, $"{GrpcJwtAuthOptions.SectionName}:StaticKeys:{index}"))
            .ToArray();

        var hasSymmetricKey = options.StaticKeys.Any(StaticKeyLoader.IsSymmetric);
        ValidAlgorithms = options.ValidAlgorithms.Count > 0
            ? options.ValidAlgorithms.Distinct(StringComparer.Ordinal).ToArray()
            : hasSymmetricKey ? [.. DefaultAsymmetricAlgorithms, .. SymmetricAlgorithms] : DefaultAsymmetricAlgorithms;

        if (!string.IsNullOrWhiteSpace(options.MetadataAddress))
        {
            RemoteKind = RemoteKeySourceKind.Discovery;
            RemoteAddress = options.MetadataAddress;
        }
        else if (!string.IsNullOrWhiteSpace(options.Authority))
        {
            RemoteKind = RemoteKeySourceKind.Discovery;
            RemoteAddress = DiscoveryAddress(options.Authority);
        }
        else if (!string.IsNullOrWhiteSpace(options.JwksUri))
        {
            RemoteKind = RemoteKeySourceKind.Jwks;
            RemoteAddress = options.JwksUri;
        }

        RequireHttpsMetadata = options.RequireHttpsMetadata;
        UseDiscoveredIssuer = options.ValidateIssuer && options.Issuers.Count == 0 && RemoteKind == RemoteKeySourceKind.Discovery;
        RoleClaimTypes = options.RoleClaimTypes.Count > 0 ? options.RoleClaimTypes.Distinct(StringComparer.Ordinal).ToArray() : DefaultRoleClaimTypes;
        ScopeClaimTypes = options.ScopeClaimTypes.Count > 0 ? options.ScopeClaimTypes.Distinct(StringComparer.Ordinal).ToArray() : DefaultScopeClaimTypes;
        Rules = RuleTable.Compile(options.Rules);
        ClockSkew = options.ClockSkew;
        AutomaticRefreshInterval = options.JwksAutomaticRefreshInterval;
        MinimumRefreshInterval = options.JwksMinimumRefreshInterval;
        KeyFetchTimeout = options.KeyFetchTimeout;
        KeyRefreshWaitTimeout = options.KeyRefreshWaitTimeout;
        MaxTokenLength = options.MaxTokenLength;
        EndStreamsWhenTokenExpires = options.EndStreamsWhenTokenExpires;
        AuthenticateUnknownMethods = options.AuthenticateUnknownMethods;
        TokenCacheSize = options.TokenCacheSize;
        TokenCacheMaxEntryLifetime = options.TokenCacheMaxEntryLifetime;
        Lifetime = new LifetimeCheck(timeProvider, options.ClockSkew);

        BaseParameters = new TokenValidationParameters
        {
            ValidateIssuer = options.ValidateIssuer,
            ValidIssuers = options.Issuers.ToArray(),
            ValidateAudience = options.ValidateAudience,
            ValidAudiences = options.Audiences.ToArray(),
            ValidateLifetime = true,
            RequireExpirationTime = true,
            LifetimeValidator = Lifetime.Validate,
            ClockSkew = options.ClockSkew,
            RequireSignedTokens = true,
            ValidAlgorithms = ValidAlgorithms,
            ValidateIssuerSigningKey = false,
            TryAllIssuerSigningKeys = true,
            ValidateTokenReplay = false,
            SaveSigninToken = false,
            AuthenticationType = GrpcJwtAuthDefaults.AuthenticationType,
        };
    }

    public TokenValidationParameters BaseParameters { get; }

    public IReadOnlyList<SecurityKey> StaticKeys { get; }

    public string[] ValidAlgorithms { get; }

    public RemoteKeySourceKind RemoteKind { get; }

    public string? RemoteAddress { get; }

    public bool RequireHttpsMetadata { get; }

    /// <summary>Accept the discovery document's <c>issuer</c> because no <c>Issuers</c> are configured.</summary>
    public bool UseDiscoveredIssuer { get; }

    public string[] RoleClaimTypes { get; }

    public string[] ScopeClaimTypes { get; }

    public RuleTable Rules { get; }

    public TimeSpan ClockSkew { get; }

    public TimeSpan AutomaticRefreshInterval { get; }

    public TimeSpan MinimumRefreshInterval { get; }

    public TimeSpan KeyFetchTimeout { get; }

    public TimeSpan KeyRefreshWaitTimeout { get; }

    public int MaxTokenLength { get; }

    public bool EndStreamsWhenTokenExpires { get; }

    public bool AuthenticateUnknownMethods { get; }

    public int TokenCacheSize { get; }

    public TimeSpan TokenCacheMaxEntryLifetime { get; }

    public LifetimeCheck Lifetime { get; }

    public static CompiledAuthOptions Create(GrpcJwtAuthOptions options, TimeProvider timeProvider) => new(options, timeProvider);

    public static string DiscoveryAddress(string authority) =>
        authority.TrimEnd('/') + "/.well-known/openid-configuration";

    /// <summary>The validation parameters for one key set; built when keys change, never per call.</summary>
    public TokenValidationParameters ParametersFor(IReadOnlyList<SecurityKey> keys, string? discoveredIssuer)
    {
        var parameters = BaseParameters.Clone();
        parameters.IssuerSigningKeys = keys;
        if (UseDiscoveredIssuer)
        {
            parameters.ValidIssuers = discoveredIssuer is null ? [] : [discoveredIssuer];
        }

        return parameters;
    }
}
