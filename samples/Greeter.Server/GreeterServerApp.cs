using Greeter.Server.Development;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Greeter.Server;

/// <summary>
/// Builds the greeter server: TLS always (a development certificate when none is configured), GrpcJwtAuth bound from
/// the "GrpcJwtAuth" section, the development issuer when no external one is configured, two authorization policies,
/// and gRPC health checks.
/// </summary>
public static class GreeterServerApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        // TLS always: default to a loopback HTTPS address and refuse plaintext ones.
        var urls = builder.Configuration["urls"];
        if (string.IsNullOrWhiteSpace(urls) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            urls = "https://127.0.0.1:5001";
            builder.WebHost.UseUrls(urls);
        }

        if (urls?.Split(';', StringSplitOptions.RemoveEmptyEntries).Any(url => !url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) == true)
        {
            throw new InvalidOperationException($"The greeter serves over TLS only; '{urls}' contains a non-https address.");
        }

        // A development certificate only when none is configured (Kestrel:Certificates:Default:Path and KeyPath).
        var developmentCertificate = string.IsNullOrWhiteSpace(builder.Configuration["Kestrel:Certificates:Default:Path"])
            ? DevelopmentCertificate.CreateAndExport(builder.Configuration["DevelopmentCertificate:ExportPath"] ?? DevelopmentCertificate.DefaultExportPath)
            : null;

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http1AndHttp2);
            if (developmentCertificate is not null)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = developmentCertificate);
            }
        });

        var developmentIssuer = DevelopmentIssuer.CreateIfNoIssuerConfigured(builder.Configuration);

        builder.Services.AddGrpc();
        // At least one check: with none, grpc.health.v1.Health/Check answers UNKNOWN instead of SERVING. The signing
        // keys' check makes it NOT_SERVING while no key is held (SERVING, degraded, on last known good keys).
        builder.Services.AddGrpcHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy())
            .AddGrpcJwtAuthKeys();
        _ = developmentIssuer is null
            ? builder.Services.AddGrpcJwtAuth()
            : builder.Services.AddGrpcJwtAuth(developmentIssuer.Configure);

        // ASP.NET Core authorization, evaluated by GrpcJwtAuth on every call: a policy for the whole service, and a
        // resource-based one that reads the request message (StreamLimit.cs).
        builder.Services.AddAuthorization(options =>
        {
            options.AddPolicy("person", policy => policy.RequireClaim("sub"));
            options.AddPolicy(StreamLimitRequirement.PolicyName, policy => policy.AddRequirements(new StreamLimitRequirement()));
        });
        builder.Services.AddSingleton<IAuthorizationHandler, StreamLimitHandler>();

        var app = builder.Build();

        if (developmentCertificate is not null)
        {
            app.Logger.LogWarning(
                "Serving with a self-signed development certificate (thumbprint {Thumbprint}); clients can pin it from {Path}. " +
                "Set Kestrel__Certificates__Default__Path and __KeyPath to use a real one.",
                developmentCertificate.Thumbprint,
                Path.GetFullPath(builder.Configuration["DevelopmentCertificate:ExportPath"] ?? DevelopmentCertificate.DefaultExportPath));
        }

        if (developmentIssuer is not null)
        {
            developmentIssuer.MapEndpoints(app);
            app.Logger.LogWarning(
                "DEVELOPMENT ISSUER ENABLED: this server mints its own tokens (issuer '{Issuer}', key {KeyId}) at /connect/token for " +
                "loopback callers. Never run it like this in production: set GrpcJwtAuth:Authority (or MetadataAddress, JwksUri) " +
                "to use a real identity provider, which turns the development issuer off.",
                developmentIssuer.Issuer,
                developmentIssuer.KeyId);
        }

        app.MapGrpcService<GreeterService>().RequireAuthorization("person");

        // Streams outlive their token when the client sends a fresh one (AddJwtCallCredentials does it by itself).
        app.MapGrpcJwtAuthStreamRenewal();
        app.MapGrpcHealthChecksService();

        return app;
    }
}
