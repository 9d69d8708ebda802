using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tool.Tests;

/// <summary>
/// The tool in-process against real discovery and JWKS endpoints over TLS on 127.0.0.1: each step, the decision the
/// server would make with its status detail, the exit code, and what is never printed.
/// </summary>
public sealed class DiagnosisTests : OwningTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    [Fact]
    public async Task Valid_token_is_accepted_and_every_step_is_shown_without_the_signature_or_the_token()
    {
        var keys = Own(await KeyServer.StartAsync(TestKeys.Primary));
        var config = Own(ConfigDirectory.Create(new { Authority = keys.Issuer, Audiences = new[] { TestTokenFactory.DefaultAudience } }));
        var token = Tokens.Create(TestKeys.Primary, issuer: keys.Issuer, claims: new Dictionary<string, object> { ["scope"] = "orders.read" });

        var result = await ToolRun.RunAsync($"Bearer {token}\n", config, keys);

        Assert.Equal(0, result.ExitCode);
        var output = result.Output;
        foreach (var step in new[] { "1. format: ok", "2. header: ok", "3. issuer: ok", "4. keys: ok", "5. signature: ok", "6. audience: ok", "7. times: ok", "8. roles and scopes: --" })
        {
            Assert.Contains(step, output);
        }

        Assert.Contains("alg 'RS256'", output);
        Assert.Contains("kid 'rsa-1'", output);
        Assert.Contains($"iss '{keys.Issuer}' -> trusted issuer 'default'", output);
        Assert.Contains($"discovery {keys.Issuer}/.well-known/openid-configuration", output);
        Assert.Contains("RSA 2048 bits", output);
        Assert.Contains("scopes (claims scope, scp): 'orders.read'", output);
        Assert.Contains("decision: accepted", output);

        var segments = token.Split('.');
        Assert.DoesNotContain(token, output);
        Assert.DoesNotContain(segments[2], output);
        Assert.DoesNotContain(segments[1], output);
        Assert.Empty(result.Error);
    }

    [Fact]
    public async Task Unknown_kid_is_looked_for_again_then_reported_as_key_not_found()
    {
        var keys = Own(await KeyServer.StartAsync(TestKeys.Primary));
        var config = Own(ConfigDirectory.Create(new { Authority = keys.Issuer, Audiences = new[] { TestTokenFactory.DefaultAudience } }));
        var token = Tokens.Create(TestKeys.Next, issuer: keys.Issuer);

        var result = await ToolRun.RunAsync(token, config, keys);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("4. keys: FAIL  kid 'rsa-2' is not in the issuer's key set", result.Output);
        Assert.Contains("kids 'rsa-1'", result.Output);
        Assert.Contains("fetched again for this unknown kid", result.Output);
        Assert.Contains("5. signature: --", result.Output);
        Assert.Contains("decision: rejected - Unauthenticated: signature key not found", result.Output);
        Assert.Equal(2, keys.JwksHits);
    }

    [Fact]
    public async Task Expired_token_gets_the_servers_detail_with_how_long_ago()
    {
        var keys = Own(await KeyServer.StartAsync(TestKeys.Primary));
        var config = Own(ConfigDirectory.Create(new { Authority = keys.Issuer, Audiences = new[] { TestTokenFactory.DefaultAudience } }));
        var issuedLongAgo = new TestTokenFactory(new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-20)));
        var token = issuedLongAgo.Create(TestKeys.Primary, issuer: keys.Issuer, lifetime: TimeSpan.FromMinutes(10));

        var result = await ToolRun.RunAsync(token, config, keys);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("7. times: FAIL  token expired 10 min ago by the server's clock (allowed skew 30 s)", result.Output);
        Assert.Contains(": expired 10 min ago", result.Output);
        Assert.Contains(": issued 20 min ago", result.Output);
        Assert.Contains("decision: rejected - Unauthenticated: token expired 10 min ago by the server's clock (allowed skew 30 s)", result.Output);
    }

    [Fact]
    public async Task Wrong_audience_names_the_accepted_ones()
    {
        var keys = Own(await KeyServer.StartAsync(TestKeys.Primary));
        var config = Own(ConfigDirectory.Create(new { Authority = keys.Issuer, Audiences = new[] { TestTokenFactory.DefaultAudience } }));
        var token = Tokens.Create(TestKeys.Primary, issuer: keys.Issuer, audience: "api://other");

        var result = await ToolRun.RunAsync(token, config, keys);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("6. audience: FAIL  aud 'api://other'", result.Output);
        Assert.Contains($"the server accepts '{TestTokenFactory.DefaultAudience}'", result.Output);
        Assert.Contains("decision: rejected - Unauthenticated: audience not accepted", result.Output);
    }

    [Theory]
    [InlineData("reader", 1, "decision: rejected - PermissionDenied: missing required role")]
    [InlineData("admin", 0, "decision: accepted")]
    public async Task Method_rule_says_which_role_is_missing(string role, int exitCode, string decision)
    {
        var keys = Own(await KeyServer.StartAsync(TestKeys.Primary));
        var config = Own(ConfigDirectory.Create(new
        {
            Authority = keys.Issuer,
            Audiences = new[] { TestTokenFactory.DefaultAudience },
            Rules = new object[]
            {
                new { Prefix = "/orders.Orders/", Roles = new[] { "admin" } },
                new { Prefix = "/", Scopes = new[] { "orders.read" } },
            },
        }));
        var token = Tokens.Create(TestKeys.Primary, issuer: keys.Issuer, claims: new Dictionary<string, object> { ["roles"] = new[] { role } });

        var result = await ToolRun.RunAsync(token, config, keys, "--method", "/orders.Orders/Delete");

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains("rule '/orders.Orders/' applies", result.Output);
        Assert.Contains("rule '/' also matches, but does not apply: the longest prefix wins", result.Output);
        Assert.Contains("[Authorize] attributes, RequireAuthorization()", result.Output);
        Assert.Contains(decision, result.Output);
        if (exitCode != 0)
        {
            Assert.Contains("one of the roles 'admin': NOT met; missing role: one of 'admin', the token has 'reader'", result.Output);
        }
    }

    [Fact]
    public async Task Invalid_configuration_exits_2_naming_the_key_before_reading_stdin()
    {
        var config = Own(ConfigDirectory.Create(new { Audiences = new[] { TestTokenFactory.DefaultAudience } }));
        var input = new CountingReader(endless: true);

        var result = await ToolRun.RunAsync(input, config, keys: null);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("the GrpcJwtAuth configuration is invalid", result.Error);
        Assert.Contains("set GrpcJwtAuth:Authority, GrpcJwtAuth:MetadataAddress, GrpcJwtAuth:JwksUri or GrpcJwtAuth:StaticKeys", result.Error);
        Assert.Equal(0, input.CharactersRead);
    }

    [Fact]
    public async Task Endless_stdin_is_refused_after_the_size_limit()
    {
        var config = Own(ConfigDirectory.Create(StaticKeyConfig()));
        var input = new CountingReader(endless: true);

        var result = await ToolRun.RunAsync(input, config, keys: null);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("1. format: FAIL  standard input holds more than 16640 characters; it was not read further", result.Output);
        Assert.Contains("decision: rejected - Unauthenticated: token too large", result.Output);
        Assert.InRange(input.CharactersRead, 16_641, 16_641);
    }

    [Theory]
    [InlineData("an-opaque-reference-token", "not a JWT: a JWT is three base64url segments separated by dots")]
    [InlineData("two words", "not one bearer token")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.e30.c2ln.more.parts", "an encrypted token (JWE)")]
    public async Task Stdin_that_is_not_a_JWT_gets_a_clear_message(string input, string message)
    {
        var config = Own(ConfigDirectory.Create(StaticKeyConfig()));

        var result = await ToolRun.RunAsync(input, config, keys: null);

        Assert.Contains(message, result.Output);
        Assert.Contains("decision: rejected - Unauthenticated: ", result.Output);
    }

    [Fact]
    public async Task Empty_stdin_is_a_usage_error()
    {
        var config = Own(ConfigDirectory.Create(StaticKeyConfig()));

        var result = await ToolRun.RunAsync("  \n", config, keys: null);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no token on standard input", result.Error);
    }

    [Fact]
    public async Task Help_prints_usage()
    {
        var output = new StringWriter();

        var code = await Diagnosis.RunAsync(TextReader.Null, output, TextWriter.Null, ["--help"], new DiagnosisSetup());

        Assert.Equal(0, code);
        Assert.Contains("Usage: grpcjwtauth check [--config <path>] [--environment <name>] [--method </package.Service/Method>]", output.ToString());
    }

    internal static object StaticKeyConfig() => new
    {
        StaticKeys = new[] { new { KeyId = TestKeys.Primary.KeyId, Pem = TestKeys.Primary.PublicPem } },
        Issuers = new[] { TestTokenFactory.DefaultIssuer },
        Audiences = new[] { TestTokenFactory.DefaultAudience },
    };

    /// <summary>Standard input that never ends (or is empty), counting what was read from it.</summary>
    private sealed class CountingReader(bool endless) : TextReader
    {
        public long CharactersRead { get; private set; }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            if (!endless)
            {
                return 0;
            }

            buffer.Fill('A');
            CharactersRead += buffer.Length;
            return buffer.Length;
        }

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
