using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Caching;
using GrpcJwtAuth.Client.Sources;
using Microsoft.Extensions.Logging;

namespace Greeter.Client;

/// <summary>One demo case's outcome; <see cref="Actual"/> is null when the case failed outside gRPC.</summary>
internal sealed record DemoResult(string Case, StatusCode Expected, StatusCode? Actual, TimeSpan Elapsed, string Detail)
{
    public bool AsExpected => Actual == Expected;
}

/// <summary>
/// Runs every case of the demo against a running server and prints one line per case: the case, the expected status,
/// the actual status and the time it took.
/// </summary>
internal sealed class Demo(GrpcChannel channel, DemoTokens tokens, TextWriter output)
{
    /// <summary>Runs and prints every case; returns the number of cases whose status differed.</summary>
    public async Task<int> RunAsync()
    {
        var results = await RunCasesAsync();
        var failures = results.Count(result => !result.AsExpected);
        output.WriteLine(failures == 0 ? $"demo: all {results.Count} cases as expected" : $"demo: {failures} of {results.Count} cases differ");
        return failures;
    }

    public async Task<IReadOnlyList<DemoResult>> RunCasesAsync()
    {
        var cases = new (string Name, StatusCode Expected, Func<Task<string>> Run)[]
        {
            ("valid token", StatusCode.OK, async () =>
            {
                var reply = await Client(await tokens.GetAsync("alice", "user")).SayHelloAsync(new HelloRequest { Name = "Alice" });
                return $"{reply.Message}; subject {reply.Subject}; roles [{string.Join(',', reply.Roles)}]";
            }),
            ("admin role allowed", StatusCode.OK, async () =>
                (await Client(await tokens.GetAsync("root", "admin user")).SayHelloAdminAsync(new HelloRequest { Name = "Root" })).Message),
            ("admin role denied", StatusCode.PermissionDenied, async () =>
                (await Client(await tokens.GetAsync("alice", "user")).SayHelloAdminAsync(new HelloRequest { Name = "Alice" })).Message),
            ("missing token", StatusCode.Unauthenticated, async () =>
                (await new global::Greeter.Greeter.GreeterClient(channel).SayHelloAsync(new HelloRequest { Name = "Nobody" })).Message),
            ("expired token", StatusCode.Unauthenticated, async () =>
                (await Client(await tokens.GetAsync("alice", "user", lifetimeSeconds: -600)).SayHelloAsync(new HelloRequest { Name = "Late" })).Message),
            ("wrong audience", StatusCode.Unauthenticated, async () =>
                (await Client(await tokens.GetAsync("alice", "user", audience: "some-other-service")).SayHelloAsync(new HelloRequest { Name = "Lost" })).Message),
            ("tampered signature", StatusCode.Unauthenticated, async () =>
                (await Client(DemoTokens.Tamper(await tokens.GetAsync("alice", "admin"))).SayHelloAsync(new HelloRequest { Name = "Mallory" })).Message),
            ("server stream", StatusCode.OK, async () =>
            {
                using var call = Client(await tokens.GetAsync("alice", "user")).StreamHellos(new HelloRequest { Name = "Alice", Count = 3, IntervalMs = 50 });
                var received = 0;
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                    received++;
                }

                return received == 3 ? "3 replies" : throw new InvalidOperationException($"expected 3 replies, got {received}");
            }),
            ("stream over the limit denied", StatusCode.PermissionDenied, async () =>
            {
                // The "bounded-stream" policy reads the request message: more than 1,000 replies are for admins only.
                using var call = Client(await tokens.GetAsync("alice", "user")).StreamHellos(new HelloRequest { Name = "Alice", Count = 5_000 });
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                    throw new InvalidOperationException("a reply arrived although the policy should deny the call");
                }

                return "the stream ended without error";
            }),
            ("stream over the limit, admin", StatusCode.OK, async () =>
            {
                using var call = Client(await tokens.GetAsync("root", "admin user")).StreamHellos(new HelloRequest { Name = "Root", Count = 1_500 });
                var received = 0;
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                    received++;
                }

                return received == 1_500 ? "1500 replies" : throw new InvalidOperationException($"expected 1500 replies, got {received}");
            }),
            ("bidi chat", StatusCode.OK, async () =>
            {
                using var call = Client(await tokens.GetAsync("alice", "user")).Chat();
                var names = new[] { "one", "two", "three" };
                var replies = new List<string>();
                foreach (var name in names)
                {
                    await call.RequestStream.WriteAsync(new HelloRequest { Name = name });
                    if (!await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                        throw new InvalidOperationException("the chat ended early");
                    }

                    replies.Add(call.ResponseStream.Current.Message);
                }

                await call.RequestStream.CompleteAsync();
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    throw new InvalidOperationException("the chat sent more replies than requests");
                }

                return string.Join(" / ", replies);
            }),
            ("stream cut when token expires", StatusCode.Unauthenticated, async () =>
            {
                // Expired 28 s ago: still inside the server's 30 s clock skew for about 2 more seconds.
                using var call = Client(await tokens.GetAsync("alice", "user", lifetimeSeconds: -28))
                    .StreamHellos(new HelloRequest { Name = "Alice", Count = 200, IntervalMs = 100 });
                var received = 0;
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                    received++;
                }

                return $"all {received} replies arrived; the stream was not cut";
            }),
            ("long stream renewed 3 times", StatusCode.OK, async () =>
            {
                // The same kind of token as above, accepted for about 3 s more, but now the client renews the stream
                // with a fresh one shortly before each expires. The stream is read until it has outlived its first
                // token and been renewed three times; unrenewed, it would be cut as above.
                var source = new ShortLivedTokens(tokens);
                var renewals = new RenewalCounter();
                using var logging = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Debug).AddProvider(renewals));
                var client = new global::Greeter.Greeter.GreeterClient(channel.AddJwtCallCredentials(source, configure: null, logging));
                var started = Stopwatch.StartNew();
                using var call = client.StreamHellos(new HelloRequest { Name = "Alice", Count = 200, IntervalMs = 100 });
                var received = 0;
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                    received++;
                    if (renewals.Count >= 3 && started.Elapsed > source.FirstAcceptedFor)
                    {
                        return $"{received} replies in {started.Elapsed.TotalSeconds:0.0} s, past its first token's end at " +
                               $"{source.FirstAcceptedFor.TotalSeconds:0.0} s; renewed {renewals.Count} times";
                    }
                }

                throw new InvalidOperationException($"the stream ended after {received} replies and {renewals.Count} renewals");
            }),
        };

        var results = new List<DemoResult>();
        output.WriteLine($"{"case",-32} {"expected",-17} {"actual",-17} {"time",8}  detail");
        foreach (var (name, expected, run) in cases)
        {
            var watch = Stopwatch.StartNew();
            StatusCode? actual;
            string detail;
            try
            {
                detail = await run();
                actual = StatusCode.OK;
            }
            catch (RpcException ex)
            {
                actual = ex.StatusCode;
                detail = ex.Status.Detail;
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or IOException)
            {
                actual = null;
                detail = $"{ex.GetType().Name}: {ex.Message}";
            }

            watch.Stop();
            var result = new DemoResult(name, expected, actual, watch.Elapsed, detail);
            results.Add(result);
            output.WriteLine(
                $"{name,-32} {expected,-17} {actual?.ToString() ?? "error",-17} {watch.ElapsedMilliseconds,6}ms  {(result.AsExpected ? "ok" : "MISMATCH")}: {detail}");
        }

        return results;
    }

    /// <summary>
    /// Tokens the sample server accepts for 3 s: they expired 27 s ago, inside its 30 s of clock skew. Each says so in
    /// its <see cref="AccessToken.ExpiresAt"/> (exp + 30 s), which is what the client renews by. A fresh one each time.
    /// </summary>
    private sealed class ShortLivedTokens(DemoTokens tokens) : IAccessTokenProvider
    {
        private static readonly TimeSpan ServerClockSkew = TimeSpan.FromSeconds(30);
        private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
        private TimeSpan _firstAcceptedFor;

        /// <summary>How long after the case started the first token stopped being accepted.</summary>
        public TimeSpan FirstAcceptedFor => _firstAcceptedFor;

        public async ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
        {
            var token = await tokens.GetAsync("alice", "user", lifetimeSeconds: -27);
            var acceptedUntil = AccessToken.FromJwt(token).ExpiresAt + ServerClockSkew;
            if (_firstAcceptedFor == TimeSpan.Zero)
            {
                _firstAcceptedFor = acceptedUntil - _started;
            }

            return new AccessToken(token, acceptedUntil);
        }
    }

    /// <summary>Counts the client's "stream renewed" log events (GrpcJwtAuth.Client event 306).</summary>
    private sealed class RenewalCounter : ILoggerProvider, ILogger
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name == "StreamRenewalSucceeded")
            {
                Interlocked.Increment(ref _count);
            }
        }

        public void Dispose()
        {
        }
    }

    private global::Greeter.Greeter.GreeterClient Client(string token) =>
        new(channel.AddJwtCallCredentials(
            new StaticAccessTokenProvider(new AccessToken(token, DateTimeOffset.MaxValue)),
            options => options.RetryOnUnauthenticated = false,
            loggerFactory: null));
}
