using System.Security.Cryptography;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Configuration;

public class CompiledAuthOptionsTests
{
    private static readonly TestSigningKey Rsa = TestSigningKey.Rsa("rsa-1");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));

    [Fact]
    public void Create_NoAlgorithmsConfigured_AllowsAsymmetricAlgorithmsOnly()
    {
        var compiled = Compile(options => options.StaticKeys.Add(Rsa.ToStaticKey()));

        Assert.Equal(CompiledAuthOptions.DefaultAsymmetricAlgorithms, compiled.ValidAlgorithms);
        Assert.DoesNotContain(SecurityAlgorithms.HmacSha256, compiled.BaseParameters.ValidAlgorithms);
        Assert.DoesNotContain("none", compiled.ValidAlgorithms);
    }

    [Fact]
    public void Create_SymmetricStaticKey_AlsoAllowsHmacAlgorithms()
    {
        var compiled = Compile(options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { SymmetricSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }));

        Assert.Equal([.. CompiledAuthOptions.DefaultAsymmetricAlgorithms, .. CompiledAuthOptions.SymmetricAlgorithms], compiled.ValidAlgorithms);
    }

    [Fact]
    public void Create_AlgorithmsConfigured_UsesThemWithoutDuplicates()
    {
        var compiled = Compile(options =>
        {
            options.ValidAlgorithms.Add("ES256");
            options.ValidAlgorithms.Add("ES256");
            options.ValidAlgorithms.Add("PS256");
        });

        Assert.Equal(["ES256", "PS256"], compiled.ValidAlgorithms);
        Assert.Equal(["ES256", "PS256"], compiled.BaseParameters.ValidAlgorithms);
    }

    [Theory]
    [InlineData("https://issuer.test", "https://issuer.test/.well-known/openid-configuration")]
    [InlineData("https://issuer.test/", "https://issuer.test/.well-known/openid-configuration")]
    [InlineData("https://login.test/tenant/v2.0", "https://login.test/tenant/v2.0/.well-known/openid-configuration")]
    public void Create_Authority_UsesItsDiscoveryDocument(string authority, string expected)
    {
        var compiled = Compile(options => options.Authority = authority);

        Assert.Equal(RemoteKeySourceKind.Discovery, compiled.RemoteKind);
        Assert.Equal(expected, compiled.RemoteAddress);
    }

    [Fact]
    public void Create_MetadataAddress_TakesPrecedenceOverAuthority()
    {
        var compiled = Compile(options =>
        {
            options.Authority = "https://issuer.test";
            options.MetadataAddress = "https://issuer.test/custom/openid-configuration";
        });

        Assert.Equal(RemoteKeySourceKind.Discovery, compiled.RemoteKind);
        Assert.Equal("https://issuer.test/custom/openid-configuration", compiled.RemoteAddress);
    }

    [Fact]
    public void Create_JwksUri_UsesTheKeySetDirectly()
    {
        var compiled = Compile(options => options.JwksUri = "https://issuer.test/keys");

        Assert.Equal(RemoteKeySourceKind.Jwks, compiled.RemoteKind);
        Assert.Equal("https://issuer.test/keys", compiled.RemoteAddress);
        Assert.False(compiled.UseDiscoveredIssuer);
    }

    [Fact]
    public void Create_StaticKeysOnly_HasNoRemoteSource()
    {
        var compiled = Compile(options => options.StaticKeys.Add(Rsa.ToStaticKey()));

        Assert.Equal(RemoteKeySourceKind.None, compiled.RemoteKind);
        Assert.Null(compiled.RemoteAddress);
        var key = Assert.Single(compiled.StaticKeys);
        Assert.Equal("rsa-1", key.KeyId);
    }

    [Theory]
    [InlineData(true, false, true)]
    [InlineData(true, true, false)]
    [InlineData(false, false, false)]
    public void Create_DiscoveredIssuer_UsedOnlyWhenValidatingWithoutConfiguredIssuers(bool validateIssuer, bool issuersConfigured, bool expected)
    {
        var compiled = Compile(options =>
        {
            options.Authority = "https://issuer.test";
            options.ValidateIssuer = validateIssuer;
            if (issuersConfigured)
            {
                options.Issuers.Add("https://configured.test");
            }
        });

        Assert.Equal(expected, compiled.UseDiscoveredIssuer);
    }

    [Fact]
    public void ParametersFor_DiscoveredIssuer_IsTheOnlyValidIssuer()
    {
        var compiled = Compile(options => options.Authority = "https://issuer.test");
        SecurityKey[] keys = [Rsa.PublicKey];

        var parameters = compiled.ParametersFor(keys, "https://issuer.test/");
        var withoutIssuer = compiled.ParametersFor(keys, discoveredIssuer: null);

        Assert.Equal(["https://issuer.test/"], parameters.ValidIssuers);
        Assert.Same(keys, parameters.IssuerSigningKeys);
        Assert.Empty(withoutIssuer.ValidIssuers);
        Assert.Null(compiled.BaseParameters.IssuerSigningKeys);
    }

    [Fact]
    public void ParametersFor_ConfiguredIssuers_IgnoreTheDiscoveredOne()
    {
        var compiled = Compile(options =>
        {
            options.Authority = "https://issuer.test";
            options.Issuers.Add("https://configured.test");
        });

        var parameters = compiled.ParametersFor([Rsa.PublicKey], "https://discovered.test");

        Assert.Equal(["https://configured.test"], parameters.ValidIssuers);
    }

    [Fact]
    public void Create_BaseParameters_RequireSignedTokensWithLifetimeOnTheInjectedClock()
    {
        var compiled = Compile(options =>
        {
            options.ClockSkew = TimeSpan.FromSeconds(45);
            options.Audiences.Add("api://a");
            options.Issuers.Add("https://i.test");
        });

        var parameters = compiled.BaseParameters;
        Assert.True(parameters.RequireSignedTokens);
        Assert.True(parameters.RequireExpirationTime);
        Assert.True(parameters.ValidateLifetime);
        Assert.True(parameters.ValidateIssuer);
        Assert.True(parameters.ValidateAudience);
        Assert.NotNull(parameters.LifetimeValidator);
        Assert.Equal(TimeSpan.FromSeconds(45), parameters.ClockSkew);
        Assert.Equal(["api://a"], parameters.ValidAudiences);
        Assert.Equal(["https://i.test"], parameters.ValidIssuers);
        Assert.Equal(GrpcJwtAuthDefaults.AuthenticationType, parameters.AuthenticationType);
    }

    [Fact]
    public void Create_ClaimTypesNotConfigured_UseTheDefaults()
    {
        var compiled = Compile(_ => { });

        Assert.Equal(["roles", "role"], compiled.RoleClaimTypes);
        Assert.Equal(["scope", "scp"], compiled.ScopeClaimTypes);
    }

    [Fact]
    public void Create_ClaimTypesConfigured_ReplaceTheDefaultsWithoutDuplicates()
    {
        var compiled = Compile(options =>
        {
            options.RoleClaimTypes.Add("groups");
            options.RoleClaimTypes.Add("groups");
            options.ScopeClaimTypes.Add("permissions");
        });

        Assert.Equal(["groups"], compiled.RoleClaimTypes);
        Assert.Equal(["permissions"], compiled.ScopeClaimTypes);
    }

    [Fact]
    public void Create_Limits_AreCopied()
    {
        var compiled = Compile(options =>
        {
            options.JwksAutomaticRefreshInterval = TimeSpan.FromHours(2);
            options.JwksMinimumRefreshInterval = TimeSpan.FromMinutes(3);
            options.KeyFetchTimeout = TimeSpan.FromSeconds(4);
            options.KeyRefreshWaitTimeout = TimeSpan.FromSeconds(5);
            options.MaxTokenLength = 4096;
            options.RequireHttpsMetadata = false;
        });

        Assert.Equal(TimeSpan.FromHours(2), compiled.AutomaticRefreshInterval);
        Assert.Equal(TimeSpan.FromMinutes(3), compiled.MinimumRefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(4), compiled.KeyFetchTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), compiled.KeyRefreshWaitTimeout);
        Assert.Equal(4096, compiled.MaxTokenLength);
        Assert.False(compiled.RequireHttpsMetadata);
    }

    [Fact]
    public void Create_BadStaticKey_ThrowsNamingTheEntry()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Compile(options =>
        {
            options.StaticKeys.Add(Rsa.ToStaticKey());
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = "nope" });
        }));

        Assert.Equal("GrpcJwtAuth:StaticKeys:1 holds no PEM block.", error.Message);
    }

    [Fact]
    public void Create_LaterChangesToTheOptions_AreNotSeen()
    {
        var options = new GrpcJwtAuthOptions();
        options.Audiences.Add("api://a");
        var compiled = CompiledAuthOptions.Create(options, _time);

        options.Audiences.Add("api://b");
        options.ClockSkew = TimeSpan.FromMinutes(5);

        Assert.Equal(["api://a"], compiled.BaseParameters.ValidAudiences);
        Assert.Equal(TimeSpan.FromSeconds(30), compiled.ClockSkew);
    }

    private CompiledAuthOptions Compile(Action<GrpcJwtAuthOptions> configure)
    {
        var options = new GrpcJwtAuthOptions();
        configure(options);
        return CompiledAuthOptions.Create(options, _time);
    }
}
