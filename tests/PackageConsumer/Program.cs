// Uses both packages through their public surface only: a server with GrpcJwtAuth and a self-signed client token
// that the server's settings accept. Prints "package consumer: ok" on success.
using System.Security.Cryptography;
using GrpcJwtAuth;
using GrpcJwtAuth.Client.Sources;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.AddGrpc();
builder.Services.AddGrpcJwtAuth(options =>
{
    options.Issuers.Add("consumer");
    options.Audiences.Add("greeter");
    options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "k1", Pem = ecdsa.ExportSubjectPublicKeyInfoPem() });
});
await using var app = builder.Build();
var settings = app.Services.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value;

var provider = new SelfSignedTokenProvider(new SelfSignedTokenOptions
{
    SigningKey = new ECDsaSecurityKey(ecdsa) { KeyId = "k1" },
    Issuer = "consumer",
    Audience = "greeter",
    Subject = "package-consumer",
});
var token = await provider.GetTokenAsync();
if (settings.Audiences.Count != 1 || token.Value.Split('.').Length != 3)
{
    Console.Error.WriteLine("package consumer: unexpected result");
    return 1;
}

Console.WriteLine($"package consumer: ok ({token})");
return 0;
