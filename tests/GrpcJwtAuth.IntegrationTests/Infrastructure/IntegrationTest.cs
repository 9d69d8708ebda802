using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// Starts the servers a test needs; <see cref="OwningTest"/> disposes them after the test, newest first. Disposal
/// checks the captured logs, so an unexpected Error log is reported next to a failing assertion instead of hiding it.
/// </summary>
public abstract class IntegrationTest : OwningTest
{
    protected async Task<GrpcTestServer> StartServerAsync(
        Action<GrpcJwtAuthOptions> configure,
        KeyServer? keyServer = null,
        TimeProvider? timeProvider = null,
        IEnumerable<string>? expectedErrors = null,
        bool plaintext = false,
        Action<GrpcServiceEndpointConventionBuilder>? probeConventions = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null) =>
        Own(await GrpcTestServer.StartAsync(configure, keyServer, timeProvider, expectedErrors, plaintext, probeConventions, configureBuilder, configureApp));

    protected async Task<KeyServer> StartKeyServerAsync(params TestSigningKey[] keys) => Own(await KeyServer.StartAsync(keys));

    protected async Task<TokenServer> StartTokenServerAsync(Func<TokenRequest, string> mint, TokenServerOptions? options = null) =>
        Own(await TokenServer.StartAsync(mint, options));
}
