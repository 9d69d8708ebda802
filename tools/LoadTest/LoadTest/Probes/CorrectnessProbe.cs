using Greeter;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.LoadTest.Servers;

namespace GrpcJwtAuth.LoadTest.Probes;

/// <summary>The tokens a probe sends: two valid ones and a forged one.</summary>
internal sealed record ProbeTokens(string ValidRs256, string ValidEs256, string Forged);

/// <summary>
/// A real gRPC client checks what h2load cannot see (gRPC status travels in trailers, after HTTP 200): before and after
/// every measurement, valid tokens must succeed with the token's subject, and in the authenticating modes a forged
/// token and a call without a token must fail with Unauthenticated.
/// </summary>
internal static class CorrectnessProbe
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    /// <summary>The failures, each as a sentence; empty when the server behaved.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(ServerProcess server, ProbeTokens tokens, string expectedSubject, CancellationToken cancellationToken)
    {
        var authenticates = server.Mode != "none";
        var failures = new List<string>();
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            HttpHandler = PinnedTls.CreateHandler(server.CertificatePath),
            DisposeHttpClient = true,
        });
        var client = new Greeter.Greeter.GreeterClient(channel);

        await ExpectAsync("valid RS256 token", tokens.ValidRs256, StatusCode.OK);
        await ExpectAsync("valid ES256 token", tokens.ValidEs256, StatusCode.OK);
        await ExpectAsync("forged token", tokens.Forged, authenticates ? StatusCode.Unauthenticated : StatusCode.OK);
        await ExpectAsync("no token", null, authenticates ? StatusCode.Unauthenticated : StatusCode.OK);
        return failures;

        async Task ExpectAsync(string what, string? token, StatusCode expected)
        {
            var headers = new Metadata();
            if (token is not null)
            {
                headers.Add("authorization", "Bearer " + token);
            }

            StatusCode actual;
            var subject = "";
            try
            {
                var reply = await client.SayHelloAsync(
                    new HelloRequest { Name = "probe" }, headers, DateTime.UtcNow + Deadline, cancellationToken);
                actual = StatusCode.OK;
                subject = reply.Subject;
            }
            catch (RpcException ex)
            {
                actual = ex.StatusCode;
            }

            var wantSubject = authenticates && token is not null && expected == StatusCode.OK ? expectedSubject : "";
            if (actual != expected)
            {
                failures.Add($"{server.Mode}: {what} got {actual}, expected {expected}");
            }
            else if (actual == StatusCode.OK && subject != wantSubject)
            {
                failures.Add($"{server.Mode}: {what} answered for subject '{subject}', expected '{wantSubject}'");
            }
        }
    }
}
