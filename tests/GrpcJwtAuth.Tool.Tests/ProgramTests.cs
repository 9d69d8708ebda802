using System.Diagnostics;
using System.Text.Json;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.Tool.Tests;

/// <summary>The built tool as a process: <c>dotnet GrpcJwtAuth.Tool.dll check</c> with the token piped to it.</summary>
public sealed class ProgramTests : OwningTest
{
    [Fact]
    public async Task Tool_process_reads_piped_token_and_environment_variables()
    {
        // The audience comes from an environment variable only, as it would on a server.
        var section = new
        {
            StaticKeys = new[] { new { KeyId = TestKeys.Primary.KeyId, Pem = TestKeys.Primary.PublicPem } },
            Issuers = new[] { TestTokenFactory.DefaultIssuer },
        };
        var config = Own(ConfigDirectory.Create(section));
        var token = new TestTokenFactory(TimeProvider.System).Create(TestKeys.Primary);

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "GrpcJwtAuth.Tool.dll"));
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(config.Path);
        start.Environment["GrpcJwtAuth__Audiences__0"] = TestTokenFactory.DefaultAudience;
        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        start.Environment.Remove("DOTNET_ENVIRONMENT");

        using var process = Process.Start(start)!;
        await process.StandardInput.WriteLineAsync($"Bearer {token}");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\n{await output}\n{await error}");
        Assert.Contains("environment variables; environment Production", await output);
        Assert.Contains("6. audience: ok", await output);
        Assert.Contains("decision: accepted", await output);
        Assert.DoesNotContain(token.Split('.')[2], await output);
    }
}
