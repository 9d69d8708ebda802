using System.Diagnostics;
using GrpcJwtAuth.Diagnostics;
using GrpcJwtAuth.Server;
using GrpcJwtAuth.Testing;
using Microsoft.AspNetCore.Authorization;

namespace GrpcJwtAuth.Tests.Diagnostics;

/// <summary>Tags on the current activity, as ASP.NET Core's request activity would get them.</summary>
public sealed class AuthActivityTests : IDisposable
{
    private readonly ActivitySource _source = new("GrpcJwtAuth.Tests." + Guid.NewGuid().ToString("N"));
    private readonly ActivityListener _listener;
    private readonly DiagnosticsHarness _harness = new(options =>
        options.Rules.Add(new GrpcJwtAuthRule { Prefix = "/greet.Public/", AllowAnonymous = true }));

    private ActivitySamplingResult _sampling = ActivitySamplingResult.AllDataAndRecorded;

    public AuthActivityTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, _source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => _sampling,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
        _harness.Dispose();
    }

    [Fact]
    public async Task Record_ValidToken_TagsAllowedButNotTheUserUnlessAskedTo()
    {
        using var activity = Start();

        await _harness.AuthenticateAsync("Bearer " + _harness.Tokens.Create(DiagnosticsHarness.Key, subject: "alice"));

        Assert.Equal("allowed", activity.GetTagItem(AuthActivity.OutcomeTag));
        Assert.Null(activity.GetTagItem(AuthActivity.ErrorTypeTag));
        Assert.Null(activity.GetTagItem(AuthActivity.UserIdTag));
        Assert.Null(activity.GetTagItem("enduser.id"));
    }

    [Fact]
    public async Task Record_ValidTokenWithRecordUserId_TagsTheUserId()
    {
        using var harness = new DiagnosticsHarness(options => options.RecordUserId = true);
        using var activity = Start();

        await harness.AuthenticateAsync("Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key, subject: "alice"));

        Assert.Equal("allowed", activity.GetTagItem(AuthActivity.OutcomeTag));
        Assert.Equal("alice", activity.GetTagItem(AuthActivity.UserIdTag));
    }

    [Fact]
    public async Task Record_CachedToken_TagsEachCall()
    {
        using var harness = new DiagnosticsHarness(options => options.RecordUserId = true);
        var header = "Bearer " + harness.Tokens.Create(DiagnosticsHarness.Key, subject: "alice");
        await harness.AuthenticateAsync(header);
        using var activity = Start();

        await harness.AuthenticateAsync(header);

        Assert.Equal("allowed", activity.GetTagItem(AuthActivity.OutcomeTag));
        Assert.Equal("alice", activity.GetTagItem(AuthActivity.UserIdTag));
    }

    [Fact]
    public async Task Record_ForgedToken_TagsTheReasonButNotTheSubjectItClaims()
    {
        using var activity = Start();

        var failure = await _harness.AuthenticateAsync("Bearer " + _harness.Tokens.Create(TestSigningKey.Ec("ec-1"), subject: "admin"));

        Assert.Equal(AuthFailure.InvalidSignature, failure);
        Assert.Equal("unauthenticated", activity.GetTagItem(AuthActivity.OutcomeTag));
        Assert.Equal("invalid_signature", activity.GetTagItem(AuthActivity.ErrorTypeTag));
        Assert.Null(activity.GetTagItem(AuthActivity.UserIdTag));
    }

    [Fact]
    public async Task Record_MissingRole_TagsPermissionDeniedAndTheReason()
    {
        using var activity = Start();

        await _harness.AuthenticateAsync(
            "Bearer " + _harness.Tokens.Create(DiagnosticsHarness.Key, subject: "bob"), new AuthorizeAttribute { Roles = "admin" });

        Assert.Equal("permission_denied", activity.GetTagItem(AuthActivity.OutcomeTag));
        Assert.Equal("missing_role", activity.GetTagItem(AuthActivity.ErrorTypeTag));
    }

    [Fact]
    public async Task Record_AnonymousMethod_TagsAllowedAnonymous()
    {
        using var activity = Start();

        var decision = await _harness.Authenticator.AuthorizeAsync(DiagnosticsHarness.CallTo("/greet.Public/Ping", authorization: null), resource: null);

        Assert.Equal(AuthFailure.None, decision.Failure);
        Assert.Equal("anonymous", activity.GetTagItem(AuthActivity.OutcomeTag));
        Assert.Null(activity.GetTagItem(AuthActivity.ErrorTypeTag));
        Assert.Null(activity.GetTagItem(AuthActivity.UserIdTag));
    }

    [Fact]
    public async Task Record_ActivityNotRecordingData_SetsNoTag()
    {
        _sampling = ActivitySamplingResult.PropagationData;
        using var activity = Start();
        Assert.False(activity.IsAllDataRequested);

        await _harness.AuthenticateAsync(null);

        Assert.Empty(activity.TagObjects);
    }

    private Activity Start() =>
        _source.StartActivity("call") ?? throw new InvalidOperationException("The listener did not sample the activity.");
}
