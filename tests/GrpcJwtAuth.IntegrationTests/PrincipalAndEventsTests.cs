using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.IntegrationTests.Protos;
using GrpcJwtAuth.IntegrationTests.Services;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.IntegrationTests;

/// <summary>
/// Each call's own principal (what a handler, an <see cref="IClaimsTransformation"/> or an event adds reaches no other
/// call that sends the same token, also once the token is served from the validated-token cache), the caller of an
/// anonymous method, and GrpcJwtAuth's events.
/// </summary>
public class PrincipalAndEventsTests : IntegrationTest
{
    /// <summary>
    /// Enough calls with one token for the validated-token cache to serve it: it admits a token on its second
    /// validation, so calls from the third on are cache hits.
    /// </summary>
    private const int CallsPastTheCache = 4;

    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    private static string AcmeToken(string subject = "alice") => Tokens.Create(
        TestKeys.Primary, subject: subject, claims: new Dictionary<string, object> { [OwnTenant.ClaimType] = "acme" });

    /// <summary>A server with the <see cref="OrdersService"/> (and its own-tenant policy) next to Probe and Attributed.</summary>
    private Task<GrpcTestServer> StartOrdersServerAsync(
        Action<GrpcJwtAuthOptions>? configure = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<GrpcServiceEndpointConventionBuilder>? probeConventions = null) =>
        StartServerAsync(
            options =>
            {
                TestKeys.StaticOptions(TestKeys.Primary)(options);
                configure?.Invoke(options);
            },
            probeConventions: probeConventions,
            configureBuilder: builder =>
            {
                OwnTenant.Register(builder.Services);
                configureBuilder?.Invoke(builder);
            },
            configureApp: app => app.MapGrpcService<OrdersService>());

    private static IEnumerable<string> ValuesOf(OrderReply reply, string claimType) =>
        reply.Claims.Where(claim => claim.StartsWith(claimType + "=", StringComparison.Ordinal)).Select(claim => claim[(claimType.Length + 1)..]);

    [Fact]
    public async Task Claims_and_identities_a_handler_adds_never_reach_another_call_with_the_same_token()
    {
        var server = await StartOrdersServerAsync();
        var orders = new Orders.OrdersClient(server.Channel);
        var token = AcmeToken();

        var replies = new List<OrderReply>();
        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            replies.Add(await orders.CallGetOrderAsync(Auth.Bearer(token), "acme", $"o-{call}", addClaim: $"call-{call}"));
        }

        var plain = await orders.CallGetOrderAsync(Auth.Bearer(token), "acme", "o-plain");

        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            var reply = replies[call - 1];
            Assert.Equal([$"call-{call}"], ValuesOf(reply, "added"));
            Assert.Equal([$"call-{call}"], ValuesOf(reply, "added-identity"));
            Assert.Equal(2, reply.Identities);
            Assert.Equal("alice", reply.Subject);
        }

        Assert.Empty(ValuesOf(plain, "added"));
        Assert.Empty(ValuesOf(plain, "added-identity"));
        Assert.Equal(1, plain.Identities);
        Assert.Equal("acme", plain.CallerTenant);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Claims_transformation_runs_once_per_call_and_its_claims_reach_that_call_only(bool clone)
    {
        var transformation = new StampingTransformation(clone);
        var server = await StartOrdersServerAsync(
            configureBuilder: builder => builder.Services.AddSingleton<IClaimsTransformation>(transformation));
        var orders = new Orders.OrdersClient(server.Channel);
        var token = AcmeToken();

        var stamps = new List<string[]>();
        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            var reply = await orders.CallGetOrderAsync(Auth.Bearer(token), "acme", $"o-{call}");
            stamps.Add([.. ValuesOf(reply, "stamp")]);
            Assert.Equal(call, transformation.Invocations);
        }

        Assert.Equal(Enumerable.Range(1, CallsPastTheCache).Select(call => new[] { call.ToString(CultureInfo.InvariantCulture) }), stamps);
        Assert.All(transformation.StampsSeenOnEntry, seen => Assert.Equal(0, seen));
    }

    [Fact]
    public async Task Claims_transformation_runs_once_per_streaming_call_and_every_message_sees_its_claim()
    {
        var transformation = new StampingTransformation(clone: false);
        var server = await StartOrdersServerAsync(
            configureBuilder: builder => builder.Services.AddSingleton<IClaimsTransformation>(transformation));
        var orders = new Orders.OrdersClient(server.Channel);
        var token = AcmeToken();

        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            var replies = await orders.CallListOrdersAsync(Auth.Bearer(token), "acme", "o", count: 2);
            Assert.All(replies, reply => Assert.Equal([call.ToString(CultureInfo.InvariantCulture)], ValuesOf(reply, "stamp")));
        }

        Assert.Equal(CallsPastTheCache, transformation.Invocations);
    }

    [Fact]
    public async Task Claims_transformation_runs_once_per_call_in_the_interceptor_when_the_middleware_authenticated_another_scheme()
    {
        var transformation = new StampingTransformation(clone: false);
        var server = await StartOrdersServerAsync(configureBuilder: builder =>
        {
            builder.Services.AddSingleton<IClaimsTransformation>(transformation);
            builder.Services.AddSingleton<OtherSchemeRuns>();
            builder.Services.AddAuthentication(options => options.DefaultScheme = OtherScheme.Name)
                .AddScheme<AuthenticationSchemeOptions, OtherScheme>(OtherScheme.Name, configureOptions: null);
        });
        var orders = new Orders.OrdersClient(server.Channel);
        var token = AcmeToken();

        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            var reply = await orders.CallGetOrderAsync(Auth.Bearer(token), "acme", $"o-{call}");
            Assert.Equal([call.ToString(CultureInfo.InvariantCulture)], ValuesOf(reply, "stamp"));
            Assert.Equal("alice", reply.Subject);
        }

        Assert.Equal(CallsPastTheCache, transformation.Invocations);
        Assert.Equal(CallsPastTheCache, server.Services.GetRequiredService<OtherSchemeRuns>().Count);
    }

    [Fact]
    public async Task AllowAnonymous_method_sees_the_caller_of_a_valid_token_and_ignores_an_invalid_one()
    {
        var server = await StartOrdersServerAsync();
        var request = new ProbeRequest { Name = "anonymous" };

        var withToken = await server.Attributed.AnonymousAsync(request, Auth.Bearer(AcmeToken("erin"))).ResponseAsync.DefaultTimeout();
        var forged = await server.Attributed.AnonymousAsync(request, Auth.Bearer(Tokens.Create(TestKeys.Impostor, subject: "mallory")))
            .ResponseAsync.DefaultTimeout();
        var expired = await server.Attributed.AnonymousAsync(request, Auth.Bearer(Tokens.Create(TestKeys.Primary, lifetime: TimeSpan.FromMinutes(-5))))
            .ResponseAsync.DefaultTimeout();
        var none = await server.Attributed.AnonymousAsync(request, Auth.None).ResponseAsync.DefaultTimeout();

        Assert.Equal(("erin", true), (withToken.Subject, withToken.PrincipalAuthenticated));
        Assert.Equal((string.Empty, false), (forged.Subject, forged.PrincipalAuthenticated));
        Assert.Equal((string.Empty, false), (expired.Subject, expired.PrincipalAuthenticated));
        Assert.Equal((string.Empty, false), (none.Subject, none.PrincipalAuthenticated));
        Assert.Equal(4, server.Entries["Attributed.Anonymous"]);
    }

    [Fact]
    public async Task AllowAnonymous_service_sees_the_caller_of_a_valid_token_on_every_call_kind()
    {
        var server = await StartOrdersServerAsync(probeConventions: probe => probe.AllowAnonymous());
        var token = AcmeToken("erin");

        foreach (var kind in Enum.GetValues<CallKind>())
        {
            var replies = await server.Probe.CallAsync(kind, Auth.Bearer(token));
            Assert.All(replies, reply => Assert.Equal(("erin", true), (reply.Subject, reply.PrincipalAuthenticated)));
        }
    }

    [Fact]
    public async Task OnTokenValidated_Fail_rejects_with_exactly_its_reason_also_for_a_cached_token()
    {
        const string Reason = "account locked: call the help desk";
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnTokenValidated = context =>
            {
                if (context.Caller.Subject == "locked")
                {
                    context.Fail(Reason);
                }

                return Task.CompletedTask;
            },
        });
        var locked = AcmeToken("locked");
        var open = AcmeToken("open");

        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(locked)), StatusCode.Unauthenticated, Reason, locked);
            var reply = await server.Probe.CallUnaryAsync(Auth.Bearer(open));
            Assert.Equal("open", reply.Subject);
        }

        Assert.Equal(CallsPastTheCache, server.Entries["Unary"]);
    }

    [Fact]
    public async Task OnTokenValidated_claims_are_seen_by_the_handler_of_that_call_only()
    {
        var validated = 0;
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnTokenValidated = context =>
            {
                var call = Interlocked.Increment(ref validated);
                ((ClaimsIdentity)context.Principal.Identity!).AddClaim(new Claim("stamp", call.ToString(CultureInfo.InvariantCulture)));
                return Task.CompletedTask;
            },
        });
        var orders = new Orders.OrdersClient(server.Channel);
        var token = AcmeToken();

        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            var reply = await orders.CallGetOrderAsync(Auth.Bearer(token), "acme", $"o-{call}");
            Assert.Equal([call.ToString(CultureInfo.InvariantCulture)], ValuesOf(reply, "stamp"));
        }

        Assert.Equal(CallsPastTheCache, Volatile.Read(ref validated));
    }

    [Fact]
    public async Task OnMessageReceived_takes_the_token_from_another_metadata_entry()
    {
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnMessageReceived = context =>
            {
                if (context.HttpContext.Request.Headers.TryGetValue("x-access-token", out var token))
                {
                    context.Token = token.ToString();
                }

                return Task.CompletedTask;
            },
        });
        var orders = new Orders.OrdersClient(server.Channel);

        var reply = await orders.CallGetOrderAsync(new CallOptions(new Metadata { { "x-access-token", AcmeToken("frank") } }), "acme", "o-1");
        var fromAuthorization = await orders.CallGetOrderAsync(Auth.Bearer(AcmeToken("grace")), "acme", "o-2");

        Assert.Equal(("frank", "acme", true), (reply.Subject, reply.CallerTenant, reply.Authenticated));
        Assert.Equal("grace", fromAuthorization.Subject);
        await Rejection.AssertAsync(() => orders.CallGetOrderAsync(Auth.None, "acme", "o-3"), StatusCode.Unauthenticated, Details.MissingToken);
    }

    [Fact]
    public async Task OnMessageReceived_token_from_another_entry_is_held_to_MaxTokenLength_and_its_failures_are_reasons_not_echoes()
    {
        var server = await StartOrdersServerAsync(options =>
        {
            options.MaxTokenLength = 4096;
            options.Events = new GrpcJwtAuthEvents
            {
                OnMessageReceived = context =>
                {
                    if (context.HttpContext.Request.Headers.TryGetValue("x-access-token", out var token))
                    {
                        context.Token = token.ToString();
                    }

                    return Task.CompletedTask;
                },
            };
        });
        var orders = new Orders.OrdersClient(server.Channel);
        var huge = new string('a', 5000);
        const string Garbage = "not-a-jwt";

        // The caller controls this entry as much as "authorization": the same limit and parser hold, and nothing it sent
        // comes back in the status.
        await Rejection.AssertAsync(
            () => orders.CallGetOrderAsync(new CallOptions(new Metadata { { "x-access-token", huge } }), "acme", "o-1"),
            StatusCode.Unauthenticated, Details.TokenTooLarge, huge);
        var malformed = await Assert.ThrowsAsync<RpcException>(
            () => orders.CallGetOrderAsync(new CallOptions(new Metadata { { "x-access-token", Garbage } }), "acme", "o-2"));
        Assert.Equal(StatusCode.Unauthenticated, malformed.StatusCode);
        Assert.DoesNotContain("not-a-jwt", malformed.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnMessageReceived_Fail_rejects_with_exactly_its_reason()
    {
        const string Reason = "tokens are accepted only from the gateway";
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnMessageReceived = context =>
            {
                if (!context.HttpContext.Request.Headers.ContainsKey("x-gateway"))
                {
                    context.Fail(Reason);
                }

                return Task.CompletedTask;
            },
        });
        var token = AcmeToken();

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, Reason, token);
        var headers = new Metadata { { "authorization", "Bearer " + token }, { "x-gateway", "1" } };
        var reply = await server.Probe.CallUnaryAsync(new CallOptions(headers));

        Assert.Equal("alice", reply.Subject);
        Assert.Equal(1, server.Entries.Total);
    }

    [Theory]
    [InlineData("expired", Details.TokenExpired, "token_expired")]
    [InlineData("forged", Details.InvalidSignature, "invalid_signature")]
    [InlineData("issued in the future", Details.TokenIssuedInFuture, "token_issued_in_future")]
    public async Task OnAuthenticationFailed_sees_the_reason_and_its_tag_once_per_call(string kind, string reason, string tag)
    {
        var failures = new ConcurrentQueue<(string Reason, string Tag, bool IsGrpcCall)>();
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnAuthenticationFailed = context =>
            {
                failures.Enqueue((context.Reason, context.ReasonTag, context.IsGrpcCall));
                return Task.CompletedTask;
            },
        });
        var token = kind switch
        {
            "expired" => Tokens.Create(TestKeys.Primary, lifetime: TimeSpan.FromMinutes(-5)),
            "issued in the future" => Tokens.Create(TestKeys.Primary, issuedAtOffset: TimeSpan.FromHours(2), lifetime: TimeSpan.FromHours(3)),
            _ => Tokens.Create(TestKeys.Impostor),
        };

        var rejection = await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(token)), StatusCode.Unauthenticated, reason, token);

        var failure = Assert.Single(failures);
        Details.AssertMatches(reason, failure.Reason);
        Assert.Equal(rejection.Status.Detail, failure.Reason);
        Assert.Equal((tag, true), (failure.Tag, failure.IsGrpcCall));
        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task OnChallenge_changes_the_detail_of_an_Unauthenticated_call_which_is_still_refused()
    {
        const string Reason = "sign in at https://login.example.test first";
        var challenged = new ConcurrentQueue<string>();
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnChallenge = context =>
            {
                challenged.Enqueue(context.Reason);
                context.Reason = Reason;
                context.HandleResponse();
                return Task.CompletedTask;
            },
        });
        var expired = Tokens.Create(TestKeys.Primary, lifetime: TimeSpan.FromMinutes(-5));
        var fromTheFuture = Tokens.Create(TestKeys.Primary, issuedAtOffset: TimeSpan.FromHours(2), lifetime: TimeSpan.FromHours(3));

        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.None), StatusCode.Unauthenticated, Reason);
        await Rejection.AssertAsync(() => server.Probe.CallDuplexAsync(Auth.Bearer(expired), "a"), StatusCode.Unauthenticated, Reason, expired);
        await Rejection.AssertAsync(() => server.Probe.CallUnaryAsync(Auth.Bearer(fromTheFuture)), StatusCode.Unauthenticated, Reason, fromTheFuture);

        Assert.Collection(
            challenged,
            reason => Assert.Equal(Details.MissingToken, reason),
            reason => Details.AssertMatches(Details.TokenExpired, reason),
            reason => Assert.Matches(Details.TokenIssuedInFutureBy, reason));
        Assert.Equal(0, server.Entries.Total);
    }

    [Fact]
    public async Task OnForbidden_changes_the_detail_of_a_PermissionDenied_call_which_is_still_refused()
    {
        const string Reason = "ask your tenant administrator for access";
        var forbidden = new ConcurrentQueue<string>();
        var server = await StartOrdersServerAsync(options => options.Events = new GrpcJwtAuthEvents
        {
            OnForbidden = context =>
            {
                forbidden.Enqueue(context.Reason);
                context.Reason = Reason;
                return Task.CompletedTask;
            },
        });
        var orders = new Orders.OrdersClient(server.Channel);
        var token = AcmeToken();

        await Rejection.AssertAsync(() => orders.CallGetOrderAsync(Auth.Bearer(token), "globex", "o-1"), StatusCode.PermissionDenied, Reason, token);

        Assert.Equal(["authorization policy 'own-tenant' failed"], forbidden);
        Assert.Equal(0, server.Entries.Total);
    }

    [Theory]
    [InlineData(ServiceLifetime.Scoped, CallsPastTheCache)]
    [InlineData(ServiceLifetime.Singleton, 1)]
    public async Task EventsType_is_resolved_from_the_calls_services(ServiceLifetime lifetime, int instances)
    {
        var server = await StartOrdersServerAsync(
            options => options.EventsType = typeof(CountingEvents),
            builder =>
            {
                builder.Services.AddSingleton<EventsInstances>();
                builder.Services.Add(new ServiceDescriptor(typeof(CountingEvents), typeof(CountingEvents), lifetime));
            });
        var orders = new Orders.OrdersClient(server.Channel);
        var token = AcmeToken();

        for (var call = 1; call <= CallsPastTheCache; call++)
        {
            var reply = await orders.CallGetOrderAsync(Auth.Bearer(token), "acme", $"o-{call}");
            var expected = lifetime == ServiceLifetime.Scoped ? call : 1;
            Assert.Equal([expected.ToString(CultureInfo.InvariantCulture)], ValuesOf(reply, "events-instance"));
        }

        Assert.Equal(instances, server.Services.GetRequiredService<EventsInstances>().Count);
    }

    /// <summary>
    /// Adds a claim <c>stamp</c> numbering its invocations, to the principal it is given (as many applications do) or
    /// to a copy of it (as ASP.NET Core recommends), and remembers how many stamps each principal already had.
    /// </summary>
    private sealed class StampingTransformation(bool clone) : IClaimsTransformation
    {
        private readonly ConcurrentQueue<int> _stampsSeenOnEntry = new();
        private int _invocations;

        public int Invocations => Volatile.Read(ref _invocations);

        public IReadOnlyList<int> StampsSeenOnEntry => [.. _stampsSeenOnEntry];

        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            _stampsSeenOnEntry.Enqueue(principal.FindAll("stamp").Count());
            var stamp = new Claim("stamp", Interlocked.Increment(ref _invocations).ToString(CultureInfo.InvariantCulture));
            if (!clone)
            {
                ((ClaimsIdentity)principal.Identity!).AddClaim(stamp);
                return Task.FromResult(principal);
            }

            var copy = principal.Clone();
            ((ClaimsIdentity)copy.Identity!).AddClaim(stamp);
            return Task.FromResult(copy);
        }
    }

    /// <summary>Counts how often <see cref="OtherScheme"/> authenticated.</summary>
    private sealed class OtherSchemeRuns
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Add() => Interlocked.Increment(ref _count);
    }

    /// <summary>The application's default scheme, which finds no one: GrpcJwtAuth's scheme is not run by the middleware.</summary>
    private sealed class OtherScheme(
        IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, OtherSchemeRuns runs)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string Name = "Other";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            runs.Add();
            return Task.FromResult(AuthenticateResult.NoResult());
        }
    }

    /// <summary>Counts the <see cref="CountingEvents"/> DI created.</summary>
    private sealed class EventsInstances
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public int Next() => Interlocked.Increment(ref _count);
    }

    /// <summary>Events resolved from DI: each instance stamps the principals it sees with its number.</summary>
    private sealed class CountingEvents : GrpcJwtAuthEvents
    {
        private readonly string _instance;

        public CountingEvents(EventsInstances instances)
        {
            _instance = instances.Next().ToString(CultureInfo.InvariantCulture);
        }

        public override Task TokenValidated(GrpcJwtAuthTokenValidatedContext context)
        {
            ((ClaimsIdentity)context.Principal.Identity!).AddClaim(new Claim("events-instance", _instance));
            return Task.CompletedTask;
        }
    }
}
