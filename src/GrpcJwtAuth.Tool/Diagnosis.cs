using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Shared;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Tool;

/// <summary>
/// <c>grpcjwtauth check</c>: builds the server's GrpcJwtAuth services from its configuration exactly as a server does
/// (<c>AddGrpcJwtAuth()</c>, the options validated as at startup), reads one token from standard input, and reports
/// what those services decide (<see cref="TokenReport"/>). Callable in-process; <c>Program</c> only passes the console.
/// </summary>
internal static class Diagnosis
{
    public const int Accepted = 0;
    public const int Rejected = 1;
    public const int UsageError = 2;

    public static async Task<int> RunAsync(
        TextReader input, TextWriter output, TextWriter error, IReadOnlyList<string> args, DiagnosisSetup setup, CancellationToken cancellationToken = default)
    {
        var command = CommandLine.Parse(args, out var usageError, out var help);
        if (help)
        {
            await output.WriteLineAsync(CommandLine.Usage).ConfigureAwait(false);
            return Accepted;
        }

        if (command is null)
        {
            await error.WriteLineAsync($"grpcjwtauth: {usageError}\nRun 'grpcjwtauth --help' for usage.").ConfigureAwait(false);
            return UsageError;
        }

        var configuration = ServerConfiguration.Load(command, setup, out var configurationError);
        if (configuration is null)
        {
            await error.WriteLineAsync($"grpcjwtauth: {configurationError}").ConfigureAwait(false);
            return UsageError;
        }

        var log = new KeyFetchLog();
        var services = new ServiceCollection();
        services.AddSingleton(configuration.Configuration);
        services.AddLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(log));
        services.AddSingleton(setup.TimeProvider);

        // As the server's Program.cs does; what else its code registers (policies, events) is not known here.
        services.AddGrpcJwtAuth();
        setup.ConfigureServices?.Invoke(services);

        await using var provider = services.BuildServiceProvider();
        CompiledAuthOptions options;
        TrustedIssuers issuers;
        JwtTokenValidator validator;
        try
        {
            options = provider.GetRequiredService<CompiledAuthOptions>();
            issuers = provider.GetRequiredService<TrustedIssuers>();
            validator = provider.GetRequiredService<JwtTokenValidator>();
        }
        catch (OptionsValidationException ex)
        {
            await error.WriteLineAsync("grpcjwtauth: the GrpcJwtAuth configuration is invalid; a server with it would not start:").ConfigureAwait(false);
            foreach (var failure in ex.Failures)
            {
                await error.WriteLineAsync($"  - {SafeText.Sanitize(failure, 1000)}").ConfigureAwait(false);
            }

            return UsageError;
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key whose value it cannot convert.
            await error.WriteLineAsync($"grpcjwtauth: the GrpcJwtAuth configuration cannot be used: {SafeText.Sanitize(ex.Message, 1000)}").ConfigureAwait(false);
            return UsageError;
        }

        var writer = new ReportWriter(output);
        writer.Line("grpcjwtauth check: what a GrpcJwtAuth server with this configuration would decide, and why");
        writer.Line($"configuration: {(configuration.Sources.Count == 0 ? "(nothing found: defaults only)" : string.Join(", ", configuration.Sources))}; environment {configuration.EnvironmentName}");
        if (command.ConfigPath is null && !configuration.Sources.Any(source => source.EndsWith(".json", StringComparison.Ordinal)))
        {
            writer.Line($"note: no appsettings.json in {setup.WorkingDirectory}; pass --config <path>");
        }

        if (setup.InputIsTerminal)
        {
            await error.WriteLineAsync("grpcjwtauth: reading the token from standard input (paste it, then Ctrl+D; or pipe it in)").ConfigureAwait(false);
        }

        var (token, problem) = await TokenInput.ReadAsync(input, options.MaxTokenLength, cancellationToken).ConfigureAwait(false);
        switch (problem)
        {
            case TokenInputProblem.Empty:
                await error.WriteLineAsync("grpcjwtauth: no token on standard input; pipe one in: echo \"$TOKEN\" | grpcjwtauth check").ConfigureAwait(false);
                return UsageError;
            case TokenInputProblem.TooLarge:
                writer.Step("format", StepResult.Fail,
                    $"standard input holds more than {options.MaxTokenLength + TokenInput.Slack} characters; it was not read further");
                writer.Detail($"the server rejects tokens longer than {options.MaxTokenLength} characters (GrpcJwtAuth:MaxTokenLength) before parsing them");
                return TokenReport.Decide(writer, new CallDecision(AuthFailure.TokenTooLarge), note: null);
        }

        var report = new TokenReport(writer, provider, options, issuers, validator, log, setup.TimeProvider);
        return await report.RunAsync(token!, command.Method, cancellationToken).ConfigureAwait(false);
    }
}
