using Greeter;
using Greeter.Client;
using Grpc.Net.Client;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Sources;

// Usage:
//   Greeter.Client demo  [--address https://127.0.0.1:5001] [--server-cert PATH | --ca-cert PATH]
//   Greeter.Client hello [--name NAME] [--token-endpoint URL --client-id ID --client-secret SECRET] [...]
var arguments = Arguments.Parse(args);
var address = new Uri(arguments.Get("address") ?? "https://127.0.0.1:5001");
var rootCertificate = arguments.Get("ca-cert");
var pinnedCertificate = rootCertificate is null
    ? arguments.Get("server-cert") ?? Path.Combine(Path.GetTempPath(), "greeter-dev", "greeter-dev-cert.pem")
    : null;

// One handler for gRPC and one for the token endpoint: a gRPC channel's handler cannot be shared.
using var http = new HttpClient(ServerTrust.CreateHandler(pinnedCertificate, rootCertificate));
using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = ServerTrust.CreateHandler(pinnedCertificate, rootCertificate) });

switch (arguments.Command)
{
    case "demo":
        return await new Demo(channel, new DemoTokens(http, address), Console.Out).RunAsync() == 0 ? 0 : 1;

    case "hello":
        {
            // The everyday setup: client credentials from an identity provider, cached and refreshed, attached to every call.
            var source = new ClientCredentialsTokenProvider(http, new ClientCredentialsOptions
            {
                TokenEndpoint = arguments.Get("token-endpoint") ?? new Uri(address, "/connect/token").ToString(),
                ClientId = arguments.Get("client-id") ?? "greeter-client",
                ClientSecret = arguments.Get("client-secret") ?? "development-secret",
            });
            var invoker = channel.AddJwtCallCredentials(new CachingAccessTokenProvider(source));
            var reply = await new global::Greeter.Greeter.GreeterClient(invoker).SayHelloAsync(new HelloRequest { Name = arguments.Get("name") ?? "world" });
            Console.WriteLine($"{reply.Message} (subject {reply.Subject}, roles [{string.Join(',', reply.Roles)}])");
            return 0;
        }

    default:
        Console.Error.WriteLine("usage: Greeter.Client demo|hello [--address URL] [--server-cert PEM | --ca-cert PEM] [--name NAME]");
        return 2;
}

/// <summary>"command --key value" arguments.</summary>
internal sealed record Arguments(string Command, Dictionary<string, string> Values)
{
    public string? Get(string key) => Values.TryGetValue(key, out var value) ? value : null;

    public static Arguments Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        return new Arguments(args.Length > 0 ? args[0] : string.Empty, values);
    }
}
