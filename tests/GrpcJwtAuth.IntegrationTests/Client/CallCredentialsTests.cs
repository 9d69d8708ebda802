using Grpc.Core;
using GrpcJwtAuth.IntegrationTests.Infrastructure;
using GrpcJwtAuth.Testing;

namespace GrpcJwtAuth.IntegrationTests.Client;

/// <summary>GrpcJwtAuth.Client attaching tokens to every call kind, against the real server over TLS.</summary>
public class CallCredentialsTests : IntegrationTest
{
    private static readonly TestTokenFactory Tokens = new(TimeProvider.System);

    public static TheoryData<Attachment, CallKind> AttachmentsAndKinds()
    {
        var data = new TheoryData<Attachment, CallKind>();
        foreach (var attachment in Enum.GetValues<Attachment>())
        {
            foreach (var kind in Enum.GetValues<CallKind>())
            {
                data.Add(attachment, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AttachmentsAndKinds))]
    public async Task Token_from_the_provider_reaches_the_handler_on_every_call_kind(Attachment attachment, CallKind kind)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var source = CountingTokenSource.FromJwts(_ => Tokens.Create(TestKeys.Primary, subject: "svc-orders"));
        var client = server.CreateClient(attachment, source);

        var replies = await client.CallAsync(kind, new CallOptions());

        Assert.NotEmpty(replies);
        Assert.All(replies, reply =>
        {
            Assert.Equal("svc-orders", reply.Subject);
            Assert.True(reply.PrincipalAuthenticated);
        });
        Assert.Equal(1, source.Calls);
        Assert.Equal(1, server.Entries[kind.Method()]);
        Assert.Equal(1, server.Requests["/test.Probe/" + kind.Method()]);
    }

    [Theory]
    [InlineData(Attachment.ChannelCallInvoker)]
    [InlineData(Attachment.ChannelOptions)]
    public async Task Each_call_asks_the_provider_for_its_token_so_a_new_token_is_used_at_once(Attachment attachment)
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var source = CountingTokenSource.FromJwts(call => Tokens.Create(TestKeys.Primary, subject: $"caller-{call}"));
        var client = server.CreateClient(attachment, source);

        var first = await client.CallUnaryAsync(new CallOptions());
        var second = await client.CallUnaryAsync(new CallOptions());

        Assert.Equal("caller-1", first.Subject);
        Assert.Equal("caller-2", second.Subject);
    }

    [Fact]
    public async Task Authorization_metadata_set_by_the_caller_is_sent_instead_of_the_provider_token()
    {
        var server = await StartServerAsync(TestKeys.StaticOptions(TestKeys.Primary));
        var source = CountingTokenSource.FromJwts(_ => Tokens.Create(TestKeys.Primary, subject: "from-provider"));
        var client = server.CreateClient(Attachment.ChannelCallInvoker, source);

        var reply = await client.CallUnaryAsync(Auth.Bearer(Tokens.Create(TestKeys.Primary, subject: "from-caller")));

        Assert.Equal("from-caller", reply.Subject);
        Assert.Equal(0, source.Calls);
    }
}
