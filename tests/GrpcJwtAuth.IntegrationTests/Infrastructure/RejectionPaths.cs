using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>One way a call is turned away: the call, what the client must get back, and the reason tag the server records.</summary>
/// <param name="Name">What the case is, for failure messages.</param>
/// <param name="Method">The gRPC method called.</param>
/// <param name="Code">The status the client gets.</param>
/// <param name="Detail">The status detail the client gets.</param>
/// <param name="Reason">The reason tag in metrics, logs and activity tags.</param>
/// <param name="Tokens">The tokens sent, if any: they must show up nowhere but in the request.</param>
/// <param name="Call">Makes the call.</param>
public sealed record RejectionPath(
    string Name, string Method, StatusCode Code, string Detail, string Reason, string[] Tokens, Func<Probe.ProbeClient, Task> Call)
{
    public override string ToString() => Name;
}

/// <summary>
/// Every rejection a caller can provoke on one server (keys from a <see cref="KeyServer"/> serving
/// <see cref="TestKeys.Primary"/>, configured by <see cref="Options"/>), across all four call kinds; shared by the tests
/// that check what rejections leave behind (logs, metrics, activities, status details). Keys unavailable needs a server
/// without keys, so it is not here.
/// </summary>
public static class RejectionPaths
{
    public const string Unary = "/test.Probe/Unary";
    public const string Admin = "/test.Probe/Admin";
    public const string ServerStream = "/test.Probe/ServerStream";
    public const string ClientStream = "/test.Probe/ClientStream";
    public const string Duplex = "/test.Probe/Duplex";

    /// <summary>The server settings the paths assume.</summary>
    public static Action<GrpcJwtAuthOptions> Options(KeyServer keys) => options =>
    {
        options.Authority = keys.Issuer;
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        options.MaxTokenLength = 1024 * 2;
        options.KeyRefreshWaitTimeout = TimeSpan.FromSeconds(5);
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = Admin, Roles = { "admin" } });
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = Duplex, Scopes = { "probe.write" } });
    };

    /// <summary>A token the server accepts (subject <c>user-1</c>), for the call that goes through.</summary>
    public static string Accepted(KeyServer keys) => Token(keys, TestKeys.Primary);

    public static IReadOnlyList<RejectionPath> Create(KeyServer keys)
    {
        var paths = new List<RejectionPath>();
        void Add(string name, string method, StatusCode code, string detail, string reason, string? token, Func<Probe.ProbeClient, Task> call) =>
            paths.Add(new RejectionPath(name, method, code, detail, reason, token is null ? [] : [token], call));
        const StatusCode Unauthenticated = StatusCode.Unauthenticated;

        // The authorization metadata.
        Add("no authorization", Unary, Unauthenticated, Details.MissingToken, "missing_token", null,
            probe => probe.CallUnaryAsync(Auth.None));
        var first = Token(keys, TestKeys.Primary);
        var second = Token(keys, TestKeys.Primary);
        // HttpClient joins repeated request headers into one field on HTTP/2: the server sees one malformed value.
        paths.Add(new RejectionPath(
            "two authorization entries", Unary, Unauthenticated, Details.MalformedAuthorization, "malformed_authorization", [first, second],
            probe => probe.CallUnaryAsync(Auth.Header("Bearer " + first, "Bearer " + second))));
        Add("empty authorization", Unary, Unauthenticated, Details.EmptyAuthorization, "empty_authorization", null,
            probe => probe.CallUnaryAsync(Auth.Header(string.Empty)));
        var basic = Token(keys, TestKeys.Primary);
        Add("basic scheme", Unary, Unauthenticated, Details.NotBearer, "not_bearer", basic,
            probe => probe.CallUnaryAsync(Auth.Header("Basic " + basic)));
        Add("bearer without token", Unary, Unauthenticated, Details.MissingBearerToken, "missing_bearer_token", null,
            probe => probe.CallUnaryAsync(Auth.Header("Bearer")));
        var twice = Token(keys, TestKeys.Primary);
        Add("two tokens in one entry", Unary, Unauthenticated, Details.MalformedAuthorization, "malformed_authorization", twice,
            probe => probe.CallUnaryAsync(Auth.Header($"Bearer {twice} {twice}")));
        var huge = Token(keys, TestKeys.Primary, claims: new Dictionary<string, object> { ["pad"] = new string('x', 2048) });
        Add("token over MaxTokenLength", Unary, Unauthenticated, Details.TokenTooLarge, "token_too_large", huge,
            probe => probe.CallUnaryAsync(Auth.Bearer(huge)));

        // The token's shape.
        var truncated = Token(keys, TestKeys.Primary);
        truncated = truncated[..truncated.LastIndexOf('.')];
        Add("signature cut off", Unary, Unauthenticated, Details.MalformedToken, "malformed_token", truncated,
            probe => probe.CallUnaryAsync(Auth.Bearer(truncated)));
        var encrypted = Encrypted(keys);
        Add("encrypted token", Unary, Unauthenticated, Details.EncryptedToken, "encrypted_token", encrypted,
            probe => probe.CallUnaryAsync(Auth.Bearer(encrypted)));
        var duplicate = TestTokenFactory.SignRaw(
            """{"alg":"RS256","kid":"rsa-1"}""", Payload(keys, """ "sub":"user-1","sub":"admin" """), TestKeys.Primary);
        Add("claim named twice", Unary, Unauthenticated, Details.DuplicateTokenMember, "duplicate_token_member", duplicate,
            probe => probe.CallUnaryAsync(Auth.Bearer(duplicate)));
        var critical = TestTokenFactory.SignRaw("""{"alg":"RS256","kid":"rsa-1","crit":["exp"]}""", Payload(keys), TestKeys.Primary);
        Add("crit header", Unary, Unauthenticated, Details.UnsupportedTokenHeader, "unsupported_token_header", critical,
            probe => probe.CallUnaryAsync(Auth.Bearer(critical)));
        var oddExpiry = TestTokenFactory.SignRaw("""{"alg":"RS256","kid":"rsa-1"}""", Payload(keys, """ "exp":"soon" """), TestKeys.Primary);
        Add("exp a string", Unary, Unauthenticated, Details.InvalidTimeClaim, "invalid_time_claim", oddExpiry,
            probe => probe.CallUnaryAsync(Auth.Bearer(oddExpiry)));

        // The token's content and signature.
        var expired = Token(keys, TestKeys.Primary, lifetime: TimeSpan.FromMinutes(-5));
        Add("expired", Unary, Unauthenticated, Details.TokenExpired, "token_expired", expired,
            probe => probe.CallUnaryAsync(Auth.Bearer(expired)));
        var early = Token(keys, TestKeys.Primary, notBefore: TimeSpan.FromMinutes(10));
        Add("not yet valid", Unary, Unauthenticated, Details.TokenNotYetValid, "token_not_yet_valid", early,
            probe => probe.CallUnaryAsync(Auth.Bearer(early)));
        var ahead = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds();
        var fromTheFuture = TestTokenFactory.SignRaw(
            """{"alg":"RS256","kid":"rsa-1"}""", Payload(keys, $$""" "sub":"user-1","iat":{{ahead}},"exp":{{ahead + 600}} """), TestKeys.Primary);
        Add("issued in the future", Unary, Unauthenticated, Details.TokenIssuedInFuture, "token_issued_in_future", fromTheFuture,
            probe => probe.CallUnaryAsync(Auth.Bearer(fromTheFuture)));
        var endless = Token(keys, TestKeys.Primary, includeExpiry: false);
        Add("no exp", Unary, Unauthenticated, Details.NoExpiration, "no_expiration", endless,
            probe => probe.CallUnaryAsync(Auth.Bearer(endless)));
        var otherAudience = Token(keys, TestKeys.Primary, audience: "api://someone-else");
        Add("other audience", Unary, Unauthenticated, Details.AudienceNotAccepted, "audience_not_accepted", otherAudience,
            probe => probe.CallUnaryAsync(Auth.Bearer(otherAudience)));
        var slashedAudience = Token(keys, TestKeys.Primary, audience: TestTokenFactory.DefaultAudience + "/");
        Add("audience with a trailing slash", Unary, Unauthenticated, Details.AudienceNotAccepted, "audience_not_accepted", slashedAudience,
            probe => probe.CallUnaryAsync(Auth.Bearer(slashedAudience)));
        var logoutToken = TestTokenFactory.SignRaw("""{"alg":"RS256","kid":"rsa-1","typ":"logout+jwt"}""", Payload(keys), TestKeys.Primary);
        Add("logout token", Unary, Unauthenticated, Details.TokenTypeNotAccepted, "token_type_not_accepted", logoutToken,
            probe => probe.CallUnaryAsync(Auth.Bearer(logoutToken)));
        var otherIssuer = Token(keys, TestKeys.Primary, issuer: "https://evil.test");
        Add("other issuer", Unary, Unauthenticated, Details.IssuerNotAccepted, "issuer_not_accepted", otherIssuer,
            probe => probe.CallUnaryAsync(Auth.Bearer(otherIssuer)));
        var hmac = Token(keys, TestKeys.Hmac);
        Add("HMAC against RSA keys", Unary, Unauthenticated, Details.AlgorithmNotAllowed, "algorithm_not_allowed", hmac,
            probe => probe.CallUnaryAsync(Auth.Bearer(hmac)));
        var forged = Token(keys, TestKeys.Impostor);
        Add("forged signature", ServerStream, Unauthenticated, Details.InvalidSignature, "invalid_signature", forged,
            probe => probe.CallServerStreamAsync(Auth.Bearer(forged), 2));
        var unknownKid = Token(keys, TestKeys.Next);
        Add("unknown kid", ClientStream, Unauthenticated, Details.KeyNotFound, "key_not_found", unknownKid,
            probe => probe.CallClientStreamAsync(Auth.Bearer(unknownKid), 2));

        // Authorization.
        var noRole = Token(keys, TestKeys.Primary, claims: new Dictionary<string, object> { ["roles"] = "ops" });
        Add("missing role", Admin, StatusCode.PermissionDenied, Details.MissingRole, "missing_role", noRole,
            probe => probe.CallAdminAsync(Auth.Bearer(noRole)));
        var noScope = Token(keys, TestKeys.Primary);
        Add("missing scope", Duplex, StatusCode.PermissionDenied, Details.MissingScope, "missing_scope", noScope,
            probe => probe.CallDuplexAsync(Auth.Bearer(noScope), "x"));

        return paths;
    }

    /// <summary>
    /// Makes one accepted call with <paramref name="accepted"/>, then every path in order, each checked for its status,
    /// its detail, and a detail, message and trailers that do not quote its token.
    /// </summary>
    public static async Task RunAsync(GrpcTestServer server, string accepted, IEnumerable<RejectionPath> paths)
    {
        await server.Probe.CallUnaryAsync(Auth.Bearer(accepted));
        foreach (var path in paths)
        {
            try
            {
                var rejection = await Rejection.AssertAsync(() => path.Call(server.Probe), path.Code, path.Detail);
                foreach (var token in path.Tokens)
                {
                    Rejection.AssertNotQuoted(rejection, token);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidOperationException($"Rejection path '{path.Name}' did not end as expected.", ex);
            }
        }
    }

    /// <summary>Every token the paths (and the accepted call) sent.</summary>
    public static List<string> Tokens(string accepted, IEnumerable<RejectionPath> paths) =>
        [accepted, .. paths.SelectMany(path => path.Tokens)];

    private static string Token(
        KeyServer keys,
        TestSigningKey key,
        string? issuer = null,
        string? audience = TestTokenFactory.DefaultAudience,
        TimeSpan? lifetime = null,
        TimeSpan? notBefore = null,
        bool includeExpiry = true,
        IDictionary<string, object>? claims = null) =>
        new TestTokenFactory(TimeProvider.System).Create(
            key, issuer: issuer ?? keys.Issuer, audience: audience, lifetime: lifetime, notBeforeOffset: notBefore,
            includeExpiry: includeExpiry, claims: claims);

    /// <summary>A payload the server would accept but for <paramref name="extra"/> members.</summary>
    private static string Payload(KeyServer keys, string extra = "")
    {
        var exp = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        var members = $"\"iss\":\"{keys.Issuer}\",\"aud\":\"{TestTokenFactory.DefaultAudience}\"";
        return extra.Contains("\"exp\"", StringComparison.Ordinal)
            ? $"{{{members},{extra.Trim()}}}"
            : $"{{{members},\"exp\":{exp}{(extra.Trim().Length > 0 ? "," + extra.Trim() : string.Empty)}}}";
    }

    /// <summary>A JWE (five segments) for this server's audience, encrypted to a throwaway RSA key.</summary>
    private static string Encrypted(KeyServer keys)
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = keys.Issuer,
            Audience = TestTokenFactory.DefaultAudience,
            Expires = DateTime.UtcNow.AddMinutes(10),
            Claims = new Dictionary<string, object> { ["sub"] = "user-1" },
            SigningCredentials = new SigningCredentials(TestKeys.Primary.PrivateKey, TestKeys.Primary.Algorithm),
            EncryptingCredentials = new EncryptingCredentials(
                new RsaSecurityKey(rsa), SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes128CbcHmacSha256),
        });
    }
}
