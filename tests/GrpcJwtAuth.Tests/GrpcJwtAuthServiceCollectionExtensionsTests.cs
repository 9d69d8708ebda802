using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests;

public class GrpcJwtAuthServiceCollectionExtensionsTests
{
    private static readonly TestSigningKey Key = TestSigningKey.Rsa("rsa-1");

    [Fact]
    public void AddGrpcJwtAuth_Configuration_BindsTheGrpcJwtAuthSection()
    {
        using var provider = Build(Configuration(), services => services.AddGrpcJwtAuth());

        var options = provider.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value;

        Assert.Equal([TestTokenFactory.DefaultAudience], options.Audiences);
        Assert.Equal([TestTokenFactory.DefaultIssuer], options.Issuers);
        var key = Assert.Single(options.StaticKeys);
        Assert.Equal(Key.PublicPem, key.Pem);
        Assert.Equal("rsa-1", key.KeyId);
        var rule = Assert.Single(options.Rules);
        Assert.Equal("/greet.Greeter/", rule.Prefix);
        Assert.Equal(["admin"], rule.Roles);
        Assert.Equal(TimeSpan.FromMinutes(1), options.ClockSkew);
        Assert.Equal(["groups"], options.RoleClaimTypes);
        Assert.Empty(options.ScopeClaimTypes);
    }

    [Fact]
    public void AddGrpcJwtAuth_Configuration_BindsNamedTrustedIssuersThatInheritWhatTheyLeaveUnset()
    {
        // As appsettings.json or environment variables (GrpcJwtAuth__TrustedIssuers__users__Authority) give them; names ignore case.
        using var provider = Build(
            Configuration(
                ("GrpcJwtAuth:TrustedIssuers:users:Authority", "https://users.test"),
                ("GrpcJwtAuth:TrustedIssuers:users:Audiences:0", "api://users"),
                ("GrpcJwtAuth:TrustedIssuers:users:ClockSkew", "00:00:05"),
                ("GrpcJwtAuth:TrustedIssuers:workloads:JwksUri", "https://workloads.test/jwks"),
                ("GrpcJwtAuth:TrustedIssuers:workloads:Issuers:0", "spiffe://workloads.test"),
                ("GrpcJwtAuth:TrustedIssuers:Workloads:ScopeClaimTypes:0", "permissions"),
                ("GrpcJwtAuth:TrustedIssuers:entra:IssuerTemplate", "https://login.microsoftonline.com/{tenantid}/v2.0"),
                ("GrpcJwtAuth:TrustedIssuers:entra:JwksUri", "https://login.microsoftonline.com/common/discovery/v2.0/keys"),
                ("GrpcJwtAuth:TrustedIssuers:entra:Tenants:0", "contoso")),
            services => services.AddGrpcJwtAuth());

        var options = provider.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value;
        var compiled = provider.GetRequiredService<CompiledAuthOptions>();
        var byName = compiled.Issuers.ToDictionary(issuer => issuer.Name);

        Assert.Equal(["entra", "users", "workloads"], options.TrustedIssuers.Keys.Order());
        Assert.Equal(["default", "entra", "users", "workloads"], compiled.Issuers.Select(issuer => issuer.Name).Order());
        Assert.Equal(TimeSpan.FromSeconds(5), byName["users"].Profile.ClockSkew);
        Assert.Equal(TimeSpan.FromMinutes(1), byName["workloads"].Profile.ClockSkew);
        Assert.Equal(["groups"], byName["workloads"].Profile.RoleClaimTypes);
        Assert.Equal(["permissions"], byName["workloads"].Profile.ScopeClaimTypes);
        Assert.Equal(["api://users"], new GrpcJwtAuth.Keys.SigningKeySet(0, [], byName["users"], null, null).Parameters.ValidAudiences);
        Assert.Equal([TestTokenFactory.DefaultAudience], new GrpcJwtAuth.Keys.SigningKeySet(0, [], byName["workloads"], null, null).Parameters.ValidAudiences);
        Assert.True(byName["entra"].Template!.Accepts("https://login.microsoftonline.com/contoso/v2.0"));
        Assert.Equal("contoso", byName["entra"].TenantOf("https://login.microsoftonline.com/contoso/v2.0"));
        Assert.False(byName["entra"].Template!.Accepts("https://login.microsoftonline.com/other/v2.0"));
    }

    [Fact]
    public void AddGrpcJwtAuth_ConfiguredRoleClaimTypes_ReplaceTheDefaultsInTheCompiledOptions()
    {
        using var provider = Build(Configuration(), services => services.AddGrpcJwtAuth());

        var compiled = provider.GetRequiredService<CompiledAuthOptions>();

        Assert.Equal(["groups"], compiled.Issuers[0].Profile.RoleClaimTypes);
        Assert.Equal(CompiledAuthOptions.DefaultScopeClaimTypes, compiled.Issuers[0].Profile.ScopeClaimTypes);
        Assert.Equal(TimeSpan.FromMinutes(1), compiled.Issuers[0].Profile.ClockSkew);
        Assert.Equal("/greet.Greeter/", compiled.Rules.Match("/greet.Greeter/SayHello")?.Prefix);
    }

    [Fact]
    public void AddGrpcJwtAuth_ActionOverload_WinsOverConfiguration()
    {
        using var provider = Build(
            Configuration(),
            services => services.AddGrpcJwtAuth(options =>
            {
                options.ClockSkew = TimeSpan.FromMinutes(2);
                options.RoleClaimTypes.Clear();
                options.RoleClaimTypes.Add("teams");
                options.Audiences.Add("api://second");
            }));

        var options = provider.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(2), options.ClockSkew);
        Assert.Equal(["teams"], options.RoleClaimTypes);
        Assert.Equal([TestTokenFactory.DefaultAudience, "api://second"], options.Audiences);
    }

    [Fact]
    public void AddGrpcJwtAuth_CalledTwice_DoesNotDuplicateListEntriesOrServices()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Configuration());
        services.AddLogging();

        var first = services.AddGrpcJwtAuth();
        var second = services.AddGrpcJwtAuth();
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value;
        Assert.Single(options.Audiences);
        Assert.Single(options.Issuers);
        Assert.Single(options.StaticKeys);
        Assert.Single(options.Rules);
        Assert.Single(options.Rules[0].Roles);
        Assert.Single(options.RoleClaimTypes);
        Assert.Single(provider.GetServices<IValidateOptions<GrpcJwtAuthOptions>>(), validator => validator is GrpcJwtAuthOptionsValidator);
        Assert.Single(provider.GetServices<IHostedService>().OfType<KeyRefreshHostedService>());
        Assert.Single(services, descriptor => descriptor.ServiceType == typeof(JwtTokenValidator));
        Assert.Same(services, first.Services);
        Assert.Same(services, second.Services);
        Assert.Equal(GrpcJwtAuthDefaults.BackchannelHttpClientName, second.Backchannel.Name);
    }

    [Fact]
    public void AddGrpcJwtAuth_InvalidConfiguration_ThrowsNamingTheKey()
    {
        var configuration = Configuration(without: "GrpcJwtAuth:Audiences:0");
        using var provider = Build(configuration, services => services.AddGrpcJwtAuth());

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value);

        Assert.Contains("GrpcJwtAuth:Audiences is empty; set it or set GrpcJwtAuth:ValidateAudience=false.", error.Failures);
    }

    [Fact]
    public void AddGrpcJwtAuth_BadStaticKeyInConfiguration_ThrowsNamingTheKey()
    {
        var configuration = Configuration(("GrpcJwtAuth:StaticKeys:0:Pem", "not a pem"));
        using var provider = Build(configuration, services => services.AddGrpcJwtAuth());

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<GrpcJwtAuthOptions>>().Value);

        Assert.Contains("GrpcJwtAuth:StaticKeys:0 holds no PEM block.", error.Failures);
    }

    [Fact]
    public async Task AddGrpcJwtAuth_ResolvedValidator_UsesTheRegisteredTimeProvider()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
        using var provider = Build(Configuration(), services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddGrpcJwtAuth();
        });
        var validator = provider.GetRequiredService<JwtTokenValidator>();
        var token = new TestTokenFactory(time).Create(Key, lifetime: TimeSpan.FromMinutes(5));

        var valid = await validator.ValidateAsync(token, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromMinutes(7));
        var expired = await validator.ValidateAsync(token, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(AuthFailure.None, valid.Failure);
        Assert.Equal(AuthFailure.TokenExpired, expired.Failure);
    }

    [Fact]
    public void AddGrpcJwtAuth_StaticKeysOnly_HasNoRemoteSource()
    {
        using var provider = Build(Configuration(), services => services.AddGrpcJwtAuth());

        var issuer = Assert.Single(provider.GetRequiredService<TrustedIssuers>().All);
        Assert.False(issuer.HasRemoteSource);
    }

    [Theory]
    [InlineData("GrpcJwtAuth:JwksUri", "https://issuer.test/keys")]
    [InlineData("GrpcJwtAuth:Authority", "https://issuer.test")]
    public void AddGrpcJwtAuth_KeyAddress_HasARemoteSourceAndTheStaticKeyAnIssuerOfItsOwn(string key, string address)
    {
        using var provider = Build(
            Configuration((key, address), ("GrpcJwtAuth:StaticKeys:0:Issuer", "https://services.test")),
            services => services.AddGrpcJwtAuth());

        var issuers = provider.GetRequiredService<TrustedIssuers>().All;
        Assert.Equal([true, false], issuers.Select(issuer => issuer.HasRemoteSource));
        Assert.Equal([IssuerDefinition.DefaultName, "https://services.test"], issuers.Select(issuer => issuer.Issuer.Name));
    }

    [Fact]
    public void AddGrpcJwtAuth_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => GrpcJwtAuthServiceCollectionExtensions.AddGrpcJwtAuth(null!));
        Assert.Throws<ArgumentNullException>(() => GrpcJwtAuthServiceCollectionExtensions.AddGrpcJwtAuth(null!, _ => { }));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddGrpcJwtAuth(null!));
    }

    private static ServiceProvider Build(IConfiguration configuration, Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        configure(services);
        return services.BuildServiceProvider();
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] overrides) => Configuration(without: null, overrides);

    private static IConfiguration Configuration(string? without, params (string Key, string Value)[] overrides)
    {
        var values = new Dictionary<string, string?>
        {
            ["GrpcJwtAuth:Audiences:0"] = TestTokenFactory.DefaultAudience,
            ["GrpcJwtAuth:Issuers:0"] = TestTokenFactory.DefaultIssuer,
            ["GrpcJwtAuth:StaticKeys:0:Pem"] = Key.PublicPem,
            ["GrpcJwtAuth:StaticKeys:0:KeyId"] = "rsa-1",
            ["GrpcJwtAuth:Rules:0:Prefix"] = "/greet.Greeter/",
            ["GrpcJwtAuth:Rules:0:Roles:0"] = "admin",
            ["GrpcJwtAuth:ClockSkew"] = "00:01:00",
            ["GrpcJwtAuth:RoleClaimTypes:0"] = "groups",
        };
        if (without is not null)
        {
            values.Remove(without);
        }

        foreach (var (key, value) in overrides)
        {
            values[key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }
}
