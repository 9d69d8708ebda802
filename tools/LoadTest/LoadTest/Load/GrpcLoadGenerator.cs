using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Greeter;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.LoadTest.Processes;
using GrpcJwtAuth.LoadTest.Servers;
using GrpcJwtAuth.LoadTest.Tokens;

namespace GrpcJwtAuth.LoadTest.Load;

/// <summary>
/// The tool's own load generator, for what h2load cannot do (a different token on every call, a mix of valid and
/// invalid tokens with every decision checked). It runs as a child process, <c>LoadTest generate …</c>, pinned to the
/// load core: N connections (one GrpcChannel and HTTP/2 connection each) × M concurrent unary calls per connection,
/// tokens taken in file order from a pre-minted list.
/// <para>
/// Protocol on stdio: after the warm-up it prints <c>warmed {json}</c> and waits for a <c>go</c> line (the load tool
/// reads the server's counters meanwhile); after the measured phase it prints <c>result {json}</c> and exits.
/// The measured phase ends after <c>--duration</c> seconds or <c>--calls</c> calls; <c>--timeout</c> bounds everything.
/// </para>
/// </summary>
internal sealed class GrpcLoadGenerator
{
    public const string Command = "generate";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly HelloRequest Request = new() { Name = "load" };

    private readonly TokenEntry[] _tokens;
    private readonly int _distinctTokens;
    private readonly bool _serverAuthenticates;
    private readonly bool _reuseTokens;
    private long _nextToken;
    private long _issued;
    private int _exhausted;

    private GrpcLoadGenerator(TokenEntry[] tokens, bool serverAuthenticates, bool reuseTokens)
    {
        _tokens = tokens;
        _distinctTokens = new HashSet<object>(tokens, ReferenceEqualityComparer.Instance).Count;
        _serverAuthenticates = serverAuthenticates;
        _reuseTokens = reuseTokens;
    }

    /// <summary>The arguments for the child process.</summary>
    public static List<string> Arguments(
        Uri address, string certificate, string tokens, int connections, int streams, TimeSpan warmup,
        TimeSpan? duration, long? calls, bool serverAuthenticates, bool reuseTokens, TimeSpan timeout)
    {
        var arguments = new List<string>
        {
            Command,
            "--address", address.ToString(),
            "--cert", certificate,
            "--tokens", tokens,
            "--connections", connections.ToString(CultureInfo.InvariantCulture),
            "--streams", streams.ToString(CultureInfo.InvariantCulture),
            "--warmup", warmup.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            "--timeout", timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            "--authenticates", serverAuthenticates ? "true" : "false",
            "--reuse-tokens", reuseTokens ? "true" : "false",
        };
        if (duration is { } d)
        {
            arguments.Add("--duration");
            arguments.Add(d.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        }

        if (calls is { } c)
        {
            arguments.Add("--calls");
            arguments.Add(c.ToString(CultureInfo.InvariantCulture));
        }

        return arguments;
    }

    /// <summary>Entry point of the child process.</summary>
    public static async Task<int> MainAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            options[args[i]] = args[i + 1];
        }

        double Seconds(string name) => double.Parse(options[name], CultureInfo.InvariantCulture);
        int Int(string name) => int.Parse(options[name], CultureInfo.InvariantCulture);

        var address = new Uri(options["--address"]);
        var connections = Int("--connections");
        var streams = Int("--streams");
        var warmup = TimeSpan.FromSeconds(Seconds("--warmup"));
        TimeSpan? duration = options.ContainsKey("--duration") ? TimeSpan.FromSeconds(Seconds("--duration")) : null;
        long? calls = options.TryGetValue("--calls", out var callsText) ? long.Parse(callsText, CultureInfo.InvariantCulture) : null;
        if (duration is null && calls is null)
        {
            await Console.Error.WriteLineAsync("generate: --duration or --calls is required.");
            return 2;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(Seconds("--timeout")));
        var generator = new GrpcLoadGenerator(
            TokenFile.Read(options["--tokens"]),
            options["--authenticates"] == "true",
            options["--reuse-tokens"] == "true");

        var channels = new GrpcChannel[connections];
        var clients = new Greeter.Greeter.GreeterClient[connections];
        for (var i = 0; i < connections; i++)
        {
            channels[i] = GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                HttpHandler = PinnedTls.CreateHandler(options["--cert"]),
                DisposeHttpClient = true,
            });
            clients[i] = new Greeter.Greeter.GreeterClient(channels[i]);
        }

        try
        {
            var warm = await generator.RunPhaseAsync(clients, streams, warmup, callLimit: null, timeout.Token);
            await Console.Out.WriteLineAsync("warmed " + JsonSerializer.Serialize(warm, Json));
            await Console.Out.FlushAsync();

            var go = await Console.In.ReadLineAsync(timeout.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(120), timeout.Token);
            if (go != "go")
            {
                return 3;
            }

            var measured = await generator.RunPhaseAsync(clients, streams, duration, calls, timeout.Token);
            await Console.Out.WriteLineAsync("result " + JsonSerializer.Serialize(measured, Json));
            await Console.Out.FlushAsync();
            return 0;
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    private async Task<GeneratorReport> RunPhaseAsync(
        Greeter.Greeter.GreeterClient[] clients, int streams, TimeSpan? duration, long? callLimit, CancellationToken timeout)
    {
        if (duration == TimeSpan.Zero)
        {
            return Report([], 0, 0);
        }

        Volatile.Write(ref _issued, 0);
        var cpuBefore = ProcFs.CpuTicks(Environment.ProcessId);
        var started = Stopwatch.GetTimestamp();
        var end = duration is { } d ? started + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;

        var workers = new Task<Counters>[clients.Length * streams];
        for (var i = 0; i < workers.Length; i++)
        {
            var client = clients[i % clients.Length];
            workers[i] = Task.Run(() => WorkerAsync(client, end, callLimit ?? long.MaxValue, timeout), CancellationToken.None);
        }

        var counters = await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = ProcFs.TicksToSeconds(ProcFs.CpuTicks(Environment.ProcessId) - cpuBefore);
        return Report(counters, elapsed, cpu);
    }

    private async Task<Counters> WorkerAsync(Greeter.Greeter.GreeterClient client, long end, long callLimit, CancellationToken timeout)
    {
        var counters = new Counters();
        while (!timeout.IsCancellationRequested && Stopwatch.GetTimestamp() < end && Interlocked.Increment(ref _issued) <= callLimit)
        {
            var index = Interlocked.Increment(ref _nextToken) - 1;
            if (index >= _tokens.Length)
            {
                if (!_reuseTokens)
                {
                    Volatile.Write(ref _exhausted, 1);
                    break;
                }

                index %= _tokens.Length;
            }

            var token = _tokens[index];
            try
            {
                var reply = await client.SayHelloAsync(
                    Request, new Metadata { { "authorization", token.Authorization } }, cancellationToken: timeout);
                counters.Calls++;
                if (_serverAuthenticates && !token.ExpectOk)
                {
                    counters.InvalidAccepted++;
                }
                else if (reply.Subject == (_serverAuthenticates ? token.Subject : string.Empty))
                {
                    // Mode none answers every call, for nobody.
                    counters.Ok++;
                }
                else
                {
                    counters.WrongSubject++;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated && _serverAuthenticates)
            {
                counters.Calls++;
                if (token.ExpectOk)
                {
                    counters.ValidRejected++;
                }
                else
                {
                    counters.RejectedAsExpected++;
                }
            }
            catch (RpcException ex)
            {
                counters.Calls++;
                counters.Count(ex.StatusCode.ToString());
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
            {
                counters.Calls++;
                counters.Count(ex.GetType().Name);
            }
        }

        return counters;
    }

    private GeneratorReport Report(Counters[] counters, double elapsed, double cpu)
    {
        var unexpected = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var counter in counters)
        {
            foreach (var (name, count) in counter.Unexpected ?? [])
            {
                unexpected[name] = unexpected.GetValueOrDefault(name) + count;
            }
        }

        using var process = Process.GetCurrentProcess();
        return new GeneratorReport(
            counters.Sum(c => c.Calls),
            counters.Sum(c => c.Ok),
            counters.Sum(c => c.RejectedAsExpected),
            counters.Sum(c => c.ValidRejected),
            counters.Sum(c => c.InvalidAccepted),
            counters.Sum(c => c.WrongSubject),
            unexpected,
            elapsed,
            cpu,
            Volatile.Read(ref _exhausted) == 1,
            _distinctTokens,
            process.WorkingSet64);
    }

    private sealed class Counters
    {
        public long Calls;
        public long Ok;
        public long RejectedAsExpected;
        public long ValidRejected;
        public long InvalidAccepted;
        public long WrongSubject;
        public Dictionary<string, long>? Unexpected;

        public void Count(string name)
        {
            Unexpected ??= new Dictionary<string, long>(StringComparer.Ordinal);
            Unexpected[name] = Unexpected.GetValueOrDefault(name) + 1;
        }
    }
}
