using Greeter.Server;

await GreeterServerApp.Create(args).RunAsync();
