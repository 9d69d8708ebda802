using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>A token may travel in a request and nowhere else: not in a status, not in any log line.</summary>
public class LogSecrecyTests : IntegrationTest
{
    [Fact]
    public async Task No_log_record_at_any_level_quotes_a_token_or_its_signature_whatever_the_outcome()
    {
        var keys = await StartKeyServerAsync(TestKeys.Primary);
        var server = await StartServerAsync(options =>
        {
            options.Authority = keys.Issuer;
            options.Audiences.Add(TestTokenFactory.DefaultAudience);
            options.MaxTokenLength = 1024 * 2;
            options.KeyRefreshWaitTimeout = TimeSpan.FromSeconds(5);
            options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Admin", Roles = { "admin" } });
            options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/test.Probe/Duplex", Scopes = { "probe.write" } });
        }, keys);
        var tokens = new TestTokenFactory(TimeProvider.System);
        string Token(TestSigningKey key, string? issuer = null, string? audience = TestTokenFactory.DefaultAudience, TimeSpan? lifetime = null, string? role = null) =>
            tokens.Create(key, issuer: issuer ?? keys.Issuer, audience: audience, lifetime: lifetime,
                claims: role is null ? null : new Dictionary<string, object> { ["roles"] = role });

        var used = new List<string>();
        async Task Rejected(Func<Task> call, StatusCode code, string detail, string token)
        {
            used.Add(token);
            await Rejection.AssertAsync(call, code, detail, token);
        }

        var accepted = Token(TestKeys.Primary);
        used.Add(accepted);
        await server.Probe.CallUnaryAsync(Auth.Bearer(accepted));

        var noRole = Token(TestKeys.Primary, role: "ops");
        await Rejected(() => server.Probe.CallAdminAsync(Auth.Bearer(noRole)), StatusCode.PermissionDenied, Details.MissingRole, noRole);
        var noScope = Token(TestKeys.Primary);
        await Rejected(() => server.Probe.CallDuplexAsync(Auth.Bearer(noScope), "x"), StatusCode.PermissionDenied, Details.MissingScope, noScope);
        var expired = Token(TestKeys.Primary, lifetime: TimeSpan.FromMinutes(-5));
        await Rejected(() => server.Probe.CallUnaryAsync(Auth.Bearer(expired)), StatusCode.Unauthenticated, Details.TokenExpired, expired);
        var otherAudience = Token(TestKeys.Primary, audience: "api://someone-else");
        await Rejected(() => server.Probe.CallUnaryAsync(Auth.Bearer(otherAudience)), StatusCode.Unauthenticated, Details.AudienceNotAccepted, otherAudience);
        var otherIssuer = Token(TestKeys.Primary, issuer: "https://evil.test");
        await Rejected(() => server.Probe.CallUnaryAsync(Auth.Bearer(otherIssuer)), StatusCode.Unauthenticated, Details.IssuerNotAccepted, otherIssuer);
        var forged = Token(TestKeys.Impostor);
        await Rejected(() => server.Probe.CallServerStreamAsync(Auth.Bearer(forged), 2), StatusCode.Unauthenticated, Details.InvalidSignature, forged);
        var unknownKid = Token(TestKeys.Next);
        await Rejected(() => server.Probe.CallClientStreamAsync(Auth.Bearer(unknownKid), 2), StatusCode.Unauthenticated, Details.KeyNotFound, unknownKid);
        var twice = Token(TestKeys.Primary);
        await Rejected(() => server.Probe.CallUnaryAsync(Auth.Header($"Bearer {twice} {twice}")), StatusCode.Unauthenticated, Details.MalformedAuthorization, twice);
        var basic = Token(TestKeys.Primary);
        await Rejected(() => server.Probe.CallUnaryAsync(Auth.Header("Basic " + basic)), StatusCode.Unauthenticated, Details.NotBearer, basic);
        var truncated = Token(TestKeys.Primary);
        truncated = truncated[..truncated.LastIndexOf('.')];
        await Rejected(() => server.Probe.CallUnaryAsync(Auth.Bearer(truncated)), StatusCode.Unauthenticated, Details.MalformedToken, truncated);
        var huge = tokens.Create(TestKeys.Primary, issuer: keys.Issuer, claims: new Dictionary<string, object> { ["pad"] = new string('x', 2048) });
        await Rejected(() => server.Probe.CallUnaryAsync(Auth.Bearer(huge)), StatusCode.Unauthenticated, Details.TokenTooLarge, huge);

        var records = server.Logs.Records;

        // The capture really saw the framework at its most verbose, including grpc-dotnet's own line for each
        // status it sent.
        Assert.Contains(records, record => record.Level == LogLevel.Trace && record.Category!.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Category!.StartsWith("Grpc.AspNetCore.Server", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Category!.StartsWith("Grpc.Net.Client", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Category!.StartsWith("GrpcJwtAuth", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Message.Contains(Details.TokenExpired, StringComparison.Ordinal));

        Assert.Empty(Leaks(server.Logs, used));
        Assert.Empty(Leaks(keys.Logs, used));
    }

    /// <summary>Every record (as all the text it carries) that quotes a token or one of its secret parts.</summary>
    private static List<string> Leaks(LogCapture logs, List<string> tokens)
    {
        var secrets = tokens.SelectMany(Secrets.Of).ToArray();
        return logs.Records
            .Select(LogCapture.Describe)
            .Where(text => secrets.Any(secret => text.Contains(secret, StringComparison.Ordinal)))
            .ToList();
    }
}
