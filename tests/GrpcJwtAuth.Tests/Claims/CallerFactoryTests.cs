using System.Security.Claims;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GrpcJwtAuth.Tests.Claims;

public class CallerFactoryTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly TestSigningKey Key = TestSigningKey.Ec("ec-1");

    private readonly FakeTimeProvider _time = new(Now);

    [Fact]
    public void Create_RolesAsJsonArray_MapsEachRole()
    {
        var caller = Create(new() { ["roles"] = new[] { "reader", "writer" } });

        Assert.Equal(["reader", "writer"], caller.Roles);
    }

    [Fact]
    public void Create_RoleAsSingleString_MapsTheRole()
    {
        var caller = Create(new() { ["role"] = "admin" });

        Assert.Equal(["admin"], caller.Roles);
    }

    [Theory]
    [InlineData("reader writer admin")]
    [InlineData("  reader   writer\tadmin ")]
    public void Create_SpaceSeparatedRoles_AreSplit(string value)
    {
        var caller = Create(new() { ["roles"] = value });

        Assert.Equal(["reader", "writer", "admin"], caller.Roles);
    }

    [Fact]
    public void Create_RolesFromBothDefaultClaimTypes_AreMerged()
    {
        var caller = Create(new() { ["roles"] = new[] { "reader" }, ["role"] = "admin" });

        Assert.Equal(["admin", "reader"], caller.Roles.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Create_DuplicateRoles_AreRemoved()
    {
        var caller = Create(new() { ["roles"] = new[] { "reader", "reader", "writer reader" }, ["role"] = "reader" });

        Assert.Equal(["reader", "writer"], caller.Roles.Order(StringComparer.Ordinal));
        Assert.Equal(2, Principal(caller).FindAll(ClaimTypes.Role).Count());
    }

    [Fact]
    public void Create_RolesDifferingInCase_AreKeptApart()
    {
        var caller = Create(new() { ["roles"] = new[] { "Admin", "admin" } });

        Assert.Equal(["Admin", "admin"], caller.Roles);
    }

    [Fact]
    public void Create_NonStringRoleValues_AreIgnored()
    {
        var caller = Create(new()
        {
            ["roles"] = new object[] { 1, true, "reader", new Dictionary<string, object> { ["name"] = "admin" }, 2.5 },
            ["role"] = 42,
        });

        Assert.Equal(["reader"], caller.Roles);
    }

    [Fact]
    public void Create_EmptyRoleString_GivesNoRole()
    {
        var caller = Create(new() { ["roles"] = "   ", ["role"] = "" });

        Assert.Empty(caller.Roles);
    }

    [Fact]
    public void Create_CustomRoleClaimTypes_ReplaceTheDefaults()
    {
        var caller = Create(
            new() { ["groups"] = new[] { "ops" }, ["roles"] = new[] { "admin" }, ["role"] = "writer" },
            options => options.RoleClaimTypes.Add("groups"));

        Assert.Equal(["ops"], caller.Roles);
        Assert.False(caller.IsInRole("admin"));
        Assert.False(Principal(caller).IsInRole("admin"));
        Assert.True(Principal(caller).IsInRole("ops"));
        Assert.Contains(Principal(caller).Claims, claim => claim.Type == "roles" && claim.Value == "admin");
    }

    [Fact]
    public void Create_MappedRoles_WorkWithPrincipalIsInRole()
    {
        var caller = Create(new() { ["roles"] = new[] { "reader" }, ["role"] = "admin" });

        Assert.True(Principal(caller).IsInRole("reader"));
        Assert.True(Principal(caller).IsInRole("admin"));
        Assert.False(Principal(caller).IsInRole("writer"));
        Assert.All(
            Principal(caller).FindAll(ClaimTypes.Role),
            claim => Assert.Equal(TestTokenFactory.DefaultIssuer, claim.Issuer));
    }

    [Fact]
    public void Create_RawRoleClaimTypeInToken_DoesNotGrantARole()
    {
        var caller = Create(new() { [ClaimTypes.Role] = "admin", ["roles"] = new[] { "reader" } });

        Assert.False(Principal(caller).IsInRole("admin"));
        Assert.False(caller.IsInRole("admin"));
        Assert.Equal(["reader"], caller.Roles);
        Assert.DoesNotContain(Principal(caller).Claims, claim => claim.Value == "admin");
    }

    [Fact]
    public void Create_RawRoleClaimTypeConfigured_GrantsTheRole()
    {
        var caller = Create(new() { [ClaimTypes.Role] = "admin" }, options => options.RoleClaimTypes.Add(ClaimTypes.Role));

        Assert.True(Principal(caller).IsInRole("admin"));
        Assert.Equal(["admin"], caller.Roles);
        Assert.Single(Principal(caller).FindAll(ClaimTypes.Role));
    }

    [Fact]
    public void Create_ScopeAsSpaceSeparatedString_IsSplit()
    {
        var caller = Create(new() { ["scope"] = "greet.read greet.write" });

        Assert.Equal(["greet.read", "greet.write"], caller.Scopes);
    }

    [Fact]
    public void Create_ScpAsJsonArray_MapsEachScope()
    {
        var caller = Create(new() { ["scp"] = new[] { "greet.read", "greet.write" } });

        Assert.Equal(["greet.read", "greet.write"], caller.Scopes);
    }

    [Fact]
    public void Create_ScopesFromScopeAndScp_AreMergedWithoutDuplicates()
    {
        var caller = Create(new() { ["scope"] = "a b", ["scp"] = new[] { "b", "c" } });

        Assert.Equal(["a", "b", "c"], caller.Scopes.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Create_CustomScopeClaimTypes_ReplaceTheDefaults()
    {
        var caller = Create(new() { ["permissions"] = "x y", ["scope"] = "a" }, options => options.ScopeClaimTypes.Add("permissions"));

        Assert.Equal(["x", "y"], caller.Scopes);
    }

    [Fact]
    public void Create_ScopeValues_AreNotRoles()
    {
        var caller = Create(new() { ["scope"] = "admin" });

        Assert.Empty(caller.Roles);
        Assert.False(Principal(caller).IsInRole("admin"));
        Assert.True(caller.HasScope("admin"));
    }

    [Theory]
    [InlineData("admin", true)]
    [InlineData("Admin", false)]
    [InlineData("ADMIN", false)]
    [InlineData("admin ", false)]
    [InlineData("adm", false)]
    [InlineData("", false)]
    public void IsInRole_Role_ComparesOrdinally(string role, bool expected)
    {
        var caller = Create(new() { ["roles"] = new[] { "admin" } });

        Assert.Equal(expected, caller.IsInRole(role));
    }

    [Theory]
    [InlineData("greet.read", true)]
    [InlineData("Greet.Read", false)]
    [InlineData("greet", false)]
    [InlineData("greet.read greet.write", false)]
    public void HasScope_Scope_ComparesOrdinally(string scope, bool expected)
    {
        var caller = Create(new() { ["scope"] = "greet.read greet.write" });

        Assert.Equal(expected, caller.HasScope(scope));
    }

    [Fact]
    public void Create_TokenFields_AreCopied()
    {
        var caller = Create(new() { ["jti"] = "token-9", ["name"] = "Ada" });

        Assert.Equal("user-1", caller.Subject);
        Assert.Equal(TestTokenFactory.DefaultIssuer, caller.Issuer);
        Assert.Equal("ec-1", caller.KeyId);
        Assert.Equal("token-9", caller.TokenId);
        Assert.Equal(Now.AddMinutes(10), caller.ExpiresAt);
    }

    [Fact]
    public void Create_MissingOptionalFields_AreNull()
    {
        var caller = Create(new(), subject: null);

        Assert.Null(caller.Subject);
        Assert.Null(caller.TokenId);
        Assert.Empty(caller.Roles);
        Assert.Empty(caller.Scopes);
    }

    [Fact]
    public void Create_Principal_IsAnAuthenticatedBearerIdentityWithAllClaims()
    {
        var caller = Create(new() { ["name"] = "Ada", ["tenant"] = "t-1" });

        var identity = Assert.IsAssignableFrom<ClaimsIdentity>(Principal(caller).Identity);
        Assert.True(identity.IsAuthenticated);
        Assert.Equal(GrpcJwtAuthDefaults.AuthenticationType, identity.AuthenticationType);
        Assert.Equal("Ada", identity.Name);
        Assert.Equal(ClaimTypes.Role, identity.RoleClaimType);
        Assert.Equal("user-1", Principal(caller).FindFirst("sub")?.Value);
        Assert.Equal("t-1", Principal(caller).FindFirst("tenant")?.Value);
        Assert.Null(Principal(caller).FindFirst(ClaimTypes.NameIdentifier));
    }

    [Fact]
    public void Principal_EachCallsOwn_IsChangeableAndChangesReachNoOtherCall()
    {
        var caller = Create(new() { ["roles"] = new[] { "reader" } });
        var before = caller.Claims.Count;
        var first = JwtCallPrincipal.For(caller);
        var second = JwtCallPrincipal.For(caller);

        var identity = Assert.IsAssignableFrom<ClaimsIdentity>(first.Identity);
        identity.AddClaim(new Claim(ClaimTypes.Role, "admin"));
        identity.AddClaims([new Claim("x", "y"), null]);
        Assert.True(identity.TryRemoveClaim(identity.FindFirst("sub")));
        first.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.Role, "auditor")], "extra"));

        Assert.True(first.IsInRole("admin"));
        Assert.True(first.IsInRole("auditor"));
        Assert.Equal("y", first.FindFirst("x")?.Value);
        Assert.Null(identity.FindFirst("sub"));
        Assert.Same(identity, identity.FindFirst("x")?.Subject);
        Assert.Same(caller, JwtCallPrincipal.CallerOf(first));

        Assert.False(second.IsInRole("admin"));
        Assert.Null(second.FindFirst("x"));
        Assert.Equal("user-1", second.FindFirst("sub")?.Value);
        Assert.Single(second.Identities);
        Assert.Equal(before, caller.Claims.Count);
        Assert.False(JwtCallPrincipal.For(caller).IsInRole("admin"));
    }

    [Fact]
    public void Principal_RemovingAClaimItDoesNotHave_Throws()
    {
        var identity = Assert.IsAssignableFrom<ClaimsIdentity>(JwtCallPrincipal.For(Create([])).Identity);

        Assert.False(identity.TryRemoveClaim(new Claim("sub", "user-1")));
        Assert.Throws<InvalidOperationException>(() => identity.RemoveClaim(new Claim("sub", "user-1")));
    }

    [Fact]
    public void Principal_Clone_IsAnIndependentCopyWithTheSameCaller()
    {
        var caller = Create(new() { ["roles"] = new[] { "reader" } });
        var original = JwtCallPrincipal.For(caller);
        original.Identities.First().AddClaim(new Claim("tenant", "t-1"));

        // As with any ClaimsPrincipal, Clone() shares the identities; an identity's Clone() is the independent copy.
        var copy = new ClaimsPrincipal(original.Identities.First().Clone());
        var copyIdentity = Assert.IsAssignableFrom<ClaimsIdentity>(copy.Identity);
        copyIdentity.AddClaim(new Claim(ClaimTypes.Role, "admin"));

        Assert.True(copy.IsInRole("reader"));
        Assert.True(copy.IsInRole("admin"));
        Assert.Equal("t-1", copy.FindFirst("tenant")?.Value);
        Assert.Equal(GrpcJwtAuthDefaults.AuthenticationType, copyIdentity.AuthenticationType);
        Assert.Equal(ClaimTypes.Role, copyIdentity.RoleClaimType);
        Assert.Same(caller, JwtCallPrincipal.CallerOf(copy));
        Assert.False(original.IsInRole("admin"));
    }

    [Fact]
    public void UserFeature_CreatesTheCallsPrincipalOnFirstRead_AndTheCallerIsKnownWithoutIt()
    {
        var caller = Create(new() { ["roles"] = new[] { "reader" } });
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        var feature = new JwtCallUserFeature(caller);
        context.Features.Set<Microsoft.AspNetCore.Http.Features.Authentication.IHttpAuthenticationFeature>(feature);

        Assert.Same(caller, JwtCallUserFeature.CallerOf(context));
        Assert.True(feature.IsUntouched);

        var user = context.User;
        Assert.False(feature.IsUntouched);
        Assert.Same(user, context.User);
        Assert.IsType<JwtCallPrincipal>(user);
        Assert.True(user.IsInRole("reader"));
        Assert.Same(caller, JwtCallUserFeature.CallerOf(context));

        // Whatever replaces the user decides the caller from then on.
        context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "someone-else")], "other"));
        Assert.Null(JwtCallUserFeature.CallerOf(context));
        var again = JwtCallPrincipal.For(caller);
        context.User = again;
        Assert.Same(caller, JwtCallUserFeature.CallerOf(context));
        Assert.Null(JwtCallUserFeature.CallerOf(new Microsoft.AspNetCore.Http.DefaultHttpContext()));
    }

    private JwtCaller Create(Dictionary<string, object> claims, Action<GrpcJwtAuthOptions>? configure = null, string? subject = "user-1")
    {
        var token = new TestTokenFactory(_time).Create(Key, subject: subject, claims: claims);
        return TestCallers.Create(token, _time, configure);
    }

    private static ClaimsPrincipal Principal(JwtCaller caller) => JwtCallPrincipal.For(caller);
}
