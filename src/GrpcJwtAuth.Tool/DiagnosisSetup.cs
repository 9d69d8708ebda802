using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Tool;

/// <summary>What the process around a diagnosis provides: its directory, its environment, and (in tests) services.</summary>
internal sealed class DiagnosisSetup
{
    /// <summary>Where a relative <c>--config</c> path and the default <c>appsettings.json</c> are looked up. Defaults to the current directory.</summary>
    public string WorkingDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>
    /// Whether the process's environment variables are read, as ASP.NET Core reads them (they override the files, and
    /// <c>ASPNETCORE_ENVIRONMENT</c>/<c>DOTNET_ENVIRONMENT</c> name the environment). Defaults to <see langword="true"/>.
    /// </summary>
    public bool ReadEnvironmentVariables { get; init; } = true;

    /// <summary>Whether standard input is a terminal (nothing piped): the tool then says it is waiting for a token.</summary>
    public bool InputIsTerminal { get; init; }

    /// <summary>Registrations after the server's own, as an application's code adds them (tests pin the backchannel's certificate).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>The clock the times are read against. Defaults to the system clock, which is the server's.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
