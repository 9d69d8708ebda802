using GrpcJwtAuth.IntegrationTests.Infrastructure;

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
}
