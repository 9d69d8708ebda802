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
        var server = await StartServerAsync(RejectionPaths.Options(keys), keys);
        var accepted = RejectionPaths.Accepted(keys);
        var paths = RejectionPaths.Create(keys);

        // One accepted call, then every rejection path (see RejectionPaths), each checked for its status and detail.
        await RejectionPaths.RunAsync(server, accepted, paths);

        var records = server.Logs.Records;

        // The capture really saw the framework at its most verbose, including grpc-dotnet's own line for each
        // status it sent.
        Assert.Contains(records, record => record.Level == LogLevel.Trace && record.Category!.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Category!.StartsWith("Grpc.AspNetCore.Server", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Category!.StartsWith("Grpc.Net.Client", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Category!.StartsWith("GrpcJwtAuth", StringComparison.Ordinal));
        Assert.Contains(records, record => record.Message.Contains(Details.TokenExpired, StringComparison.Ordinal));

        var used = RejectionPaths.Tokens(accepted, paths);
        Assert.Empty(SecretScan.Leaks(server.Logs, used));
        Assert.Empty(SecretScan.Leaks(keys.Logs, used));
    }

    [Theory]
    [InlineData("\\u2028", "line separator")]
    [InlineData("\\u2029", "paragraph separator")]
    [InlineData("\\u202E", "right-to-left override")]
    [InlineData("\\u200B", "zero-width space")]
    [InlineData("\\uFEFF", "byte order mark")]
    [InlineData("\\u0085", "next line")]
    [InlineData("\\u001B[31m", "terminal escape")]
    public async Task Claims_of_a_rejected_token_reach_the_log_without_control_format_or_separator_characters(string escaped, string name)
    {
        // (A lone surrogate escape makes the token malformed JSON, so its claims are never read: see the unit tests.)
        var hostile = System.Text.RegularExpressions.Regex.Unescape(escaped);
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var forged = TestTokenFactory.SignRaw(
            $$"""{"alg":"RS256","kid":"rsa-1{{escaped}}x"}""",
            $$"""{"iss":"https://issuer.test{{escaped}}x","aud":"api://greeter","sub":"eve{{escaped}}x","jti":"j{{escaped}}x","exp":{{DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()}}}""",
            TestKeys.Impostor);

        var rejected = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => server.Probe.CallUnaryAsync(Auth.Bearer(forged)));

        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, rejected.StatusCode);
        var line = Assert.Single(server.Logs.WithEvent("CallRejected"));
        foreach (var value in new[] { "KeyId", "Issuer", "Subject", "TokenId" })
        {
            var logged = line.GetStructuredStateValue(value);
            Assert.NotNull(logged);
            Assert.DoesNotContain(hostile, logged, StringComparison.Ordinal);
            Assert.True(logged.EndsWith('x'), $"{name} in {value}: '{logged}'");
        }

        Assert.DoesNotContain(hostile, line.Message, StringComparison.Ordinal);
    }
}
