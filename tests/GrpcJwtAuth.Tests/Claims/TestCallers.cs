using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Tests.Claims;

/// <summary>
/// Callers as the server makes them, for tests that need one without validating a token: the token's claims mapped by
/// a trusted issuer named "test" that accepts the token's <c>iss</c> and otherwise has the settings
/// <paramref name="configure"/> gives the top level (role and scope claim types, clock skew).
/// </summary>
internal static class TestCallers
{
    public static JwtCaller Create(string token, TimeProvider time, Action<GrpcJwtAuthOptions>? configure = null)
    {
        var jwt = new JsonWebToken(token);
        var options = new GrpcJwtAuthOptions();
        configure?.Invoke(options);
        var issuer = new GrpcJwtAuthIssuerOptions { JwksUri = "https://keys.test/jwks" };
        issuer.Issuers.Add(jwt.Issuer);
        options.TrustedIssuers["test"] = issuer;
        var definition = CompiledAuthOptions.Create(options, time).Issuers.Single(issuer => issuer.Name == "test");
        return CallerFactory.Create(jwt, definition);
    }
}
