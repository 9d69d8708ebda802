using System.Reflection;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace GrpcJwtAuth.Tests.Diagnostics;

/// <summary>The server's log lines: stable event ids, what a rejection line carries, and what it never does.</summary>
public sealed class LogTests : IDisposable
{
    private readonly DiagnosticsHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void EventIds_AreUniqueAndInTheServerOrKeyRange()
    {
        var events = typeof(Log).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(method => method.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .ToList();

        Assert.NotEmpty(events);
        Assert.Equal(events.Count, events.Select(e => e.EventId).Distinct().Count());
        Assert.All(events, e => Assert.InRange(e.EventId, 100, 299));
        Assert.All(events, e => Assert.False(string.IsNullOrEmpty(e.EventName)));
    }

    [Theory]
    [InlineData("CallRejected", 100, LogLevel.Debug)]
    [InlineData("CallDenied", 101, LogLevel.Debug)]
    [InlineData("RejectionBurst", 104, LogLevel.Warning)]
    [InlineData("StreamTokenExpired", 105, LogLevel.Debug)]
    [InlineData("KeyRefreshFailedUsingLastKnownGood", 201, LogLevel.Warning)]
    [InlineData("KeyRefreshFailedNoKeys", 202, LogLevel.Error)]
    public void EventIds_DocumentedEvents_KeepTheirIdsAndLevels(string name, int id, LogLevel level)
    {
        var attribute = typeof(Log).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(method => method.GetCustomAttribute<LoggerMessageAttribute>())
            .Single(attribute => attribute?.EventName == name)!;

        Assert.Equal(id, attribute.EventId);
        Assert.Equal(level, attribute.Level);
    }

    [Fact]
    public async Task CallRejected_TokenParsedThenRejected_CarriesReasonMethodPeerKidIssSubAndJtiButNotTheToken()
    {
        var token = _harness.Tokens.Create(
            DiagnosticsHarness.Key, subject: "alice", lifetime: TimeSpan.FromMinutes(-5), claims: new Dictionary<string, object> { ["jti"] = "id-7" });

        await _harness.AuthenticateAsync("Bearer " + token);

        var record = Assert.Single(_harness.Logs.GetSnapshot(), r => r.Id.Name == "CallRejected");
        Assert.Equal(
            $"Call to {DiagnosticsHarness.Method} from {DiagnosticsHarness.Peer} rejected: token_expired; " +
            $"kid=ec-1 iss={TestTokenFactory.DefaultIssuer} sub=alice jti=id-7",
            record.Message);
        AssertNoRecordQuotes(token);
    }

    [Fact]
    public async Task CallRejected_ForgedTokenWithHostileClaims_ClaimsAreCutAndEscaped()
    {
        var hostile = "evil\nFAKE LOG LINE " + new string('x', 500);
        var token = _harness.Tokens.Create(TestSigningKey.Ec(hostile), subject: hostile, issuer: hostile);

        await _harness.AuthenticateAsync("Bearer " + token);

        var record = Assert.Single(_harness.Logs.GetSnapshot(), r => r.Id.Name == "CallRejected");
        Assert.DoesNotContain("\n", record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('x', 64), record.Message, StringComparison.Ordinal);
        var cut = RejectedTokenClaims.Sanitize(hostile);
        Assert.Equal(65, cut!.Length);
        Assert.Equal(cut, record.GetStructuredStateValue("KeyId"));
        Assert.Equal(cut, record.GetStructuredStateValue("Subject"));
        Assert.Equal(cut, record.GetStructuredStateValue("Issuer"));
    }

    [Fact]
    public async Task CallRejected_HeaderRejected_CarriesNoClaims()
    {
        var token = _harness.Tokens.Create(DiagnosticsHarness.Key, subject: "alice");

        await _harness.AuthenticateAsync("Basic " + token);

        var record = Assert.Single(_harness.Logs.GetSnapshot(), r => r.Id.Name == "CallRejected");
        Assert.Equal($"Call to {DiagnosticsHarness.Method} from {DiagnosticsHarness.Peer} rejected: not_bearer; kid= iss= sub= jti=", record.Message);
        Assert.All(new[] { "KeyId", "Issuer", "Subject", "TokenId" }, name => Assert.Null(record.GetStructuredStateValue(name)));
        AssertNoRecordQuotes(token);
    }

    [Fact]
    public async Task CallDenied_MissingRole_CarriesTheValidatedSubIssJtiAndKid()
    {
        var token = _harness.Tokens.Create(DiagnosticsHarness.Key, subject: "bob", claims: new Dictionary<string, object> { ["jti"] = "id-8" });

        await _harness.AuthenticateAsync("Bearer " + token, new AuthorizeAttribute { Roles = "admin" });

        var record = Assert.Single(_harness.Logs.GetSnapshot(), r => r.Id.Name == "CallDenied");
        Assert.Equal(LogLevel.Debug, record.Level);
        Assert.Equal(
            $"Call to {DiagnosticsHarness.Method} from {DiagnosticsHarness.Peer} denied: missing_role; " +
            $"sub=bob iss={TestTokenFactory.DefaultIssuer} jti=id-8 kid=ec-1",
            record.Message);
        AssertNoRecordQuotes(token);
    }

    [Fact]
    public async Task RejectionBurst_TenRejectionsFromOnePeer_OneWarningAndTheDebugLinesStay()
    {
        for (var i = 0; i < 15; i++)
        {
            await _harness.AuthenticateAsync(i % 3 == 0 ? "Bearer not-a-jwt" : null);
        }

        var burst = Assert.Single(_harness.Logs.GetSnapshot(), r => r.Id.Name == "RejectionBurst");
        Assert.Equal(LogLevel.Warning, burst.Level);
        Assert.Equal("ipv4:127.0.0.1", burst.GetStructuredStateValue("Peer"));
        Assert.Equal("10", burst.GetStructuredStateValue("Count"));
        Assert.Equal("missing_token 6, malformed_token 4", burst.GetStructuredStateValue("Reasons"));
        Assert.Equal(15, _harness.Logs.GetSnapshot().Count(r => r.Id.Name == "CallRejected"));
    }

    [Fact]
    public async Task RejectionBurst_AllowedCalls_AreNotCounted()
    {
        var token = "Bearer " + _harness.Tokens.Create(DiagnosticsHarness.Key);

        for (var i = 0; i < 20; i++)
        {
            await _harness.AuthenticateAsync(token);
        }

        Assert.Equal(0, _harness.Bursts.TrackedPeers);
        Assert.DoesNotContain(_harness.Logs.GetSnapshot(), r => r.Id.Name == "RejectionBurst");
    }

    private void AssertNoRecordQuotes(string token)
    {
        var parts = token.Split('.');
        foreach (var record in _harness.Logs.GetSnapshot())
        {
            var text = record.Message + string.Join("|", record.StructuredState ?? []);
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
            Assert.DoesNotContain(parts[1], text, StringComparison.Ordinal);
            Assert.DoesNotContain(parts[2], text, StringComparison.Ordinal);
        }
    }
}
