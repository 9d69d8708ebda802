using Grpc.Core;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Authorization;
using GrpcJwtAuth.Claims;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Issuers;
using GrpcJwtAuth.Keys;
using GrpcJwtAuth.Rules;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using GrpcJwtAuth.Tokens;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests.Server;

public class CallAuthorizerTests
{
    private const string Method = "/greet.Greeter/SayHello";

    private static readonly TestSigningKey Key = TestSigningKey.Ec("ec-1");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 2, 9, 30, 0, TimeSpan.Zero));
    private readonly FakeLogger<CallAuthorizer> _logger;
    private readonly TestTokenFactory _tokens;

    private ValidatedTokenCache Cache { get; set; } = null!;

    public CallAuthorizerTests()
    {
        _tokens = new TestTokenFactory(_time);
        _logger = new FakeLogger<CallAuthorizer>(new FakeLogCollector());
    }

    [Fact]
    public async Task AuthenticateAsync_ValidToken_SetsUserAndCallerFeature()
    {
        var token = _tokens.Create(Key, claims: new Dictionary<string, object> { ["roles"] = new[] { "reader" } });
        var context = Call("Bearer " + token);

        var failure = await Authenticate(Create(), context);

        Assert.Equal(AuthFailure.None, failure);
        var caller = Assert.IsType<JwtCaller>(context.GetJwtCaller());
        Assert.Same(caller, JwtCallPrincipal.CallerOf(context.HttpContext.User));
        Assert.True(context.HttpContext.User.IsInRole("reader"));
        Assert.Equal(GrpcJwtAuthDefaults.AuthenticationType, context.HttpContext.User.Identity?.AuthenticationType);
    }

    [Fact]
    public async Task AuthenticateAsync_TokenWithSurroundingSpaces_IsValidated()
    {
        var context = Call("  bearer   " + _tokens.Create(Key) + " ");

        Assert.Equal(AuthFailure.None, await Authenticate(Create(), context));
    }

    [Theory]
    [InlineData(null, "MissingAuthorization")]
    [InlineData("", "EmptyAuthorization")]
    [InlineData("Basic dXNlcjpwYXNz", "NotBearerScheme")]
    [InlineData("Bearer", "MissingBearerToken")]
    [InlineData("Bearer a b", "MalformedBearerValue")]
    [InlineData("Bearer not-a-jwt", "MalformedToken")]
    public async Task AuthenticateAsync_BadHeader_ReturnsTheParserOrValidatorReason(string? header, string expected)
    {
        var context = Call(header);

        var failure = await Authenticate(Create(), context);

        Assert.Equal(Enum.Parse<AuthFailure>(expected), failure);
        Assert.Null(context.GetJwtCaller());
        Assert.False(context.HttpContext.User.Identity?.IsAuthenticated ?? false);
    }

    [Fact]
    public async Task AuthenticateAsync_TwoAuthorizationHeaders_ReturnsMultipleAuthorization()
    {
        var context = Call(null);
        context.HttpContext.Request.Headers.Authorization = new(["Bearer " + _tokens.Create(Key), "Bearer " + _tokens.Create(Key)]);

        Assert.Equal(AuthFailure.MultipleAuthorization, await Authenticate(Create(), context));
    }

    [Fact]
    public async Task AuthenticateAsync_TokenOverMaxTokenLength_ReturnsTokenTooLarge()
    {
        var context = Call("Bearer " + new string('a', 1025));

        Assert.Equal(AuthFailure.TokenTooLarge, await Authenticate(Create(options => options.MaxTokenLength = 1024), context));
    }

    [Fact]
    public async Task AuthenticateAsync_AnonymousMethod_SkipsTheToken()
    {
        var context = Call("Bearer garbage!");

        var failure = await Authenticate(Create(options => options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/greet.", AllowAnonymous = true })), context);

        Assert.Equal(AuthFailure.None, failure);
        Assert.Null(context.GetJwtCaller());
    }

    [Fact]
    public async Task AuthenticateAsync_AnonymousMethodWithAValidToken_StillSeesTheCaller()
    {
        var context = Call("Bearer " + _tokens.Create(Key, subject: "alice"), new AllowAnonymousAttribute());

        Assert.Equal(AuthFailure.None, await Authenticate(Create(), context));

        Assert.Equal("alice", context.GetJwtCaller()?.Subject);
    }

    [Fact]
    public async Task AuthenticateAsync_SameTokenThrice_ThirdCallReusesTheCallerCachedByTheSecond()
    {
        // Admission: the first validation only records the token, the second caches it, the third is a hit.
        var authenticator = Create();
        var token = _tokens.Create(Key);
        var calls = new[] { Call("Bearer " + token), Call("Bearer " + token), Call("Bearer " + token) };

        foreach (var call in calls)
        {
            Assert.Equal(AuthFailure.None, await Authenticate(authenticator, call));
        }

        Assert.Equal(1, Cache.Count);
        Assert.NotSame(calls[0].GetJwtCaller(), calls[1].GetJwtCaller());
        Assert.Same(calls[1].GetJwtCaller(), calls[2].GetJwtCaller());
    }

    [Fact]
    public async Task AuthenticateAsync_RejectedTokens_AreNeverCached()
    {
        var authenticator = Create();
        var expired = _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(-5));
        var forged = _tokens.Create(TestSigningKey.Ec("ec-1"));

        Assert.Equal(AuthFailure.TokenExpired, await Authenticate(authenticator, Call("Bearer " + expired)));
        Assert.Equal(AuthFailure.InvalidSignature, await Authenticate(authenticator, Call("Bearer " + forged)));

        Assert.Equal(0, Cache.Count);
    }

    [Fact]
    public async Task AuthenticateAsync_CachedTokenLackingARole_IsDeniedEveryTime()
    {
        var authenticator = Create();
        var token = _tokens.Create(Key);

        for (var i = 0; i < 2; i++)
        {
            var context = Call("Bearer " + token, new AuthorizeAttribute { Roles = "admin" });
            Assert.Equal(AuthFailure.MissingRole, await Authenticate(authenticator, context));
        }

        Assert.Equal(1, Cache.Count);
    }

    [Fact]
    public async Task AuthenticateAsync_CachedTokenPastItsExpiry_IsRejectedAsExpired()
    {
        var authenticator = Create(options => options.ClockSkew = TimeSpan.FromSeconds(10));
        var token = _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1));
        Assert.Equal(AuthFailure.None, await Authenticate(authenticator, Call("Bearer " + token)));

        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(11));

        Assert.Equal(AuthFailure.TokenExpired, await Authenticate(authenticator, Call("Bearer " + token)));
    }

    [Fact]
    public async Task AuthenticateAsync_MissingRole_ReturnsMissingRoleWithoutSettingTheUser()
    {
        var context = Call("Bearer " + _tokens.Create(Key), new AuthorizeAttribute { Roles = "admin" });

        var failure = await Authenticate(Create(), context);

        Assert.Equal(AuthFailure.MissingRole, failure);
        Assert.Contains(_logger.Collector.GetSnapshot(), record => record.Id.Name == "CallDenied");
    }

    [Fact]
    public async Task AuthenticateAsync_Rejection_LogsTheReasonButNeverTheToken()
    {
        var token = _tokens.Create(Key, lifetime: TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(5));
        var context = Call("Bearer " + token);

        var failure = await Authenticate(Create(), context);

        Assert.Equal(AuthFailure.TokenExpired, failure);
        var record = Assert.Single(_logger.Collector.GetSnapshot(), entry => entry.Id.Name == "CallRejected");
        Assert.Equal(LogLevel.Debug, record.Level);
        Assert.Contains("token_expired", record.Message, StringComparison.Ordinal);
        Assert.Contains("ec-1", record.Message, StringComparison.Ordinal);
        AssertNoLogContains(token.Split('.')[1]);
        AssertNoLogContains(token.Split('.')[2]);
    }

    [Fact]
    public async Task AuthenticateAsync_LongKid_IsTruncatedInTheLog()
    {
        var kid = new string('k', 500);
        var context = Call("Bearer " + _tokens.Create(TestSigningKey.Ec(kid)));

        Assert.Equal(AuthFailure.SignatureKeyNotFound, await Authenticate(Create(), context));

        var record = Assert.Single(_logger.Collector.GetSnapshot(), entry => entry.Id.Name == "CallRejected");
        Assert.DoesNotContain(new string('k', 65), record.Message, StringComparison.Ordinal);
        Assert.Contains(new string('k', 64) + "…", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthenticateAsync_DebugDisabled_LogsNothing()
    {
        var logger = new FakeLogger<CallAuthorizer>(new FakeLogCollector(Microsoft.Extensions.Options.Options.Create(new FakeLogCollectorOptions())));
        logger.ControlLevel(LogLevel.Debug, enabled: false);
        var context = Call(null);

        Assert.Equal(AuthFailure.MissingAuthorization, await Authenticate(Create(logger: logger), context));
        Assert.Empty(logger.Collector.GetSnapshot());
    }

    private static TestServerCallContext Call(string? authorization, params object[] metadata)
    {
        return new TestServerCallContext(Method, TestEndpoints.Request(Method, authorization, metadata));
    }

    private static async Task<AuthFailure> Authenticate(CallAuthorizer authorizer, TestServerCallContext context) =>
        (await authorizer.AuthorizeAsync(context, resource: null).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Failure;

    private CallAuthorizer Create(Action<GrpcJwtAuthOptions>? configure = null, ILogger<CallAuthorizer>? logger = null)
    {
        var options = new GrpcJwtAuthOptions();
        options.StaticKeys.Add(Key.ToStaticKey());
        options.Issuers.Add(TestTokenFactory.DefaultIssuer);
        options.Audiences.Add(TestTokenFactory.DefaultAudience);
        configure?.Invoke(options);

        var compiled = CompiledAuthOptions.Create(options, _time);
        var keys = new SigningKeyManager(compiled.Issuers[0], null, _time, NullLogger<SigningKeyManager>.Instance);
        var validator = new JwtTokenValidator(new TrustedIssuers([keys], compiled.ValidateIssuer), compiled);
        var endpoints = new EndpointAuthorizationProvider(compiled, NullLogger<EndpointAuthorizationProvider>.Instance);
        Cache = new ValidatedTokenCache(compiled, _time);
        return new CallAuthorizer(compiled, endpoints, new TokenAuthenticator(compiled, validator, Cache), logger ?? _logger);
    }

    private void AssertNoLogContains(string secret)
    {
        Assert.All(_logger.Collector.GetSnapshot(), record => Assert.DoesNotContain(secret, record.Message, StringComparison.Ordinal));
    }
}
