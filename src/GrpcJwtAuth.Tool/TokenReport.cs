using System.Globalization;
using System.Security.Cryptography;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Shared;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tool;

/// <summary>
/// The steps of one token's check, each from the server's own parts: the header parser's size and syntax checks, the
/// pre-check's reading of the header and times, the trusted issuers' routing, the issuer's key manager (which fetches
/// discovery and JWKS through the server's key client), the signature check, the issuer's validation parameters and
/// lifetime check, the caller's role and scope mapping. The decision is <see cref="JwtTokenValidator"/>'s, the one the
/// server makes; the steps say why. Claim values shown are <c>iss</c>, <c>aud</c>, <c>sub</c>, <c>kid</c>, roles,
/// scopes and times only, each sanitized; the signature and the whole token never are.
/// </summary>
internal sealed class TokenReport(
    ReportWriter writer,
    IServiceProvider services,
    CompiledAuthOptions options,
    TrustedIssuers issuers,
    JwtTokenValidator validator,
    KeyFetchLog log,
    TimeProvider timeProvider)
{
    private const int ValueLength = 128;
    private const int MaxListed = 20;

    public async Task<int> RunAsync(string token, string? method, CancellationToken cancellationToken)
    {
        // 1. What the server's header parser and pre-check make of it, before anything else.
        var headerFailure = BearerHeaderParser.TryGetToken(new StringValues("Bearer " + token), options.MaxTokenLength, out _, out _, out _);
        TokenFacts facts = default;
        var shape = headerFailure == AuthFailure.None ? TokenPrecheck.Check(token, out facts) : AuthFailure.None;
        if (!Format(token, headerFailure, shape))
        {
            var failure = headerFailure != AuthFailure.None ? headerFailure : shape;
            return Decide(writer, new CallDecision(failure), note: null);
        }

        // 2. Header.
        Header(facts);

        // Keys, as at the server's startup: every issuer's, through its own key manager and key client.
        await Task.WhenAll(issuers.All.Select(keys => keys.RefreshAsync(RefreshTrigger.Startup))).ConfigureAwait(false);
        var routed = issuers.Find(facts.Issuer);
        var versionBefore = routed?.Current.Version;

        // The server's decision on the token (it fetches the keys again for an unknown kid, as the server would).
        var now = timeProvider.GetUtcNow();
        var check = await validator.ValidateAsync(token, cancellationToken).ConfigureAwait(false);

        JsonWebToken? jwt = null;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (Exception)
        {
            // The validator decides what an unparsable token gets; the steps below say less.
        }

        // 3. Issuer; 4. keys; 5. signature.
        Issuer(facts, routed);
        var candidates = routed is null ? [] : await KeysAsync(facts, routed, versionBefore, cancellationToken).ConfigureAwait(false);
        Signature(token, facts, routed, candidates);

        // 6. Audience; 7. times; 8. roles and scopes.
        Audience(jwt, routed?.Issuer);
        Times(jwt, facts, routed?.Issuer, now, check);
        var caller = check.Caller ?? (jwt is not null && routed is not null ? CallerFactory.Create(jwt, routed.Issuer) : null);
        RolesAndScopes(caller, validated: check.Caller is not null, routed?.Issuer);

        var decision = new CallDecision(check.Failure, check.Detail);
        string? note = null;
        if (method is not null)
        {
            // 9. The configuration's rules for the method.
            (decision, note) = await new MethodReport(writer, services, options).RunAsync(method, decision, caller).ConfigureAwait(false);
        }
        else if (decision.IsAllowed)
        {
            note = "for the token; pass --method /package.Service/Method to check a method's rules too";
        }

        return Decide(writer, decision, note);
    }

    /// <summary>Writes the final line, with the status the server would send, and returns the exit code.</summary>
    public static int Decide(ReportWriter writer, CallDecision decision, string? note)
    {
        var suffix = note is null ? string.Empty : $" ({note})";
        if (decision.IsAllowed)
        {
            writer.Line($"decision: accepted{suffix}");
            return Diagnosis.Accepted;
        }

        var status = decision.Status;
        writer.Line($"decision: rejected - {status.StatusCode}: {status.Detail}{suffix}");
        return Diagnosis.Rejected;
    }

    private bool Format(string token, AuthFailure headerFailure, AuthFailure shape)
    {
        var segments = token.Split('.');
        var summary = segments.Length == 1 ? "1 segment" : $"{segments.Length} segments";
        if (headerFailure == AuthFailure.TokenTooLarge)
        {
            writer.Step("format", StepResult.Fail, $"{token.Length} characters: longer than GrpcJwtAuth:MaxTokenLength ({options.MaxTokenLength})");
            return false;
        }

        if (headerFailure != AuthFailure.None)
        {
            writer.Step("format", StepResult.Fail, "not one bearer token: it holds spaces, line breaks or characters a bearer token cannot hold");
            writer.Detail("pipe in the token alone (or 'Bearer <token>'), without quotes");
            return false;
        }

        if (segments.Length == 3)
        {
            summary += $": header {Size(segments[0])}, payload {Size(segments[1])}, signature {Size(segments[2])} (never shown)";
        }

        if (shape == AuthFailure.None)
        {
            writer.Step("format", StepResult.Ok, summary);
            return true;
        }

        writer.Step("format", StepResult.Fail, summary);
        writer.Detail(segments.Length switch
        {
            1 => "not a JWT: a JWT is three base64url segments separated by dots (an opaque or reference token is not accepted)",
            5 => "an encrypted token (JWE): the server accepts signed tokens (JWS) only",
            3 => $"the server says: {AuthFailures.Get(shape).Status.Detail}",
            _ => "not a JWT: a signed JWT is exactly three base64url segments separated by dots",
        });
        return false;
    }

    /// <summary>A segment's decoded size (never its content), or why it has none.</summary>
    private static string Size(string segment) =>
        TokenPrecheck.IsCanonicalBase64Url(segment) ? $"{segment.Length * 3 / 4} bytes" : "(not canonical base64url)";

    private void Header(TokenFacts facts)
    {
        var typeAccepted = options.TokenTypes.Accepts(facts.Type);
        writer.Step("header", typeAccepted ? StepResult.Ok : StepResult.Fail,
            $"alg {Quote(facts.Algorithm)}, typ {Quote(facts.Type)}, kid {Quote(facts.KeyId)}");
        if (!typeAccepted)
        {
            var configured = services.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value.ValidTypes;
            var accepted = configured.Count > 0 ? configured : TokenTypes.Defaults;
            writer.Detail(facts.Type is null
                ? "the token has no typ, and GrpcJwtAuth:RequireTokenType is true"
                : $"typ is not accepted: the server accepts {string.Join(", ", accepted)} (GrpcJwtAuth:ValidTypes); an ID token or another kind of JWT is not an access token");
        }
    }

    private void Issuer(TokenFacts facts, SigningKeyManager? routed)
    {
        if (routed is not null)
        {
            var issuer = routed.Issuer;
            var tenant = issuer.TenantOf(facts.Issuer) is { } name ? $", tenant {Quote(name)}" : string.Empty;
            writer.Step("issuer", StepResult.Ok, $"iss {Quote(facts.Issuer)} -> trusted issuer {Quote(issuer.Name)}{tenant}");
            if (!options.ValidateIssuer)
            {
                writer.Detail("GrpcJwtAuth:ValidateIssuer is false: every token goes to this one issuer, whatever its iss");
            }

            return;
        }

        writer.Step("issuer", StepResult.Fail, facts.Issuer is null ? "the token has no iss" : $"iss {Quote(facts.Issuer)} is not a trusted issuer");
        foreach (var keys in issuers.All)
        {
            var issuer = keys.Issuer;
            var accepted = issuer.Issuers.Length > 0 ? string.Join(", ", issuer.Issuers.Select(Quote))
                : issuer.Template is not null ? "its issuer template, filled with an accepted tenant"
                : keys.Current.DiscoveredIssuer is { } discovered ? $"{Quote(discovered)} (its discovery document's issuer)"
                : issuer.ExpectedDiscoveryIssuer is { } expected ? $"{Quote(expected)} (its authority; the discovery document could not be read)"
                : "(none)";
            writer.Detail($"trusted issuer {Quote(issuer.KeySourceName)} accepts iss {accepted}");
        }

        writer.Detail("iss must match exactly (a trailing slash matters); fix GrpcJwtAuth:Issuers or Authority, or request a token from a trusted issuer");
    }

    /// <summary>The issuer's keys, as the server holds them now, and the ones the token's kid and alg select.</summary>
    private async Task<SecurityKey[]> KeysAsync(TokenFacts facts, SigningKeyManager keys, long? versionBefore, CancellationToken cancellationToken)
    {
        var issuer = keys.Issuer;
        var set = keys.Current;
        var algorithm = facts.Algorithm ?? string.Empty;
        var algorithmAllowed = Array.IndexOf(issuer.Algorithms, algorithm) >= 0;
        var match = set.Find(facts.KeyId, algorithm, out var candidates);
        if (match == KeyMatch.UnknownKeyId)
        {
            // The validator already asked for a fetch; this joins it or finds it done (never a second one).
            set = await keys.RefreshForUnknownKeyAsync(set, cancellationToken).ConfigureAwait(false);
            match = set.Find(facts.KeyId, algorithm, out candidates);
        }

        var ok = algorithmAllowed && match == KeyMatch.Found;
        var summary = match switch
        {
            _ when !algorithmAllowed => $"alg {Quote(facts.Algorithm)} is not allowed for this issuer",
            KeyMatch.Found when facts.KeyId is null => $"the token has no kid: the {candidates.Length} key(s) that may verify {algorithm} are tried",
            KeyMatch.Found => $"kid {Quote(facts.KeyId)} resolves to a key of the issuer",
            KeyMatch.Empty => "the issuer has no keys: its key source could not be read",
            KeyMatch.AlgorithmNotAllowed when facts.KeyId is null => $"no key of the issuer may verify {algorithm}",
            KeyMatch.AlgorithmNotAllowed => $"kid {Quote(facts.KeyId)} is there, but its key may not verify {algorithm}",
            _ => $"kid {Quote(facts.KeyId)} is not in the issuer's key set",
        };
        writer.Step("keys", ok ? StepResult.Ok : StepResult.Fail, summary);

        writer.Detail($"source: {Source(keys, set)}");
        var ids = set.KeyIds.Take(MaxListed).Select(Quote).ToArray();
        writer.Detail($"{set.Keys.Count} key(s); kids {(ids.Length == 0 ? "(none)" : string.Join(", ", ids))}");
        writer.Detail($"algorithms allowed for this issuer: {(issuer.Algorithms.Length == 0 ? "(none)" : string.Join(", ", issuer.Algorithms))}");
        if (match == KeyMatch.UnknownKeyId)
        {
            writer.Detail(set.Version != versionBefore
                ? "fetched again for this unknown kid, as the server does: still not there"
                : $"not fetched again: the server refetches for an unknown kid at most once per {HumanDuration.Format(issuer.MinimumRefreshInterval)} (JwksMinimumRefreshInterval)");
            writer.Detail("the token was signed by a key this issuer does not publish: another issuer or environment, or keys not published yet");
            if (candidates.Length > 0)
            {
                writer.Detail($"the issuer's {candidates.Length} key(s) without a kid are tried instead");
            }
        }

        foreach (var candidate in candidates.Take(MaxListed))
        {
            writer.Detail($"key: {Describe(set, candidate)}");
        }

        if (match == KeyMatch.AlgorithmNotAllowed && facts.KeyId is not null)
        {
            foreach (var key in set.Keys.Where(key => key.KeyId == facts.KeyId).Take(MaxListed))
            {
                writer.Detail($"key: {Describe(set, key.Key)}");
            }
        }

        foreach (var entry in log.Entries)
        {
            writer.Detail($"server log: {entry}");
        }

        return algorithmAllowed ? candidates : [];
    }

    private static string Source(SigningKeyManager keys, SigningKeySet set)
    {
        var issuer = keys.Issuer;
        var statics = issuer.StaticKeys.Count > 0 ? $"{issuer.StaticKeys.Count} static key(s) from the configuration" : null;
        if (issuer.RemoteAddress is not { } address)
        {
            return statics ?? "(none)";
        }

        var shown = EndpointAddress.Check(address, requireHttps: false, out var uri) == EndpointAddressProblem.None && uri is not null
            ? EndpointAddress.Display(uri)
            : SafeText.Sanitize(address, ValueLength)!;
        var kind = issuer.RemoteKind == RemoteKeySourceKind.Discovery ? "discovery" : "JWKS";
        var fetched = keys.LastRefresh switch
        {
            { Succeeded: true } => set.RefreshedAt is { } at ? $"fetched {Timestamp(at)}" : "fetched",
            { } failed => $"fetch FAILED ({failed.ErrorType}); see the server log lines below",
            null => "not fetched",
        };
        var remote = $"{kind} {shown}, {fetched}";
        if (set.DiscoveredIssuer is { } discovered)
        {
            remote += $"; its issuer {Quote(discovered)}";
        }

        return statics is null ? remote : $"{remote}; and {statics}";
    }

    /// <summary>A key's type, size, the algorithms it may verify and, for a public key, its JWK thumbprint (RFC 7638).</summary>
    private static string Describe(SigningKeySet set, SecurityKey key)
    {
        var type = key switch
        {
            RsaSecurityKey or X509SecurityKey { PublicKey: RSA } => $"RSA {key.KeySize} bits",
            ECDsaSecurityKey or X509SecurityKey { PublicKey: ECDsa } => $"EC {key.KeySize} bits",
            SymmetricSecurityKey => $"symmetric (HMAC) {key.KeySize} bits",
            _ => key.GetType().Name,
        };
        if (key is X509SecurityKey)
        {
            type += " (X.509 certificate)";
        }

        var algorithms = set.Keys.FirstOrDefault(signing => ReferenceEquals(signing.Key, key))?.Algorithms ?? [];
        var text = $"kid {Quote(string.IsNullOrEmpty(key.KeyId) ? null : key.KeyId)}, {type}, may verify {(algorithms.Length == 0 ? "nothing" : string.Join(", ", algorithms))}";
        if (key is not SymmetricSecurityKey)
        {
            try
            {
                text += $", JWK thumbprint {Base64UrlEncoder.Encode(key.ComputeJwkThumbprint())}";
            }
            catch (Exception ex) when (ex is NotSupportedException or CryptographicException or ArgumentException)
            {
                // Not every key type has a thumbprint; the rest of the line still describes it.
            }
        }

        return text;
    }

    private void Signature(string token, TokenFacts facts, SigningKeyManager? routed, SecurityKey[] candidates)
    {
        if (routed is null || candidates.Length == 0)
        {
            writer.Step("signature", StepResult.Info, "not checked: no key to check it with");
            return;
        }

        if (SignatureCheck.Verify(token, facts.Algorithm!, candidates, out var signingKey))
        {
            writer.Step("signature", StepResult.Ok, $"valid: verified with the key with kid {Quote(string.IsNullOrEmpty(signingKey!.KeyId) ? null : signingKey.KeyId)}");
            return;
        }

        writer.Step("signature", StepResult.Fail, $"invalid: none of the {candidates.Length} key(s) verifies it");
        writer.Detail("signed by another key than the one its kid names (another issuer or environment), or altered");
    }

    private void Audience(JsonWebToken? jwt, IssuerDefinition? issuer)
    {
        if (jwt is null || issuer is null)
        {
            writer.Step("audience", StepResult.Info, "not checked: no trusted issuer, so no audience settings apply");
            return;
        }

        var audiences = jwt.Audiences.Take(MaxListed).ToArray();
        var shown = audiences.Length == 0 ? "(none)" : string.Join(", ", audiences.Select(Quote));
        var parameters = issuer.Profile.BaseParameters;
        if (!parameters.ValidateAudience)
        {
            writer.Step("audience", StepResult.Info, $"aud {shown}; not checked (GrpcJwtAuth:ValidateAudience is false)");
            return;
        }

        var valid = parameters.ValidAudiences?.ToArray() ?? [];
        var accepted = audiences.Any(audience => valid.Contains(audience, StringComparer.Ordinal));
        writer.Step("audience", accepted ? StepResult.Ok : StepResult.Fail, $"aud {shown}");
        if (!accepted)
        {
            writer.Detail($"the server accepts {(valid.Length == 0 ? "(none)" : string.Join(", ", valid.Select(Quote)))} (Audiences): exact match, trailing slashes count");
        }
    }

    /// <summary>The times against <paramref name="now"/>, the clock reading the validator decided on; its time detail when it gave one.</summary>
    private void Times(JsonWebToken? jwt, TokenFacts facts, IssuerDefinition? issuer, DateTimeOffset now, TokenCheck check)
    {
        var issuedAt = facts.IssuedAt;
        if (issuer is null)
        {
            writer.Step("times", StepResult.Info, "not checked: no trusted issuer, so no clock skew applies");
        }
        else
        {
            var lifetime = issuer.Profile.Lifetime;
            var failure = lifetime.Check(facts.NotBefore, facts.Expires, facts.IssuedAt);
            var skew = $"allowed skew {HumanDuration.Format(issuer.Profile.ClockSkew)}";
            writer.Step("times", failure == AuthFailure.None ? StepResult.Ok : StepResult.Fail, failure == AuthFailure.None
                ? $"valid now by this machine's clock ({skew})"
                : (failure == check.Failure ? check.Detail : null)
                    ?? lifetime.Explain(failure, facts.NotBefore, facts.Expires, facts.IssuedAt)
                    ?? $"{AuthFailures.Get(failure).Status.Detail} ({skew})");
        }

        writer.Detail($"now {Timestamp(now)} (this machine's clock, the one a server here would use)");
        writer.Detail(facts.Expires is { } exp
            ? $"exp {Timestamp(At(exp))}: {Relative(At(exp), now, "expires in {0}", "expired {0} ago")}"
            : "exp (none): the server requires one");
        writer.Detail(facts.NotBefore is { } nbf
            ? $"nbf {Timestamp(At(nbf))}: {Relative(At(nbf), now, "not valid for another {0}", "valid since {0} ago")}"
            : "nbf (none)");
        writer.Detail(issuedAt is { } issued
            ? $"iat {Timestamp(At(issued))}: {Relative(At(issued), now, "issued {0} in the future by this machine's clock", "issued {0} ago")}"
            : "iat (none)");
    }

    private void RolesAndScopes(JwtCaller? caller, bool validated, IssuerDefinition? issuer)
    {
        if (caller is null || issuer is null)
        {
            writer.Step("roles and scopes", StepResult.Info, "not mapped: no trusted issuer, so no claim types apply");
            return;
        }

        writer.Step("roles and scopes", StepResult.Info, validated
            ? $"{caller.Roles.Count} role(s), {caller.Scopes.Count} scope(s), as the server maps them"
            : $"{caller.Roles.Count} role(s), {caller.Scopes.Count} scope(s), as the server would map them (from a token it rejects: unvalidated)");
        writer.Detail($"sub {Quote(caller.Subject)}");
        writer.Detail($"roles (claims {string.Join(", ", issuer.Profile.RoleClaimTypes)}): {List(caller.Roles)}");
        writer.Detail($"scopes (claims {string.Join(", ", issuer.Profile.ScopeClaimTypes)}): {List(caller.Scopes)}");
    }

    internal static string List(IEnumerable<string> values)
    {
        var shown = values.Take(MaxListed).Select(Quote).ToArray();
        return shown.Length == 0 ? "(none)" : string.Join(", ", shown);
    }

    /// <summary>A value the token's sender wrote, made safe to print: quoted, cut, no control or format characters.</summary>
    internal static string Quote(string? value) => value is null ? "(none)" : $"'{SafeText.Sanitize(value, ValueLength)}'";

    private static DateTimeOffset At(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds);

    private static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Relative(DateTimeOffset at, DateTimeOffset now, string future, string past) =>
        at > now
            ? string.Format(CultureInfo.InvariantCulture, future, HumanDuration.Format(at - now))
            : string.Format(CultureInfo.InvariantCulture, past, HumanDuration.Format(now - at));
}
