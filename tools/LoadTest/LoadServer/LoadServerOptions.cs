namespace GrpcJwtAuth.LoadServer;

/// <summary>A public key the server accepts tokens from: its algorithm family, <c>kid</c> and PEM file.</summary>
internal sealed record SigningKeyFile(string Kind, string KeyId, string Path);

/// <summary>
/// The load server's command line:
/// <c>--mode M --cert-out PATH --ready-file PATH --key rsa|ec:KID:PATH... --issuer I --audience A
/// [--port P] [--parent-pid PID] [--max-lifetime SECONDS]</c>.
/// </summary>
internal sealed class LoadServerOptions
{
    public required AuthMode Mode { get; init; }

    public required string CertificateOutPath { get; init; }

    public required string ReadyFilePath { get; init; }

    public required IReadOnlyList<SigningKeyFile> Keys { get; init; }

    public required string Issuer { get; init; }

    public required string Audience { get; init; }

    public int Port { get; init; }

    public int? ParentProcessId { get; init; }

    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromHours(2);

    public static LoadServerOptions Parse(string[] args)
    {
        AuthMode? mode = null;
        string? certificateOut = null, readyFile = null, issuer = null, audience = null;
        var keys = new List<SigningKeyFile>();
        var port = 0;
        int? parent = null;
        var maxLifetime = TimeSpan.FromHours(2);

        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--mode":
                    mode = AuthModeNames.Parse(value);
                    break;
                case "--cert-out":
                    certificateOut = value;
                    break;
                case "--ready-file":
                    readyFile = value;
                    break;
                case "--key":
                    var parts = value.Split(':', 3);
                    if (parts.Length != 3 || parts[0] is not ("rsa" or "ec"))
                    {
                        throw new ArgumentException($"--key '{value}' must be rsa:KID:PATH or ec:KID:PATH.");
                    }

                    keys.Add(new SigningKeyFile(parts[0], parts[1], parts[2]));
                    break;
                case "--issuer":
                    issuer = value;
                    break;
                case "--audience":
                    audience = value;
                    break;
                case "--port":
                    port = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "--parent-pid":
                    parent = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "--max-lifetime":
                    maxLifetime = TimeSpan.FromSeconds(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{name}'.");
            }
        }

        return new LoadServerOptions
        {
            Mode = mode ?? throw new ArgumentException("--mode is required."),
            CertificateOutPath = certificateOut ?? throw new ArgumentException("--cert-out is required."),
            ReadyFilePath = readyFile ?? throw new ArgumentException("--ready-file is required."),
            Keys = keys.Count > 0 ? keys : throw new ArgumentException("At least one --key is required."),
            Issuer = issuer ?? throw new ArgumentException("--issuer is required."),
            Audience = audience ?? throw new ArgumentException("--audience is required."),
            Port = port,
            ParentProcessId = parent,
            MaxLifetime = maxLifetime,
        };
    }
}
