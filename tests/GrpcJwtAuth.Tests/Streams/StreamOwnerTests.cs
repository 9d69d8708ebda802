using System.Security.Claims;
using GrpcJwtAuth.Streams;

namespace GrpcJwtAuth.Tests.Streams;

public sealed class StreamOwnerTests
{
    private const string Cnf = """{"x5t#S256":"abc"}""";

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Of_NoSubject_ReturnsNoOwner(string? subject)
    {
        Assert.Null(StreamOwner.Of(Caller(sub: subject)));
    }

    [Fact]
    public void Of_EveryPart_ReadsThemFromTheCaller()
    {
        var owner = StreamOwner.Of(Caller(azp: "app", clientId: "client", cnf: Cnf));

        Assert.Equal(new StreamOwner("default", "https://issuer.test", "user-1", "app", "client", Cnf), owner);
    }

    [Fact]
    public void Of_RepeatedClaim_UsesTheFirst()
    {
        var caller = Caller(extra: [new Claim("azp", "first"), new Claim("azp", "second")]);

        Assert.Equal("first", StreamOwner.Of(caller)?.AuthorizedParty);
    }

    [Fact]
    public void Owns_SameEverything_ReturnsTrue()
    {
        var owner = StreamOwner.Of(Caller(azp: "app", clientId: "client", cnf: Cnf))!.Value;

        Assert.True(owner.Owns(Caller(azp: "app", clientId: "client", cnf: Cnf)));
    }

    [Fact]
    public void Owns_IssuerNameInOtherCase_ReturnsTrue()
    {
        // Issuer names are configuration keys, which are case-insensitive.
        var owner = StreamOwner.Of(Caller(issuerName: "Default"))!.Value;

        Assert.True(owner.Owns(Caller(issuerName: "DEFAULT")));
    }

    public static TheoryData<string, JwtCaller> OtherCallers() => new()
    {
        { "another issuer name", Caller(issuerName: "partners", azp: "app", clientId: "client", cnf: Cnf) },
        { "another iss", Caller(iss: "https://other.test", azp: "app", clientId: "client", cnf: Cnf) },
        { "no iss", Caller(iss: null, azp: "app", clientId: "client", cnf: Cnf) },
        { "another sub", Caller(sub: "user-2", azp: "app", clientId: "client", cnf: Cnf) },
        { "sub in other case", Caller(sub: "USER-1", azp: "app", clientId: "client", cnf: Cnf) },
        { "no sub", Caller(sub: null, azp: "app", clientId: "client", cnf: Cnf) },
        { "another azp", Caller(azp: "other-app", clientId: "client", cnf: Cnf) },
        { "no azp", Caller(clientId: "client", cnf: Cnf) },
        { "another client_id", Caller(azp: "app", clientId: "other-client", cnf: Cnf) },
        { "no client_id", Caller(azp: "app", cnf: Cnf) },
        { "another cnf", Caller(azp: "app", clientId: "client", cnf: """{"x5t#S256":"xyz"}""") },
        { "no cnf", Caller(azp: "app", clientId: "client") },
    };

    [Theory]
    [MemberData(nameof(OtherCallers))]
    public void Owns_DiffersInOnePart_ReturnsFalse(string description, JwtCaller other)
    {
        var owner = StreamOwner.Of(Caller(azp: "app", clientId: "client", cnf: Cnf))!.Value;

        Assert.False(owner.Owns(other), description);
    }

    public static TheoryData<string, JwtCaller> CallersWithExtraParts() => new()
    {
        { "azp", Caller(azp: "app") },
        { "client_id", Caller(clientId: "client") },
        { "cnf", Caller(cnf: Cnf) },
    };

    [Theory]
    [MemberData(nameof(CallersWithExtraParts))]
    public void Owns_StreamWithoutAPartTheRenewalHas_ReturnsFalse(string description, JwtCaller other)
    {
        var owner = StreamOwner.Of(Caller())!.Value;

        Assert.False(owner.Owns(other), description);
    }

    internal static JwtCaller Caller(
        string issuerName = "default",
        string? iss = "https://issuer.test",
        string? sub = "user-1",
        string? azp = null,
        string? clientId = null,
        string? cnf = null,
        Claim[]? extra = null)
    {
        List<Claim> claims = [];
        if (iss is not null)
        {
            claims.Add(new Claim("iss", iss));
        }

        if (sub is not null)
        {
            claims.Add(new Claim("sub", sub));
        }

        if (azp is not null)
        {
            claims.Add(new Claim("azp", azp));
        }

        if (clientId is not null)
        {
            claims.Add(new Claim("client_id", clientId));
        }

        if (cnf is not null)
        {
            claims.Add(new Claim("cnf", cnf));
        }

        claims.AddRange(extra ?? []);
        return new JwtCaller(
            claims, sub, iss, keyId: "key-1", tokenId: null, roles: [], scopes: [], DateTimeOffset.UnixEpoch.AddDays(30000), issuerName);
    }
}
