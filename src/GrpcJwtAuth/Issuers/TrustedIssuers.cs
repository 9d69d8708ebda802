using System.Collections.Frozen;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Keys;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Issuers;

/// <summary>
/// Every issuer the server trusts, each with its own <see cref="SigningKeyManager"/>, and the routing of a token to
/// exactly one of them by its <c>iss</c>, read before any key lookup or signature check: an exact match of a configured
/// issuer (a tenant with keys of its own included), else the issuer a discovery document named, else a multi-tenant
/// issuer's template filled with an accepted tenant. A token whose <c>iss</c> routes nowhere is rejected without a
/// key lookup or a network request. With <c>ValidateIssuer=false</c> (allowed with one issuer only) every token goes to
/// that issuer.
/// </summary>
internal sealed class TrustedIssuers : IDisposable
{
    private readonly FrozenDictionary<string, SigningKeyManager> _byIssuer;
    private readonly SigningKeyManager[] _discovered;
    private readonly SigningKeyManager[] _templates;
    private readonly SigningKeyManager? _unchecked;

    public TrustedIssuers(IReadOnlyList<SigningKeyManager> issuers, bool validateIssuer)
    {
        All = issuers;
        var byIssuer = new Dictionary<string, SigningKeyManager>(StringComparer.Ordinal);
        var discovered = new List<SigningKeyManager>();
        var templates = new List<SigningKeyManager>();
        foreach (var keys in issuers)
        {
            foreach (var issuer in keys.Issuer.Issuers)
            {
                byIssuer.TryAdd(issuer, keys);
            }

            if (keys.Issuer.UsesDiscoveredIssuer)
            {
                discovered.Add(keys);
            }

            if (keys.Issuer.Template is not null)
            {
                templates.Add(keys);
            }
        }

        _byIssuer = byIssuer.ToFrozenDictionary(StringComparer.Ordinal);
        _discovered = [.. discovered];
        _templates = [.. templates];
        _unchecked = !validateIssuer && issuers.Count == 1 ? issuers[0] : null;
    }

    /// <summary>Every issuer, in configuration order.</summary>
    public IReadOnlyList<SigningKeyManager> All { get; }

    /// <summary>Builds an issuer and its key manager for each compiled definition, with key sources over the backchannel.</summary>
    public static TrustedIssuers Create(
        CompiledAuthOptions options,
        IHttpClientFactory httpClientFactory,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        Metrics? metrics)
    {
        var logger = loggerFactory.CreateLogger<SigningKeyManager>();
        var managers = options.Issuers
            .Select(issuer => new SigningKeyManager(issuer, CreateSource(issuer, httpClientFactory, loggerFactory), timeProvider, logger, metrics))
            .ToArray();
        var issuers = new TrustedIssuers(managers, options.ValidateIssuer);
        metrics?.ObserveKeys(managers, timeProvider);
        return issuers;
    }

    /// <summary>The issuer a token naming <paramref name="issuer"/> (unvalidated) belongs to; <see langword="null"/> for none.</summary>
    public SigningKeyManager? Find(string? issuer)
    {
        if (_unchecked is not null)
        {
            return _unchecked;
        }

        if (string.IsNullOrEmpty(issuer))
        {
            return null;
        }

        if (_byIssuer.TryGetValue(issuer, out var keys))
        {
            return keys;
        }

        foreach (var candidate in _discovered)
        {
            if (candidate.Issuer.AcceptsDiscoveredIssuer(issuer, candidate.Current))
            {
                return candidate;
            }
        }

        // A multi-tenant issuer whose tenants share keys: the iss must fill its template with an accepted tenant.
        foreach (var candidate in _templates)
        {
            if (candidate.Issuer.Template!.Accepts(issuer))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts every issuer's first fetch and refresh timer. Returns at once.</summary>
    public void Start()
    {
        foreach (var keys in All)
        {
            keys.Start();
        }
    }

    public void Dispose()
    {
        foreach (var keys in All)
        {
            keys.Dispose();
        }
    }

    private static IRemoteKeySource? CreateSource(IssuerDefinition issuer, IHttpClientFactory httpClientFactory, ILoggerFactory loggerFactory)
    {
        var documents = new KeyDocumentClient(httpClientFactory, issuer.RequireHttpsMetadata, issuer.MaxKeyDocumentBytes);
        return issuer.RemoteKind switch
        {
            RemoteKeySourceKind.Discovery => new DiscoveryKeySource(issuer, documents, loggerFactory.CreateLogger<DiscoveryKeySource>()),
            RemoteKeySourceKind.Jwks => new JwksKeySource(issuer, documents, loggerFactory.CreateLogger<JwksKeySource>()),
            _ => null,
        };
    }
}
