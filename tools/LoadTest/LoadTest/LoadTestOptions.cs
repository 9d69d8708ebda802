using System.Globalization;

namespace GrpcJwtAuth.LoadTest;

/// <summary>The load tool's command line. <see cref="Usage"/> lists every option.</summary>
internal sealed class LoadTestOptions
{
    public const string Usage = """
        Usage: dotnet run -c Release --project tools/LoadTest/LoadTest -- [options]

        Side-by-side load test of the greeter in modes none, grpcjwtauth, grpcjwtauth-nocache and jwtbearer.

          --rounds N              interleaved rounds; the table shows min/median/max over them (default 5)
          --duration S            measured seconds per run (default 10)
          --warmup S              load right before each measured window, on an already warmed-up server (default 3)
          --jit-warmup-min S      each server is first warmed up until its JIT is quiet: at least this long (default 30)
          --jit-warmup-max S      ... and at most this long; a server still compiling then is flagged (default 240)
          --modes LIST            comma-separated subset of none,grpcjwtauth,grpcjwtauth-nocache,jwtbearer (default all)
          --workloads LIST        comma-separated subset of repeated,repeated-es256,unique (default all three);
                                  repeated-grpc (the repeated token through the tool's own generator) is optional
          --connections N         connections per run (default 16)
          --streams N             concurrent streams per connection (default 16)
          --unique-tokens N       pre-minted RS256 tokens the unique workload cycles through (default 200000)
          --server-core N         core the server is pinned to (default 0)
          --load-core N           core the load generator is pinned to (default 1)
          --out DIR               output directory (default artifacts/loadtest under the repository root)
          --no-install            never apt-get install h2load; fail when it is missing

          --soak                  instead of the table: the soak test against grpcjwtauth
          --soak-calls N          calls in the soak (default 100000)
          --soak-connections N    connections in the soak (default 16)
          --soak-streams N        concurrent streams per connection in the soak (default 8; concurrency 128)
          --soak-timeout S        upper bound on the soak's duration (default 600)
        """;

    public static readonly string[] AllModes = ["none", "grpcjwtauth", "grpcjwtauth-nocache", "jwtbearer"];

    public static readonly string[] DefaultWorkloads = ["repeated", "repeated-es256", "unique"];

    public static readonly string[] AllWorkloads = ["repeated", "repeated-es256", "unique", "repeated-grpc"];

    public int Rounds { get; private set; } = 5;

    public double DurationSeconds { get; private set; } = 10;

    public double WarmupSeconds { get; private set; } = 3;

    public double JitWarmupMinSeconds { get; private set; } = 30;

    public double JitWarmupMaxSeconds { get; private set; } = 240;

    public IReadOnlyList<string> Modes { get; private set; } = AllModes;

    public IReadOnlyList<string> Workloads { get; private set; } = DefaultWorkloads;

    public int Connections { get; private set; } = 16;

    public int Streams { get; private set; } = 16;

    public int UniqueTokens { get; private set; }

    public int ServerCore { get; private set; }

    public int LoadCore { get; private set; } = 1;

    public string? OutputDirectory { get; private set; }

    public bool NoInstall { get; private set; }

    public bool Soak { get; private set; }

    public int SoakCalls { get; private set; } = 100_000;

    public int SoakConnections { get; private set; } = 16;

    public int SoakStreams { get; private set; } = 8;

    public double SoakTimeoutSeconds { get; private set; } = 600;

    public bool Help { get; private set; }

    /// <summary>
    /// How many different tokens the unique workload cycles through. The default is far more than GrpcJwtAuth's cache
    /// admits (it caches a token on its second validation, remembering first sightings in a table of 16,384 hashes), so
    /// a token comes round again only after its first sighting has been forgotten; the table reports the hits anyway.
    /// </summary>
    public int EffectiveUniqueTokens => UniqueTokens > 0 ? UniqueTokens : 200_000;

    public static LoadTestOptions Parse(string[] args)
    {
        var options = new LoadTestOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            switch (name)
            {
                case "--help" or "-h":
                    options.Help = true;
                    continue;
                case "--soak":
                    options.Soak = true;
                    continue;
                case "--no-install":
                    options.NoInstall = true;
                    continue;
            }

            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--rounds":
                    options.Rounds = Positive(name, Int(name, value));
                    break;
                case "--duration":
                    options.DurationSeconds = Bounded(name, Double(name, value), 1, 3600);
                    break;
                case "--warmup":
                    options.WarmupSeconds = Bounded(name, Double(name, value), 0, 600);
                    break;
                case "--jit-warmup-min":
                    options.JitWarmupMinSeconds = Bounded(name, Double(name, value), 0, 3600);
                    break;
                case "--jit-warmup-max":
                    options.JitWarmupMaxSeconds = Bounded(name, Double(name, value), 5, 3600);
                    break;
                case "--modes":
                    options.Modes = List(name, value, AllModes);
                    break;
                case "--workloads":
                    options.Workloads = List(name, value, AllWorkloads);
                    break;
                case "--connections":
                    options.Connections = Positive(name, Int(name, value));
                    break;
                case "--streams":
                    options.Streams = Positive(name, Int(name, value));
                    break;
                case "--unique-tokens":
                    options.UniqueTokens = Positive(name, Int(name, value));
                    break;
                case "--server-core":
                    options.ServerCore = Int(name, value);
                    break;
                case "--load-core":
                    options.LoadCore = Int(name, value);
                    break;
                case "--out":
                    options.OutputDirectory = value;
                    break;
                case "--soak-calls":
                    options.SoakCalls = Positive(name, Int(name, value));
                    break;
                case "--soak-connections":
                    options.SoakConnections = Positive(name, Int(name, value));
                    break;
                case "--soak-streams":
                    options.SoakStreams = Positive(name, Int(name, value));
                    break;
                case "--soak-timeout":
                    options.SoakTimeoutSeconds = Bounded(name, Double(name, value), 10, 24 * 3600);
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{name}'. See --help.");
            }
        }

        if (options.JitWarmupMinSeconds > options.JitWarmupMaxSeconds)
        {
            throw new ArgumentException("--jit-warmup-min must not exceed --jit-warmup-max.");
        }

        if (options.ServerCore == options.LoadCore)
        {
            throw new ArgumentException("--server-core and --load-core must differ: the server and the load generator get a core each.");
        }

        return options;
    }

    private static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new ArgumentException($"{name} '{value}' is not a whole number.");

    private static double Double(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new ArgumentException($"{name} '{value}' is not a number.");

    private static int Positive(string name, int value) =>
        value > 0 ? value : throw new ArgumentException($"{name} must be at least 1.");

    private static double Bounded(string name, double value, double min, double max) =>
        value >= min && value <= max ? value : throw new ArgumentException($"{name} must be between {min} and {max}.");

    private static string[] List(string name, string value, string[] allowed)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var item in items)
        {
            if (Array.IndexOf(allowed, item) < 0)
            {
                throw new ArgumentException($"{name}: unknown value '{item}'; expected some of {string.Join(", ", allowed)}.");
            }
        }

        // Canonical order, whatever order they were given in: modes run interleaved in this order.
        var selected = allowed.Where(item => Array.IndexOf(items, item) >= 0).ToArray();
        return selected.Length > 0 ? selected : throw new ArgumentException($"{name} is empty.");
    }
}
