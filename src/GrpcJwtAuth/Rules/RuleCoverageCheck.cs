using Grpc.AspNetCore.Server;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Rules;

/// <summary>
/// Once the application has started (its endpoints are mapped), resolves what every mapped gRPC method requires, so a
/// policy name the application does not define is logged (event 108) before any call, and warns about every rule that
/// covers no gRPC method it maps: rules match declared names case-sensitively, so <c>/greet.greeter/</c> protects
/// nothing when the service is <c>greet.Greeter</c>, and the method it was meant for is left to the default policy.
/// The warning names the method a case-insensitive match would have found.
/// </summary>
internal sealed class RuleCoverageCheck(
    CompiledAuthOptions options, EndpointAuthorizationProvider authorizations, IServiceProvider services, ILogger<RuleCoverageCheck> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Every host has a lifetime; a bare service provider (in tests) may not.
        if (services.GetService(typeof(IHostApplicationLifetime)) is IHostApplicationLifetime lifetime)
        {
            lifetime.ApplicationStarted.Register(static state => ((RuleCoverageCheck)state!).Check(), this);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Resolves <paramref name="endpoint"/>'s requirements; a policy provider that must wait finishes in the background.</summary>
    private void Prepare(Endpoint endpoint)
    {
        var pending = authorizations.PrepareAsync(services, endpoint);
        if (!pending.IsCompletedSuccessfully)
        {
            _ = pending.AsTask().ContinueWith(
                static (task, state) => Log.EndpointPreparationFailed((ILogger)state!, task.Exception!.GetBaseException()),
                logger,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    internal void Check()
    {
        if (services.GetService(typeof(EndpointDataSource)) is not EndpointDataSource endpoints)
        {
            return;
        }

        var methods = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in endpoints.Endpoints)
        {
            if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpcMethod)
            {
                methods.Add(grpcMethod.Method.FullName);
                Prepare(endpoint);
            }
        }

        if (methods.Count == 0 || options.Rules.Count == 0)
        {
            return;
        }

        foreach (var rule in options.Rules.Rules)
        {
            if (methods.Any(method => RuleTable.Matches(rule.Prefix, method)))
            {
                continue;
            }

            var nearest = methods
                .Where(method => RuleTable.Matches(rule.Prefix.ToUpperInvariant(), method.ToUpperInvariant()))
                .Order(StringComparer.Ordinal)
                .FirstOrDefault();
            if (nearest is null)
            {
                Log.RuleMatchesNoMethod(logger, rule.Prefix);
            }
            else
            {
                Log.RuleMatchesNoMethodButCaseDiffers(logger, rule.Prefix, nearest);
            }
        }
    }
}
