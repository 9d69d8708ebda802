using System.Security.Claims;
using GrpcJwtAuth.Authentication;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace GrpcJwtAuth.Tests.Authentication;

public sealed class GrpcJwtAuthFeatureTests
{
    [Fact]
    public void Of_RequestThatKeptNothing_IsNull()
    {
        Assert.Null(GrpcJwtAuthFeature.Of(new DefaultHttpContext()));

        var withUser = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity("other")) };
        Assert.Null(GrpcJwtAuthFeature.Of(withUser));
    }

    [Fact]
    public void Keep_OnARequestWithoutAUserFeature_IsFoundAgain_AndLeavesTheUserAnonymous()
    {
        var context = new DefaultHttpContext();
        var outcome = AuthOutcome.Fail(AuthFailure.MissingAuthorization);

        GrpcJwtAuthFeature.Keep(context, feature: null, outcome);

        Assert.Equal(outcome, GrpcJwtAuthFeature.Of(context)?.Outcome);
        Assert.Null(RequestFeatures.Get<IHttpAuthenticationFeature>(context)?.User);
        Assert.False(context.User.Identity?.IsAuthenticated);
    }

    [Fact]
    public void Keep_OnARequestWithAUser_LeavesTheUserAsItWas()
    {
        var user = new ClaimsPrincipal(new ClaimsIdentity("other"));
        var context = new DefaultHttpContext { User = user };
        var outcome = AuthOutcome.Fail(AuthFailure.TokenExpired);

        GrpcJwtAuthFeature.Keep(context, feature: null, outcome);
        var kept = GrpcJwtAuthFeature.Of(context);
        GrpcJwtAuthFeature.Keep(context, kept, AuthOutcome.Fail(AuthFailure.InvalidSignature));

        Assert.Same(user, context.User);
        Assert.Same(kept, GrpcJwtAuthFeature.Of(context));
        Assert.Equal(AuthFailure.InvalidSignature, kept!.Outcome?.Failure);
    }
}
