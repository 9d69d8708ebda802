using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.LoadServer;

/// <summary>
/// Builds the load server: the greeter over TLS (HTTP/2) on 127.0.0.1, authenticated as <see cref="AuthMode"/> says,
/// with the same keys, issuer, audience and clock skew in every authenticating mode, plus <c>GET /stats</c>.
/// </summary>
internal static class LoadServerApp
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static WebApplication Create(LoadServerOptions options)
    {
        // No command-line configuration: the options above are not configuration keys.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        var certificate = Greeter.Server.Development.DevelopmentCertificate.CreateAndExport(options.CertificateOutPath);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            });
        });

        builder.Services.AddGrpc();
        switch (options.Mode)
        {
            case AuthMode.None:
                break;
            case AuthMode.GrpcJwtAuth:
            case AuthMode.GrpcJwtAuthNoCache:
                builder.Services.AddSingleton<CacheLookupCounter>();
                builder.Services.AddGrpcJwtAuth(auth =>
                {
                    foreach (var key in options.Keys)
                    {
                        auth.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = key.KeyId, PemFile = key.Path });
                    }

                    auth.Issuers.Add(options.Issuer);
                    auth.Audiences.Add(options.Audience);
                    auth.ClockSkew = ClockSkew;
                    if (options.Mode == AuthMode.GrpcJwtAuthNoCache)
                    {
                        auth.TokenCacheSize = 0;
                    }
                });
                break;
            case AuthMode.JwtBearer:
                builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(bearer =>
                {
                    // Claims as sent ("sub" stays "sub"), as GrpcJwtAuth keeps them.
                    bearer.MapInboundClaims = false;
                    bearer.TokenValidationParameters = new TokenValidationParameters
                    {
                        ValidIssuer = options.Issuer,
                        ValidAudience = options.Audience,
                        IssuerSigningKeys = options.Keys.Select(LoadKey).ToArray(),
                        ClockSkew = ClockSkew,
                    };
                });
                builder.Services.AddAuthorization();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "Unknown mode.");
        }

        var app = builder.Build();

        if (options.Mode == AuthMode.JwtBearer)
        {
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapGrpcService<LoadGreeterService>().RequireAuthorization();
        }
        else
        {
            app.MapGrpcService<LoadGreeterService>();
        }

        // Owned by the container, so it stops listening when the app is disposed.
        var cacheLookups = options.Mode is AuthMode.GrpcJwtAuth or AuthMode.GrpcJwtAuthNoCache
            ? app.Services.GetRequiredService<CacheLookupCounter>()
            : null;
        StatsEndpoint.Map(app, options.Mode, cacheLookups);
        return app;
    }

    private static SecurityKey LoadKey(SigningKeyFile key)
    {
        var pem = File.ReadAllText(key.Path);
        if (key.Kind == "rsa")
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return new RsaSecurityKey(rsa) { KeyId = key.KeyId };
        }

        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(pem);
        return new ECDsaSecurityKey(ecdsa) { KeyId = key.KeyId };
    }
}
