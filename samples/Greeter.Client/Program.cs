using Greeter;
using Greeter.Client;
using Grpc.Net.Client;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Sources;

// Usage:
//   Greeter.Client demo  [--address https://127.0.0.1:5001] [--server-cert PEM | --ca-cert PEM]
//   Greeter.Client hello [--address URL] [--name NAME] [--server-cert PEM] [--ca-cert PEM]
//                        [--authority URL | --token-endpoint URL] [--client-id ID] [--client-secret SECRET]
//                        [--scope "a b"] [--resource URI] [--audience AUD]
// Trust: the system store by default; --ca-cert trusts a private CA (its certificate file alone) for the greeter and
// the identity provider; --server-cert pins the greeter's certificate only. The client secret may come from the
// GREETER_CLIENT_SECRET environment variable instead of the command line.
var arguments = Arguments.Parse(args);
var address = new Uri(arguments.Get("address") ?? "https://127.0.0.1:5001");
var caCertificate = arguments.Get("ca-cert");
var providerTrust = caCertificate is null ? ServerTrust.System : ServerTrust.PrivateCa(caCertificate);
var greeterTrust = arguments.Get("server-cert") is { } serverCertificate
    ? ServerTrust.Pinned(serverCertificate)
    : caCertificate is not null
        ? providerTrust
        : arguments.Command == "demo"
            ? ServerTrust.Pinned(Path.Combine(Path.GetTempPath(), "greeter-dev", "greeter-dev-cert.pem"))
            : ServerTrust.System;

// One handler per server: a gRPC channel's handler cannot be shared, and the identity provider is trusted on its own.
using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = greeterTrust.CreateHandler() });

switch (arguments.Command)
{
    case "demo":
        {
            // The demo's tokens come from the greeter's own development issuer.
            using var http = new HttpClient(greeterTrust.CreateHandler());
            return await new Demo(channel, new DemoTokens(http, address), Console.Out).RunAsync() == 0 ? 0 : 1;
        }

    case "hello":
        {
            // The everyday setup: client credentials from an identity provider, cached and refreshed, attached to every
            // call. Without --authority or --token-endpoint the token comes from the greeter's development issuer.
            var external = arguments.Get("authority") is not null || arguments.Get("token-endpoint") is not null;
            using var http = new HttpClient((external ? providerTrust : greeterTrust).CreateHandler());
            var options = new ClientCredentialsOptions
            {
                Authority = arguments.Get("authority"),
                TokenEndpoint = arguments.Get("authority") is null
                    ? arguments.Get("token-endpoint") ?? new Uri(address, "/connect/token").ToString()
                    : null,
                ClientId = arguments.Get("client-id") ?? "greeter-client",
                ClientSecret = arguments.Get("client-secret") ?? Environment.GetEnvironmentVariable("GREETER_CLIENT_SECRET") ?? "development-secret",
                Resource = arguments.Get("resource"),
                Audience = arguments.Get("audience"),
            };
            foreach (var scope in (arguments.Get("scope") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                options.Scopes.Add(scope);
            }

            var source = new ClientCredentialsTokenProvider(http, options);
            var invoker = channel.AddJwtCallCredentials(new CachingAccessTokenProvider(source));
            var reply = await new global::Greeter.Greeter.GreeterClient(invoker).SayHelloAsync(new HelloRequest { Name = arguments.Get("name") ?? "world" });
            Console.WriteLine($"{reply.Message} (subject {reply.Subject}, roles [{string.Join(',', reply.Roles)}])");
            return 0;
        }

    default:
        Console.Error.WriteLine(
            "usage: Greeter.Client demo|hello [--address URL] [--server-cert PEM] [--ca-cert PEM] [--name NAME] "
            + "[--authority URL | --token-endpoint URL] [--client-id ID] [--client-secret SECRET] [--scope \"a b\"] [--resource URI] [--audience AUD]");
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
