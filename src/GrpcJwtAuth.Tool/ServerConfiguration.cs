using Microsoft.Extensions.Configuration;

namespace GrpcJwtAuth.Tool;

/// <summary>
/// The server's configuration as ASP.NET Core builds it: <c>appsettings.json</c>, then
/// <c>appsettings.&lt;Environment&gt;.json</c>, then environment variables (<c>GrpcJwtAuth__Audiences__0</c>), each
/// overriding the one before.
/// </summary>
internal sealed record ServerConfiguration(IConfiguration Configuration, string EnvironmentName, IReadOnlyList<string> Sources)
{
    public const string DefaultEnvironment = "Production";
    private const string FileName = "appsettings.json";

    /// <summary>The configuration <paramref name="command"/> names; <see langword="null"/> with <paramref name="error"/> when it cannot be read.</summary>
    public static ServerConfiguration? Load(CheckCommand command, DiagnosisSetup setup, out string? error)
    {
        error = null;
        string file;
        var required = command.ConfigPath is not null;
        var path = Path.GetFullPath(command.ConfigPath ?? ".", setup.WorkingDirectory);
        if (Directory.Exists(path))
        {
            file = Path.Combine(path, FileName);
            if (required && !File.Exists(file))
            {
                error = $"--config: no {FileName} in {path}";
                return null;
            }
        }
        else if (File.Exists(path))
        {
            file = path;
        }
        else
        {
            error = $"--config: {path} is neither a file nor a directory";
            return null;
        }

        var environment = command.Environment
            ?? (setup.ReadEnvironmentVariables
                ? NonEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")) ?? NonEmpty(Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT"))
                : null)
            ?? DefaultEnvironment;

        // appsettings.json -> appsettings.Development.json, next to it.
        var environmentFile = Path.Combine(
            Path.GetDirectoryName(file)!, $"{Path.GetFileNameWithoutExtension(file)}.{environment}{Path.GetExtension(file)}");

        var sources = new List<string>();
        var builder = new ConfigurationBuilder();
        foreach (var candidate in new[] { file, environmentFile })
        {
            if (File.Exists(candidate))
            {
                builder.AddJsonFile(candidate, optional: false, reloadOnChange: false);
                sources.Add(candidate);
            }
        }

        if (setup.ReadEnvironmentVariables)
        {
            builder.AddEnvironmentVariables();
            sources.Add("environment variables");
        }

        try
        {
            return new ServerConfiguration(builder.Build(), environment, sources);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException)
        {
            // The JSON provider names the file and the line; it does not quote the values.
            error = $"the configuration cannot be read: {Shared.SafeText.Sanitize(ex.Message, 400)}";
            return null;
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
