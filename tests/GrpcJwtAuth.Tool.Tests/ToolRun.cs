using System.Text.Json;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.Tool.Tests;

/// <summary>One run of the tool: its exit code and what it wrote.</summary>
public sealed record ToolResult(int ExitCode, string Output, string Error);

/// <summary>A directory holding an <c>appsettings.json</c> for one test, deleted after it.</summary>
public sealed class ConfigDirectory : IAsyncDisposable
{
    private ConfigDirectory(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Writes <c>{"GrpcJwtAuth": <paramref name="section"/>}</c> as <c>appsettings.json</c>.</summary>
    public static ConfigDirectory Create(object section)
    {
        var directory = Directory.CreateTempSubdirectory("grpcjwtauth-tool-");
        File.WriteAllText(
            System.IO.Path.Combine(directory.FullName, "appsettings.json"),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["GrpcJwtAuth"] = section }));
        return new ConfigDirectory(directory.FullName);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Path, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Runs <see cref="Diagnosis"/> in-process, its backchannel trusting the key server's certificate only.</summary>
public static class ToolRun
{
    public static Task<ToolResult> RunAsync(string token, ConfigDirectory config, KeyServer? keys, params string[] extraArgs) =>
        RunAsync(new StringReader(token), config, keys, extraArgs);

    public static async Task<ToolResult> RunAsync(TextReader input, ConfigDirectory config, KeyServer? keys, params string[] extraArgs)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var setup = new DiagnosisSetup
        {
            WorkingDirectory = config.Path,
            ReadEnvironmentVariables = false,
            ConfigureServices = services =>
            {
                if (keys is not null)
                {
                    services.AddHttpClient(GrpcJwtAuthDefaults.BackchannelHttpClientName)
                        .ConfigurePrimaryHttpMessageHandler(keys.Certificate.CreatePinnedHandler);
                }
            },
        };

        var code = await Diagnosis.RunAsync(input, output, error, ["check", "--config", config.Path, .. extraArgs], setup).DefaultTimeout();
        return new ToolResult(code, output.ToString(), error.ToString());
    }
}
