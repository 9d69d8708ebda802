using System.Security.Cryptography;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.Tests.Configuration;

public class GrpcJwtAuthOptionsValidatorTests
{
    private static readonly string RsaPem = RSA.Create(2048).ExportSubjectPublicKeyInfoPem();

    public static TheoryData<string, Action<GrpcJwtAuthOptions>, string> InvalidOptions() => new()
    {
        {
            "no key source",
            options => options.StaticKeys.Clear(),
            "No signing key source is configured; set GrpcJwtAuth:Authority, GrpcJwtAuth:MetadataAddress, GrpcJwtAuth:JwksUri or GrpcJwtAuth:StaticKeys, or name issuers under GrpcJwtAuth:TrustedIssuers."
        },
        {
            "JwksUri with Authority",
            options =>
            {
                options.StaticKeys.Clear();
                options.Authority = "https://issuer.test";
                options.JwksUri = "https://issuer.test/keys";
            },
            "GrpcJwtAuth:JwksUri cannot be combined with GrpcJwtAuth:Authority or GrpcJwtAuth:MetadataAddress"
        },
        {
            "JwksUri with MetadataAddress",
            options =>
            {
                options.StaticKeys.Clear();
                options.MetadataAddress = "https://issuer.test/.well-known/openid-configuration";
                options.JwksUri = "https://issuer.test/keys";
            },
            "GrpcJwtAuth:JwksUri cannot be combined"
        },
        {
            "http JwksUri",
            options => RemoteOnly(options).JwksUri = "http://issuer.test/keys",
            "GrpcJwtAuth:JwksUri 'http://issuer.test/keys' does not use HTTPS; use an https address, or set GrpcJwtAuth:RequireHttpsMetadata=false (development only)."
        },
        {
            "http Authority",
            options => RemoteOnly(options).Authority = "http://issuer.test",
            "GrpcJwtAuth:Authority 'http://issuer.test' does not use HTTPS"
        },
        {
            "http MetadataAddress",
            options => RemoteOnly(options).MetadataAddress = "http://issuer.test/.well-known/openid-configuration",
            "GrpcJwtAuth:MetadataAddress 'http://issuer.test/.well-known/openid-configuration' does not use HTTPS"
        },
        {
            "relative JwksUri",
            options => RemoteOnly(options).JwksUri = "/keys",
            "GrpcJwtAuth:JwksUri '/keys' is not an absolute http(s) address."
        },
        {
            "JwksUri not a URL",
            options => RemoteOnly(options).JwksUri = "issuer keys",
            "GrpcJwtAuth:JwksUri 'issuer keys' is not an absolute http(s) address."
        },
        {
            "ftp Authority",
            options => RemoteOnly(options).Authority = "ftp://issuer.test",
            "GrpcJwtAuth:Authority 'ftp://issuer.test' is not an absolute http(s) address."
        },
        {
            "no audiences",
            options => options.Audiences.Clear(),
            "GrpcJwtAuth:Audiences is empty; set it or set GrpcJwtAuth:ValidateAudience=false."
        },
        {
            "blank audience",
            options => options.Audiences.Add(" "),
            "GrpcJwtAuth:Audiences:1 is empty."
        },
        {
            "no issuers without discovery",
            options => options.Issuers.Clear(),
            "GrpcJwtAuth:Issuers is empty; set it, use GrpcJwtAuth:Authority (whose discovery document names the issuer), or set GrpcJwtAuth:ValidateIssuer=false."
        },
        {
            "no issuers with a JWKS address",
            options =>
            {
                RemoteOnly(options).Issuers.Clear();
                options.JwksUri = "https://issuer.test/keys";
            },
            "GrpcJwtAuth:Issuers is empty"
        },
        {
            "static key without an issuer next to Authority",
            options => options.Authority = "https://idp.test",
            "GrpcJwtAuth:StaticKeys:0:Issuer is empty; a static key next to GrpcJwtAuth:Authority must name the issuer (iss) it signs for, so that it can never sign tokens for the identity provider."
        },
        {
            "static key without an issuer next to a JWKS address",
            options => options.JwksUri = "https://idp.test/keys",
            "GrpcJwtAuth:StaticKeys:0:Issuer is empty; a static key next to GrpcJwtAuth:JwksUri must name"
        },
        {
            "static key without an issuer next to MetadataAddress",
            options => options.MetadataAddress = "https://idp.test/.well-known/openid-configuration",
            "GrpcJwtAuth:StaticKeys:0:Issuer is empty; a static key next to GrpcJwtAuth:MetadataAddress must name"
        },
        {
            "static key signing for the discovery issuer",
            options =>
            {
                options.Authority = "https://idp.test";
                options.StaticKeys[0].Issuer = "https://idp.test/";
            },
            "GrpcJwtAuth:StaticKeys:0:Issuer 'https://idp.test/' is the issuer of GrpcJwtAuth:Authority, whose keys come from that endpoint only; a static key must sign for an issuer of its own."
        },
        {
            "static key signing for a JWKS issuer",
            options =>
            {
                options.JwksUri = "https://idp.test/keys";
                options.StaticKeys[0].Issuer = TestTokenFactory.DefaultIssuer;
            },
            "GrpcJwtAuth:StaticKeys:0:Issuer 'https://issuer.test' is the issuer of GrpcJwtAuth:JwksUri"
        },
        {
            "blank static key issuer",
            options => options.StaticKeys[0].Issuer = " ",
            "GrpcJwtAuth:StaticKeys:0:Issuer is blank; remove it (the key then signs for GrpcJwtAuth:Issuers) or set the iss this key signs for."
        },
        {
            "ValidateIssuer=false with keys of two issuers",
            options =>
            {
                options.Issuers.Clear();
                options.ValidateIssuer = false;
                options.StaticKeys[0].Issuer = "https://a.test";
                options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = RsaPem, Issuer = "https://b.test" });
            },
            "GrpcJwtAuth:ValidateIssuer is false, but keys belong to more than one issuer"
        },
        {
            "ValidateIssuer=false with a key endpoint and a static issuer",
            options =>
            {
                options.Issuers.Clear();
                options.ValidateIssuer = false;
                options.Authority = "https://idp.test";
                options.StaticKeys[0].Issuer = "https://services.test";
            },
            "GrpcJwtAuth:ValidateIssuer is false, but keys belong to more than one issuer"
        },
        {
            "Issuers no key signs for",
            options => options.StaticKeys[0].Issuer = "https://services.test",
            "GrpcJwtAuth:Issuers lists issuers no key signs for"
        },
        {
            "MetadataAddress the issuer cannot be derived from",
            options =>
            {
                RemoteOnly(options).Issuers.Clear();
                options.MetadataAddress = "https://idp.test/metadata?p=b2c_1_signin";
            },
            "GrpcJwtAuth:MetadataAddress does not end with /.well-known/openid-configuration, so the issuer its document must name cannot be derived from it; set GrpcJwtAuth:Issuers to that issuer."
        },
        {
            "static EC key on a curve JWS does not use",
            options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = ECDsa.Create(ECCurve.CreateFromFriendlyName("secP256k1")).ExportSubjectPublicKeyInfoPem() }),
            "GrpcJwtAuth:StaticKeys:1 is an EC key on a curve JWS does not use; use P-256, P-384 or P-521 (ES256, ES384, ES512)."
        },
        {
            "blank issuer",
            options => options.Issuers.Insert(0, ""),
            "GrpcJwtAuth:Issuers:0 is empty."
        },
        {
            "none in ValidAlgorithms",
            options => options.ValidAlgorithms.Add("none"),
            "GrpcJwtAuth:ValidAlgorithms lists 'none'; unsigned tokens are never accepted."
        },
        {
            "None in ValidAlgorithms",
            options => options.ValidAlgorithms.Add("None"),
            "GrpcJwtAuth:ValidAlgorithms lists 'none'"
        },
        {
            "HS256 without a symmetric key",
            options => options.ValidAlgorithms.Add("HS256"),
            "GrpcJwtAuth:ValidAlgorithms lists 'HS256' but no symmetric key is configured; HMAC algorithms need a GrpcJwtAuth:StaticKeys entry with SymmetricSecret."
        },
        {
            "unknown algorithm",
            options => options.ValidAlgorithms.Add("RS1024"),
            "GrpcJwtAuth:ValidAlgorithms lists 'RS1024', which is not a supported JWS algorithm"
        },
        {
            "lower-case algorithm",
            options => options.ValidAlgorithms.Add("rs256"),
            "GrpcJwtAuth:ValidAlgorithms lists 'rs256', which is not a supported JWS algorithm"
        },
        {
            "negative clock skew",
            options => options.ClockSkew = TimeSpan.FromSeconds(-1),
            "GrpcJwtAuth:ClockSkew is -00:00:01; it must be between 00:00:00 and 00:10:00."
        },
        {
            "clock skew over ten minutes",
            options => options.ClockSkew = TimeSpan.FromMinutes(11),
            "GrpcJwtAuth:ClockSkew is 00:11:00"
        },
        {
            "minimum refresh interval under a second",
            options => options.JwksMinimumRefreshInterval = TimeSpan.FromMilliseconds(999),
            "GrpcJwtAuth:JwksMinimumRefreshInterval is 00:00:00.9990000; it must be at least 00:00:01."
        },
        {
            "automatic interval shorter than minimum",
            options =>
            {
                options.JwksMinimumRefreshInterval = TimeSpan.FromMinutes(10);
                options.JwksAutomaticRefreshInterval = TimeSpan.FromMinutes(9);
            },
            "GrpcJwtAuth:JwksAutomaticRefreshInterval (00:09:00) must not be shorter than GrpcJwtAuth:JwksMinimumRefreshInterval (00:10:00)."
        },
        {
            "zero fetch timeout",
            options => options.KeyFetchTimeout = TimeSpan.Zero,
            "GrpcJwtAuth:KeyFetchTimeout is 00:00:00; it must be positive."
        },
        {
            "negative refresh wait",
            options => options.KeyRefreshWaitTimeout = TimeSpan.FromSeconds(-1),
            "GrpcJwtAuth:KeyRefreshWaitTimeout is -00:00:01; it must not be negative."
        },
        {
            "MaxKeyDocumentBytes too small",
            options => options.MaxKeyDocumentBytes = 4095,
            "GrpcJwtAuth:MaxKeyDocumentBytes is 4095; it must be between 4096 and 10485760."
        },
        {
            "MaxKeyDocumentBytes too large",
            options => options.MaxKeyDocumentBytes = 10 * 1024 * 1024 + 1,
            "GrpcJwtAuth:MaxKeyDocumentBytes is 10485761; it must be between 4096 and 10485760."
        },
        {
            "MaxTokenLength too small",
            options => options.MaxTokenLength = 1023,
            "GrpcJwtAuth:MaxTokenLength is 1023; it must be between 1024 and 1048576."
        },
        {
            "MaxTokenLength too large",
            options => options.MaxTokenLength = 1024 * 1024 + 1,
            "GrpcJwtAuth:MaxTokenLength is 1048577; it must be between 1024 and 1048576."
        },
        {
            "rule with empty prefix",
            options => options.Rules.Add(new GrpcJwtAuthRule()),
            "GrpcJwtAuth:Rules:0:Prefix is empty; set a method-path prefix such as '/' or '/package.Service/'."
        },
        {
            "rule prefix without leading slash",
            options => options.Rules.Add(new GrpcJwtAuthRule { Prefix = "greet.Greeter/" }),
            "GrpcJwtAuth:Rules:0:Prefix 'greet.Greeter/' must start with '/' and contain no whitespace, as in '/package.Service/Method'."
        },
        {
            "rule prefix with whitespace",
            options => options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/ SayHello" }),
            "GrpcJwtAuth:Rules:0:Prefix '/greet.Greeter/ SayHello' must start with '/' and contain no whitespace"
        },
        {
            "duplicate rule prefix",
            options =>
            {
                options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/" });
                options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/greet.Greeter/" });
            },
            "GrpcJwtAuth:Rules:1:Prefix '/greet.Greeter/' is listed by an earlier rule too; merge the two."
        },
        {
            "AllowAnonymous with Roles",
            options =>
            {
                var rule = new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true };
                rule.Roles.Add("admin");
                options.Rules.Add(rule);
            },
            "GrpcJwtAuth:Rules:0 sets AllowAnonymous together with Roles, Scopes, Policies or Issuers; anonymous callers pass none. Remove one."
        },
        {
            "AllowAnonymous with Scopes",
            options =>
            {
                var rule = new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true };
                rule.Scopes.Add("greet.read");
                options.Rules.Add(rule);
            },
            "GrpcJwtAuth:Rules:0 sets AllowAnonymous together with Roles, Scopes, Policies or Issuers"
        },
        {
            "AllowAnonymous with Policies",
            options =>
            {
                var rule = new GrpcJwtAuthRule { Prefix = "/", AllowAnonymous = true };
                rule.Policies.Add("admins");
                options.Rules.Add(rule);
            },
            "GrpcJwtAuth:Rules:0 sets AllowAnonymous together with Roles, Scopes, Policies or Issuers"
        },
        {
            "blank policy",
            options =>
            {
                var rule = new GrpcJwtAuthRule { Prefix = "/" };
                rule.Policies.Add(" ");
                options.Rules.Add(rule);
            },
            "GrpcJwtAuth:Rules:0:Policies:0 is empty."
        },
        {
            "events type that is no GrpcJwtAuthEvents",
            options => options.EventsType = typeof(string),
            "GrpcJwtAuth:EventsType is System.String, which does not derive from GrpcJwtAuthEvents."
        },
        {
            "blank role",
            options =>
            {
                var rule = new GrpcJwtAuthRule { Prefix = "/" };
                rule.Roles.Add("admin");
                rule.Roles.Add("  ");
                options.Rules.Add(rule);
            },
            "GrpcJwtAuth:Rules:0:Roles:1 is empty."
        },
        {
            "blank scope",
            options =>
            {
                var rule = new GrpcJwtAuthRule { Prefix = "/" };
                rule.Scopes.Add("");
                options.Rules.Add(rule);
            },
            "GrpcJwtAuth:Rules:0:Scopes:0 is empty."
        },
        {
            "null rule",
            options => options.Rules.Add(null!),
            "GrpcJwtAuth:Rules:0 is empty."
        },
        {
            "blank token type",
            options => options.ValidTypes.Add(" "),
            "GrpcJwtAuth:ValidTypes:0 is empty."
        },
        {
            "token type of another top-level media type",
            options => options.ValidTypes.Add("text/plain"),
            "GrpcJwtAuth:ValidTypes:0 'text/plain' is not a JWT type; use a value such as 'at+jwt' or 'application/at+jwt'."
        },
        {
            "blank role claim type",
            options => options.RoleClaimTypes.Add(""),
            "GrpcJwtAuth:RoleClaimTypes:0 is empty."
        },
        {
            "blank scope claim type",
            options => options.ScopeClaimTypes.Add(" "),
            "GrpcJwtAuth:ScopeClaimTypes:0 is empty."
        },
        {
            "bad static key",
            options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = "not a pem" }),
            "GrpcJwtAuth:StaticKeys:1 holds no PEM block."
        },
        {
            "static private key",
            options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = RSA.Create(2048).ExportPkcs8PrivateKeyPem() }),
            "GrpcJwtAuth:StaticKeys:1 holds a private key; configure the public key (PUBLIC KEY or CERTIFICATE) instead."
        },
        {
            "static key with two sources",
            options => options.StaticKeys[0].SymmetricSecret = Convert.ToBase64String(new byte[32]),
            "GrpcJwtAuth:StaticKeys:0 must set exactly one of Pem, PemFile and SymmetricSecret."
        },
        {
            "short static secret",
            options => options.StaticKeys.Add(new GrpcJwtAuthStaticKey { SymmetricSecret = Convert.ToBase64String(new byte[16]) }),
            "GrpcJwtAuth:StaticKeys:1:SymmetricSecret is 16 bytes; HMAC secrets need at least 32 bytes."
        },
        {
            "StreamRenewalsPerMinute 0",
            options => options.StreamRenewalsPerMinute = 0,
            "GrpcJwtAuth:StreamRenewalsPerMinute is 0; it must be between 1 and 600."
        },
        {
            "StreamRenewalsPerMinute 601",
            options => options.StreamRenewalsPerMinute = 601,
            "GrpcJwtAuth:StreamRenewalsPerMinute is 601; it must be between 1 and 600."
        },
        {
            "StreamRenewalsPerMinute -1",
            options => options.StreamRenewalsPerMinute = -1,
            "GrpcJwtAuth:StreamRenewalsPerMinute is -1; it must be between 1 and 600."
        },
        {
            "MaxRenewableStreams -1",
            options => options.MaxRenewableStreams = -1,
            "GrpcJwtAuth:MaxRenewableStreams is -1; it must be between 0 (no stream is renewable) and 10000000."
        },
        {
            "MaxRenewableStreams 10000001",
            options => options.MaxRenewableStreams = 10_000_001,
            "GrpcJwtAuth:MaxRenewableStreams is 10000001; it must be between 0 (no stream is renewable) and 10000000."
        },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Validate_InvalidOptions_EnsureValidationErrors(string description, Action<GrpcJwtAuthOptions> change, string expected)
    {
        var options = ValidOptions();
        change(options);

        var result = new GrpcJwtAuthOptionsValidator().Validate(null, options);

        Assert.True(result.Failed, description);
        var failure = Assert.Single(result.Failures!);
        Assert.True(failure.StartsWith(expected, StringComparison.Ordinal), $"{description}: expected '{expected}', got '{failure}'.");
        Assert.Contains("GrpcJwtAuth:", failure, StringComparison.Ordinal);
    }

    public static TheoryData<string, Action<GrpcJwtAuthOptions>, string> InvalidTrustedIssuers() => new()
    {
        {
            "the same iss in two issuers",
            options => Named(options, "users", issuer => issuer.Issuers.Add(TestTokenFactory.DefaultIssuer)),
            "GrpcJwtAuth:TrustedIssuers:users:Issuers:0 'https://issuer.test' is also accepted by GrpcJwtAuth:Issuers:0"
        },
        {
            "an issuer without keys",
            options => options.TrustedIssuers["users"] = new GrpcJwtAuthIssuerOptions { Issuers = { "https://users.test" } },
            "GrpcJwtAuth:TrustedIssuers:users has no signing key source"
        },
        {
            "overlapping templates",
            options =>
            {
                Named(options, "a", issuer => { issuer.IssuerTemplate = "https://login.test/{tenantid}"; issuer.Tenants.Add("x"); });
                Named(options, "b", issuer => { issuer.IssuerTemplate = "https://login.test/t{tenantid}"; issuer.Tenants.Add("y"); });
            },
            "GrpcJwtAuth:TrustedIssuers:b:IssuerTemplate 'https://login.test/t{tenantid}' overlaps GrpcJwtAuth:TrustedIssuers:a:IssuerTemplate"
        },
        {
            "an exact iss a template also matches",
            options => Named(options, "a", issuer => { issuer.IssuerTemplate = "https://issuer.{tenantid}"; issuer.Tenants.Add("x"); }),
            "GrpcJwtAuth:Issuers:0 'https://issuer.test' also matches GrpcJwtAuth:TrustedIssuers:a:IssuerTemplate"
        },
        {
            "a template without tenants",
            options => Named(options, "a", issuer => issuer.IssuerTemplate = "https://login.test/{tenantid}/v2.0"),
            "GrpcJwtAuth:TrustedIssuers:a:Tenants is empty"
        },
        {
            "a template without its placeholder",
            options => Named(options, "a", issuer => { issuer.IssuerTemplate = "https://login.test/v2.0"; issuer.Tenants.Add("x"); }),
            "GrpcJwtAuth:TrustedIssuers:a:IssuerTemplate 'https://login.test/v2.0' must be an absolute address with {tenantid} exactly once."
        },
        {
            "a tenant id with a slash",
            options => Named(options, "a", issuer => { issuer.IssuerTemplate = "https://login.test/{tenantid}"; issuer.Tenants.Add("x/y"); }),
            "GrpcJwtAuth:TrustedIssuers:a:Tenants:0 'x/y' is not a tenant id"
        },
        {
            "tenants checked in code with keys fetched per tenant",
            options => options.TrustedIssuers["a"] = new GrpcJwtAuthIssuerOptions
            {
                IssuerTemplate = "https://login.test/{tenantid}", JwksUri = "https://keys.test/{tenantid}/jwks", Tenants = { "x" }, TenantValidator = _ => true,
            },
            "GrpcJwtAuth:TrustedIssuers:a fetches keys per tenant"
        },
        {
            "the name default",
            options => Named(options, "Default", issuer => issuer.Issuers.Add("https://users.test")),
            "GrpcJwtAuth:TrustedIssuers:Default: the name 'default' is the top-level settings' own"
        },
        {
            "a static key naming another issuer's iss",
            options => options.TrustedIssuers["a"] = new GrpcJwtAuthIssuerOptions
            {
                Issuers = { "https://a.test" }, StaticKeys = { new GrpcJwtAuthStaticKey { Pem = RsaPem, Issuer = "https://b.test" } },
            },
            "GrpcJwtAuth:TrustedIssuers:a:StaticKeys:0:Issuer 'https://b.test' is not one of GrpcJwtAuth:TrustedIssuers:a:Issuers"
        },
        {
            "a rule requiring an issuer that does not exist",
            options => options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/", Issuers = { "users" } }),
            "GrpcJwtAuth:Rules:0:Issuers:0 'users' names no trusted issuer; use one of: default."
        },
        {
            "a named issuer's own bad clock skew",
            options => Named(options, "a", issuer => { issuer.Issuers.Add("https://a.test"); issuer.ClockSkew = TimeSpan.FromHours(1); }),
            "GrpcJwtAuth:TrustedIssuers:a:ClockSkew is 01:00:00"
        },
        {
            "no audience anywhere",
            options =>
            {
                options.Audiences.Clear();
                options.StaticKeys.Clear();
                options.Issuers.Clear();
                Named(options, "a", issuer => issuer.Issuers.Add("https://a.test"));
            },
            "GrpcJwtAuth:TrustedIssuers:a:Audiences is empty, and so is GrpcJwtAuth:Audiences"
        },
    };

    [Theory]
    [MemberData(nameof(InvalidTrustedIssuers))]
    public void Validate_InvalidTrustedIssuers_EnsureValidationErrors(string description, Action<GrpcJwtAuthOptions> change, string expected) =>
        Validate_InvalidOptions_EnsureValidationErrors(description, change, expected);

    [Fact]
    public void Validate_TrustedIssuersBesideTheTopLevel_AreValid()
    {
        var options = ValidOptions();
        options.TrustedIssuers["users"] = new GrpcJwtAuthIssuerOptions { Authority = "https://users.test" };
        Named(options, "workloads", issuer => { issuer.Issuers.Add("spiffe://workloads.test"); issuer.RoleClaimTypes.Add("groups"); });
        options.TrustedIssuers["entra"] = new GrpcJwtAuthIssuerOptions
        {
            IssuerTemplate = "https://login.microsoftonline.com/{tenantid}/v2.0",
            JwksUri = "https://login.microsoftonline.com/common/discovery/v2.0/keys",
            TenantValidator = tenant => tenant.Length == 36,
        };
        options.TrustedIssuers["partner"] = new GrpcJwtAuthIssuerOptions
        {
            IssuerTemplate = "https://partner.test/{tenantid}",
            Authority = "https://partner.test/{tenantid}",
            Tenants = { "a", "b" },
        };
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/", Issuers = { "USERS", "default", "entra" } });

        var result = new GrpcJwtAuthOptionsValidator().Validate(null, options);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    /// <summary>Adds a named issuer with a JWKS address (its key source) and whatever <paramref name="configure"/> sets.</summary>
    private static void Named(GrpcJwtAuthOptions options, string name, Action<GrpcJwtAuthIssuerOptions> configure)
    {
        var issuer = new GrpcJwtAuthIssuerOptions { JwksUri = $"https://{name.ToLowerInvariant()}.keys.test/jwks" };
        configure(issuer);
        options.TrustedIssuers[name] = issuer;
    }

    public static TheoryData<string, Action<GrpcJwtAuthOptions>> ValidVariants() => new()
    {
        { "as given", _ => { } },
        {
            "http JwksUri with RequireHttpsMetadata=false",
            options =>
            {
                RemoteOnly(options).JwksUri = "http://localhost:5001/keys";
                options.RequireHttpsMetadata = false;
            }
        },
        {
            "http Authority with RequireHttpsMetadata=false",
            options =>
            {
                RemoteOnly(options).Authority = "http://localhost:5001";
                options.RequireHttpsMetadata = false;
            }
        },
        {
            "JWKS only",
            options =>
            {
                options.StaticKeys.Clear();
                options.JwksUri = "https://issuer.test/keys";
            }
        },
        {
            "Authority with a static key of another issuer",
            options =>
            {
                options.Issuers.Clear();
                options.Authority = "https://idp.test";
                options.StaticKeys[0].Issuer = "https://services.test";
            }
        },
        {
            "static keys of two issuers and none for the top level",
            options =>
            {
                options.Issuers.Clear();
                options.StaticKeys[0].Issuer = "https://a.test";
                options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = RsaPem, Issuer = "https://b.test" });
            }
        },
        {
            "static key naming a top-level issuer without a key endpoint",
            options => options.StaticKeys[0].Issuer = TestTokenFactory.DefaultIssuer
        },
        {
            "MetadataAddress without the well-known suffix, with Issuers",
            options => RemoteOnly(options).MetadataAddress = "https://idp.test/metadata?p=b2c_1_signin"
        },
        {
            "no audiences with ValidateAudience=false",
            options =>
            {
                options.Audiences.Clear();
                options.ValidateAudience = false;
            }
        },
        {
            "no issuers with Authority",
            options =>
            {
                RemoteOnly(options).Issuers.Clear();
                options.Authority = "https://issuer.test";
            }
        },
        {
            "no issuers with MetadataAddress",
            options =>
            {
                RemoteOnly(options).Issuers.Clear();
                options.MetadataAddress = "https://issuer.test/.well-known/openid-configuration";
            }
        },
        {
            "no issuers with ValidateIssuer=false",
            options =>
            {
                options.Issuers.Clear();
                options.ValidateIssuer = false;
            }
        },
        {
            "HS256 with a symmetric key",
            options =>
            {
                options.StaticKeys.Add(new GrpcJwtAuthStaticKey { SymmetricSecret = Convert.ToBase64String(new byte[32]) });
                options.ValidAlgorithms.Add("HS256");
                options.ValidAlgorithms.Add("RS256");
            }
        },
        {
            "every asymmetric algorithm",
            options =>
            {
                foreach (var algorithm in CompiledAuthOptions.DefaultAsymmetricAlgorithms)
                {
                    options.ValidAlgorithms.Add(algorithm);
                }
            }
        },
        {
            "limits at their bounds",
            options =>
            {
                options.ClockSkew = TimeSpan.FromMinutes(10);
                options.JwksMinimumRefreshInterval = TimeSpan.FromSeconds(1);
                options.JwksAutomaticRefreshInterval = TimeSpan.FromSeconds(1);
                options.KeyRefreshWaitTimeout = TimeSpan.Zero;
                options.MaxTokenLength = 1024;
                options.MaxKeyDocumentBytes = 4096;
            }
        },
        { "zero clock skew", options => options.ClockSkew = TimeSpan.Zero },
        {
            "token types",
            options =>
            {
                options.ValidTypes.Add("at+jwt");
                options.ValidTypes.Add("application/JWT");
                options.RequireTokenType = true;
            }
        },
        { "largest MaxTokenLength", options => options.MaxTokenLength = 1024 * 1024 },
        { "largest MaxKeyDocumentBytes", options => options.MaxKeyDocumentBytes = 10 * 1024 * 1024 },
        {
            "stream renewal defaults",
            options =>
            {
                options.StreamRenewalsPerMinute = 6;
                options.MaxRenewableStreams = 100_000;
            }
        },
        {
            "stream renewal limits at their lower bounds",
            options =>
            {
                options.StreamRenewalsPerMinute = 1;
                options.MaxRenewableStreams = 0;
            }
        },
        {
            "stream renewal limits at their upper bounds",
            options =>
            {
                options.StreamRenewalsPerMinute = 600;
                options.MaxRenewableStreams = 10_000_000;
            }
        },
        {
            "rules",
            options =>
            {
                options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/" });
                options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/grpc.health.v1.Health/", AllowAnonymous = true });
                var admin = new GrpcJwtAuthRule { Prefix = "/greet.Greeter/Admin" };
                admin.Roles.Add("admin");
                admin.Scopes.Add("greet.admin");
                options.Rules.Add(admin);
            }
        },
    };

    [Theory]
    [MemberData(nameof(ValidVariants))]
    public void Validate_ValidOptions_Succeeds(string description, Action<GrpcJwtAuthOptions> change)
    {
        var options = ValidOptions();
        change(options);

        var result = new GrpcJwtAuthOptionsValidator().Validate(null, options);

        Assert.True(result.Succeeded, $"{description}: {result.FailureMessage}");
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsEveryOne()
    {
        var options = new GrpcJwtAuthOptions
        {
            JwksUri = "http://issuer.test/keys",
            ClockSkew = TimeSpan.FromMinutes(-1),
            MaxTokenLength = 10,
        };
        options.ValidAlgorithms.Add("none");
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey());
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "greet" });

        var result = new GrpcJwtAuthOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        string[] expected =
        [
            "GrpcJwtAuth:JwksUri 'http://issuer.test/keys' does not use HTTPS",
            "GrpcJwtAuth:StaticKeys:0 must set exactly one of",
            "GrpcJwtAuth:StaticKeys:0:Issuer is empty",
            "GrpcJwtAuth:Issuers is empty",
            "GrpcJwtAuth:Audiences is empty",
            "GrpcJwtAuth:ValidAlgorithms lists 'none'",
            "GrpcJwtAuth:ClockSkew is -00:01:00",
            "GrpcJwtAuth:MaxTokenLength is 10",
            "GrpcJwtAuth:Rules:0:Prefix 'greet' must start with '/'",
        ];
        Assert.Equal(expected.Length, result.Failures!.Count());
        foreach (var start in expected)
        {
            Assert.Contains(result.Failures!, failure => failure.StartsWith(start, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Validate_BadSecrets_ErrorsNeverEchoThem()
    {
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var options = ValidOptions();
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { SymmetricSecret = secret });
        var privatePem = RSA.Create(2048).ExportPkcs8PrivateKeyPem();
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { Pem = privatePem });

        var result = new GrpcJwtAuthOptionsValidator().Validate(null, options);

        Assert.Equal(2, result.Failures!.Count());
        Assert.DoesNotContain(secret, result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(privatePem.Split('\n')[1], result.FailureMessage, StringComparison.Ordinal);
    }

    /// <summary>Drops the static keys, so that a key endpoint the case adds is the only key source.</summary>
    private static GrpcJwtAuthOptions RemoteOnly(GrpcJwtAuthOptions options)
    {
        options.StaticKeys.Clear();
        return options;
    }

    private static GrpcJwtAuthOptions ValidOptions()
    {
        var options = new GrpcJwtAuthOptions();
        options.StaticKeys.Add(new GrpcJwtAuthStaticKey { KeyId = "rsa-1", Pem = RsaPem });
        options.Issuers.Add(TestTokenFactory.DefaultIssuer);
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        return options;
    }
}
