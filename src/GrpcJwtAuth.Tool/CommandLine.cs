namespace GrpcJwtAuth.Tool;

/// <summary>What <c>grpcjwtauth check</c> was asked: where the configuration is, which environment, which method.</summary>
internal sealed record CheckCommand(string? ConfigPath, string? Environment, string? Method);

/// <summary>Parses the command line: <c>check [--config &lt;path&gt;] [--environment &lt;name&gt;] [--method &lt;path&gt;]</c>, or <c>--help</c>.</summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: grpcjwtauth check [--config <path>] [--environment <name>] [--method </package.Service/Method>]

        Reads a token (optionally prefixed with "Bearer ") from standard input and prints, step by step, what a
        GrpcJwtAuth server with this configuration would decide and why. Never prints the signature or the whole token.

        Options:
          --config <path>        appsettings.json, or the directory holding it. Defaults to the current directory.
          --environment <name>   also reads appsettings.<name>.json, as ASP.NET Core does. Defaults to
                                 ASPNETCORE_ENVIRONMENT, then DOTNET_ENVIRONMENT, then Production.
          --method <path>        a gRPC method (/package.Service/Method): also checks the configuration's Rules for it.
          -h, --help             shows this text.

        Environment variables override the files, as on the server (GrpcJwtAuth__Audiences__0=api://orders).
        Keys are fetched from the configured discovery or JWKS addresses, as the server fetches them.
        [Authorize] attributes, RequireAuthorization(), policies and events live in the application's code: the tool
        does not see them.

        Exit codes: 0 accepted, 1 rejected, 2 usage or configuration error.

        Example:
          echo "$TOKEN" | grpcjwtauth check --config ./src/Server --method /greet.Greeter/SayHello
        """;

    /// <summary>The command, or <see langword="null"/> with <paramref name="error"/> set (or neither, for <c>--help</c>).</summary>
    public static CheckCommand? Parse(IReadOnlyList<string> args, out string? error, out bool help)
    {
        error = null;
        help = args.Any(arg => arg is "-h" or "--help" or "-?" or "help");
        if (help)
        {
            return null;
        }

        if (args.Count == 0 || args[0] != "check")
        {
            error = args.Count == 0 ? "no command given; the command is 'check'" : $"unknown command '{Printable(args[0])}'; the command is 'check'";
            return null;
        }

        string? config = null;
        string? environment = null;
        string? method = null;
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            if (name is not ("--config" or "--environment" or "--method"))
            {
                error = $"unknown option '{Printable(name)}'";
                return null;
            }

            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                error = $"{name} needs a value";
                return null;
            }

            var value = args[++i];
            switch (name)
            {
                case "--config":
                    config = value;
                    break;
                case "--environment":
                    environment = value;
                    break;
                default:
                    if (!value.StartsWith('/') || value.Length < 2)
                    {
                        error = $"--method takes a gRPC method path such as /package.Service/Method, not '{Printable(value)}'";
                        return null;
                    }

                    method = value;
                    break;
            }
        }

        return new CheckCommand(config, environment, method);
    }

    private static string Printable(string value) => Shared.SafeText.Sanitize(value, 64)!;
}
