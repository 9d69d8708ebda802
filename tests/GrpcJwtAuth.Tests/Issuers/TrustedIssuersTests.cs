using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tests.Keys;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Issuers;

public sealed class TrustedIssuersTests : IDisposable
{
    private const string Idp = "https://idp.test";
    private const string Services = "https://services.test";

    private static readonly TestSigningKey Ec = TestSigningKey.Ec("ec-1");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
    private readonly FakeRemoteKeySource _source = new();
    private readonly List<SigningKeyManager> _managers = [];

    public void Dispose() => _managers.ForEach(manager => manager.Dispose());

    [Theory]
    [InlineData(Services, Services)]
    [InlineData(Services + "/", null)]
    [InlineData("HTTPS://SERVICES.TEST", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Find_ConfiguredIssuer_MatchesExactlyOnly(string? iss, string? expected)
    {
        var issuers = Create(options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = Ec.PublicPem, Issuer = Services }));

        Assert.Equal(expected, issuers.Find(iss)?.Issuer.Name);
    }

    [Theory]
    [InlineData(Idp, true)]
    [InlineData(Idp + "/", true)]
    [InlineData(Idp + "//", false)]
    [InlineData("https://idp.test.evil", false)]
    public void Find_DiscoveryIssuerBeforeTheFirstFetch_MatchesTheAuthorityButForATrailingSlash(string iss, bool expected)
    {
        var issuers = Create(options => options.Authority = Idp);

        Assert.Equal(expected, issuers.Find(iss) is not null);
    }

    [Fact]
    public async Task Find_DiscoveryIssuerAfterAFetch_MatchesTheDocumentsIssuerExactly()
    {
        _source.Returns(new RemoteKeys(FakeRemoteKeySource.PublicKeys(Ec), Idp + "/"));
        var issuers = Create(options => options.Authority = Idp);
        await issuers.All[0].RefreshAsync(RefreshTrigger.Startup).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotNull(issuers.Find(Idp + "/"));
        Assert.Null(issuers.Find(Idp));
    }

    [Fact]
    public void Find_TwoIssuers_EachTokenGoesToItsOwn()
    {
        var issuers = Create(options =>
        {
            options.Authority = Idp;
            options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = Ec.PublicPem, Issuer = Services });
        });

        Assert.Equal(IssuerDefinition.DefaultName, issuers.Find(Idp)?.Issuer.Name);
        Assert.Equal(Services, issuers.Find(Services)?.Issuer.Name);
        Assert.Null(issuers.Find("https://other.test"));
    }

    [Theory]
    [InlineData("https://anything.test")]
    [InlineData(null)]
    public void Find_ValidateIssuerOffWithOneIssuer_GivesThatIssuerWhateverTheIss(string? iss)
    {
        var issuers = Create(options =>
        {
            options.ValidateIssuer = false;
            options.StaticKeys.Add(Ec.ToStaticKey());
        });

        Assert.Same(issuers.All[0], issuers.Find(iss));
    }

    private TrustedIssuers Create(Action<GrpcJwtAuthOptions> configure)
    {
        var options = new GrpcJwtAuthOptions();
        configure(options);
        var compiled = CompiledAuthOptions.Create(options, _time);
        var managers = compiled.Issuers
            .Select(issuer => new SigningKeyManager(
                issuer, issuer.RemoteKind == RemoteKeySourceKind.None ? null : _source, _time, NullLogger<SigningKeyManager>.Instance))
            .ToArray();
        _managers.AddRange(managers);
        return new TrustedIssuers(managers, compiled.ValidateIssuer);
    }
}
