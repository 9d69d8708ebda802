using System.Security.Cryptography;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrpcJwtAuth.Tests.Configuration;

public class CompiledAuthOptionsTests
{
    private const string Services = "https://services.test";

    private static readonly TestSigningKey Rsa = TestSigningKey.Rsa("rsa-1");
    private static readonly TestSigningKey Ec = TestSigningKey.Ec("ec-1");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));

    [Fact]
    public void Create_RsaStaticKeyNoAlgorithmsConfigured_AllowsWhatTheKeyCanVerifyOnly()
    {
        var issuer = Single(options => options.StaticKeys.Add(Rsa.ToStaticKey()));

        Assert.Equal(SigningKey.RsaAlgorithms, issuer.Algorithms);
        Assert.DoesNotContain("none", issuer.Algorithms);
    }

    [Fact]
    public void Create_KeyEndpoint_AllowsEveryAsymmetricAlgorithmAndNoHmac()
    {
        var issuer = Single(options => options.Authority = "https://issuer.test");

        Assert.Equal(CompiledAuthOptions.DefaultAsymmetricAlgorithms, issuer.Algorithms);
    }

    [Fact]
    public void Create_SymmetricStaticKey_AllowsHmacAlgorithmsOnly()
    {
        var issuer = Single(options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { SymmetricSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }));

        Assert.Equal(CompiledAuthOptions.SymmetricAlgorithms, issuer.Algorithms);
    }

    [Fact]
    public void Create_AlgorithmsConfigured_UsesThoseTheKeysCanVerifyWithoutDuplicates()
    {
        var issuer = Single(options =>
        {
            options.Authority = "https://issuer.test";
            options.ValidAlgorithms.Add("ES256");
            options.ValidAlgorithms.Add("ES256");
            options.ValidAlgorithms.Add("PS256");
            options.ValidAlgorithms.Add("HS256");
        });

        Assert.Equal(["ES256", "PS256"], issuer.Algorithms);
    }

    [Theory]
    [InlineData("https://issuer.test", "https://issuer.test/.well-known/openid-configuration")]
    [InlineData("https://issuer.test/", "https://issuer.test/.well-known/openid-configuration")]
    [InlineData("https://login.test/tenant/v2.0", "https://login.test/tenant/v2.0/.well-known/openid-configuration")]
    public void Create_Authority_UsesItsDiscoveryDocumentWhichMustNameIt(string authority, string expected)
    {
        var issuer = Single(options => options.Authority = authority);

        Assert.Equal(RemoteKeySourceKind.Discovery, issuer.RemoteKind);
        Assert.Equal(expected, issuer.RemoteAddress);
        Assert.Equal(authority, issuer.ExpectedDiscoveryIssuer);
        Assert.True(issuer.UsesDiscoveredIssuer);
    }

    [Theory]
    [InlineData("https://issuer.test/custom/openid-configuration", null)]
    [InlineData("https://issuer.test/realm/.well-known/openid-configuration", "https://issuer.test/realm")]
    public void Create_MetadataAddress_TakesPrecedenceOverAuthority(string address, string? expectedIssuer)
    {
        var issuer = Single(options =>
        {
            options.Authority = "https://issuer.test";
            options.MetadataAddress = address;
        });

        Assert.Equal(RemoteKeySourceKind.Discovery, issuer.RemoteKind);
        Assert.Equal(address, issuer.RemoteAddress);
        Assert.Equal(expectedIssuer, issuer.ExpectedDiscoveryIssuer);
    }

    [Fact]
    public void Create_JwksUri_UsesTheKeySetDirectlyForTheConfiguredIssuers()
    {
        var issuer = Single(options =>
        {
            options.JwksUri = "https://issuer.test/keys";
            options.Issuers.Add("https://issuer.test");
        });

        Assert.Equal(RemoteKeySourceKind.Jwks, issuer.RemoteKind);
        Assert.Equal("https://issuer.test/keys", issuer.RemoteAddress);
        Assert.False(issuer.UsesDiscoveredIssuer);
        Assert.Equal(["https://issuer.test"], issuer.Issuers);
    }

    [Fact]
    public void Create_StaticKeysOnly_HasNoRemoteSource()
    {
        var issuer = Single(options => options.StaticKeys.Add(Rsa.ToStaticKey()));

        Assert.Equal(RemoteKeySourceKind.None, issuer.RemoteKind);
        Assert.Null(issuer.RemoteAddress);
        Assert.Equal(IssuerDefinition.DefaultName, issuer.Name);
        Assert.Equal("rsa-1", Assert.Single(issuer.StaticKeys).KeyId);
    }

    [Fact]
    public void Create_StaticKeyNamingItsIssuerNextToAKeyEndpoint_IsAnIssuerOfItsOwn()
    {
        var compiled = Compile(options =>
        {
            options.Authority = "https://idp.test";
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "ec-1", Pem = Ec.PublicPem, Issuer = Services });
        });

        Assert.Equal(2, compiled.Issuers.Count);
        var idp = compiled.Issuers[0];
        Assert.Empty(idp.StaticKeys);
        Assert.True(idp.UsesDiscoveredIssuer);
        var services = compiled.Issuers[1];
        Assert.Equal(Services, services.Name);
        Assert.Equal([Services], services.Issuers);
        Assert.Equal(RemoteKeySourceKind.None, services.RemoteKind);
        Assert.Equal("ec-1", Assert.Single(services.StaticKeys).KeyId);
        Assert.Equal([SecurityAlgorithms.EcdsaSha256], services.Algorithms);
    }

    [Fact]
    public void Create_StaticKeysNamingDifferentIssuers_AreSeparateIssuers()
    {
        var compiled = Compile(options =>
        {
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = Rsa.PublicPem, Issuer = "https://a.test" });
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = Ec.PublicPem, Issuer = "https://b.test" });
        });

        Assert.Equal(["https://a.test", "https://b.test"], compiled.Issuers.Select(issuer => issuer.Name));
    }

    [Fact]
    public void Create_StaticKeyNamingATopLevelIssuerWithoutAKeyEndpoint_JoinsTheDefaultIssuer()
    {
        var compiled = Compile(options =>
        {
            options.Issuers.Add(Services);
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = Rsa.PublicPem, Issuer = Services });
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = Ec.PublicPem });
        });

        var issuer = Assert.Single(compiled.Issuers);
        Assert.Equal(2, issuer.StaticKeys.Count);
        Assert.Equal([Services], issuer.Issuers);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Create_DiscoveredIssuer_AcceptedOnlyWithoutConfiguredIssuers(bool issuersConfigured, bool expected)
    {
        var issuer = Single(options =>
        {
            options.Authority = "https://issuer.test";
            if (issuersConfigured)
            {
                options.Issuers.Add("https://configured.test");
            }
        });

        Assert.Equal(expected, issuer.UsesDiscoveredIssuer);
    }

    [Fact]
    public void ParametersFor_DiscoveredIssuer_IsTheOnlyValidIssuer()
    {
        var issuer = Single(options => options.Authority = "https://issuer.test");

        var parameters = new SigningKeySet(1, [SigningKey.Of(Rsa.PublicKey)], issuer, "https://issuer.test/", null).Parameters;
        var withoutIssuer = new SigningKeySet(0, [], issuer, discoveredIssuer: null, null).Parameters;

        Assert.Equal(["https://issuer.test/"], parameters.ValidIssuers);
        Assert.Empty(withoutIssuer.ValidIssuers);
        Assert.Null(parameters.IssuerSigningKeys);
        Assert.NotNull(parameters.SignatureValidator);
    }

    [Fact]
    public void ParametersFor_ConfiguredIssuers_IgnoreTheDiscoveredOne()
    {
        var issuer = Single(options =>
        {
            options.Authority = "https://issuer.test";
            options.Issuers.Add("https://configured.test");
        });

        var parameters = new SigningKeySet(1, [SigningKey.Of(Rsa.PublicKey)], issuer, "https://discovered.test", null).Parameters;

        Assert.Equal(["https://configured.test"], parameters.ValidIssuers);
    }

    [Fact]
    public void ParametersFor_RequireSignedTokensWithLifetimeOnTheInjectedClockAndExactAudiences()
    {
        var issuer = Single(options =>
        {
            options.ClockSkew = TimeSpan.FromSeconds(45);
            options.Audiences.Add("api://a");
            options.Issuers.Add("https://i.test");
            options.StaticKeys.Add(Rsa.ToStaticKey());
        });

        var parameters = new SigningKeySet(0, issuer.StaticKeys, issuer, null, null).Parameters;
        Assert.True(parameters.RequireSignedTokens);
        Assert.True(parameters.RequireExpirationTime);
        Assert.True(parameters.ValidateLifetime);
        Assert.True(parameters.ValidateIssuer);
        Assert.True(parameters.ValidateAudience);
        Assert.False(parameters.IgnoreTrailingSlashWhenValidatingAudience);
        Assert.False(parameters.TryAllIssuerSigningKeys);
        Assert.NotNull(parameters.LifetimeValidator);
        Assert.Equal(TimeSpan.FromSeconds(45), parameters.ClockSkew);
        Assert.Equal(["api://a"], parameters.ValidAudiences);
        Assert.Equal(["https://i.test"], parameters.ValidIssuers);
        Assert.Equal(SigningKey.RsaAlgorithms, parameters.ValidAlgorithms);
        Assert.Equal(GrpcJwtAuthDefaults.AuthenticationType, parameters.AuthenticationType);
    }

    [Fact]
    public void Create_ClaimTypesNotConfigured_UseTheDefaults()
    {
        var compiled = Compile(options => options.Authority = "https://issuer.test");

        Assert.Equal(["roles", "role"], compiled.Issuers[0].Profile.RoleClaimTypes);
        Assert.Equal(["scope", "scp"], compiled.Issuers[0].Profile.ScopeClaimTypes);
        Assert.Empty(Compile(_ => { }).Issuers);
    }

    [Fact]
    public void Create_ClaimTypesConfigured_ReplaceTheDefaultsWithoutDuplicates()
    {
        var compiled = Compile(options =>
        {
            options.Authority = "https://issuer.test";
            options.RoleClaimTypes.Add("groups");
            options.RoleClaimTypes.Add("groups");
            options.ScopeClaimTypes.Add("permissions");
        });

        Assert.Equal(["groups"], compiled.Issuers[0].Profile.RoleClaimTypes);
        Assert.Equal(["permissions"], compiled.Issuers[0].Profile.ScopeClaimTypes);
    }

    [Fact]
    public void Create_Limits_AreCopied()
    {
        var compiled = Compile(options =>
        {
            options.JwksUri = "https://issuer.test/keys";
            options.JwksAutomaticRefreshInterval = TimeSpan.FromHours(2);
            options.JwksMinimumRefreshInterval = TimeSpan.FromMinutes(3);
            options.KeyFetchTimeout = TimeSpan.FromSeconds(4);
            options.KeyRefreshWaitTimeout = TimeSpan.FromSeconds(5);
            options.MaxTokenLength = 4096;
            options.RequireHttpsMetadata = false;
        });

        var issuer = Assert.Single(compiled.Issuers);
        Assert.Equal(TimeSpan.FromHours(2), issuer.AutomaticRefreshInterval);
        Assert.Equal(TimeSpan.FromMinutes(3), issuer.MinimumRefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(4), issuer.KeyFetchTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), issuer.KeyRefreshWaitTimeout);
        Assert.False(issuer.RequireHttpsMetadata);
        Assert.Equal(4096, compiled.MaxTokenLength);
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
        var options = new GrpcJwtAuthOptions { Authority = "https://issuer.test" };
        options.Audiences.Add("api://a");
        var compiled = CompiledAuthOptions.Create(options, _time);

        options.Audiences.Add("api://b");
        options.ClockSkew = TimeSpan.FromMinutes(5);

        var issuer = Assert.Single(compiled.Issuers);
        Assert.Equal(["api://a"], new SigningKeySet(0, [], issuer, null, null).Parameters.ValidAudiences);
        Assert.Equal(TimeSpan.FromSeconds(30), compiled.Issuers[0].Profile.ClockSkew);
    }

    [Theory]
    [InlineData("https://a.test", "https://a.test", true)]
    [InlineData("https://a.test/", "https://a.test", true)]
    [InlineData("https://a.test", "https://a.test/", true)]
    [InlineData("https://a.test//", "https://a.test", false)]
    [InlineData("https://A.test", "https://a.test", false)]
    public void SameIgnoringTrailingSlash_AllowsOneSlashOnEitherSide(string a, string b, bool expected)
    {
        Assert.Equal(expected, IssuerDefinition.SameIgnoringTrailingSlash(a, b));
    }

    private IssuerDefinition Single(Action<GrpcJwtAuthOptions> configure) => Assert.Single(Compile(configure).Issuers);

    private CompiledAuthOptions Compile(Action<GrpcJwtAuthOptions> configure)
    {
        var options = new GrpcJwtAuthOptions();
        configure(options);
        return CompiledAuthOptions.Create(options, _time);
    }
}
