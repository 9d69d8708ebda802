using Grpc.Core;
using GrpcJwtAuth.Server;

namespace GrpcJwtAuth.Tests.Server;

public class AuthFailuresTests
{
    public static TheoryData<string> AllFailures() => new(Enum.GetNames<AuthFailure>());

    public static TheoryData<string> AllRejections() => new(Enum.GetNames<AuthFailure>().Where(name => name != nameof(AuthFailure.None)));

    [Theory]
    [MemberData(nameof(AllFailures))]
    public void Get_EveryValue_HasItsOwnEntry(string name)
    {
        var failure = Enum.Parse<AuthFailure>(name);
        var info = AuthFailures.Get(failure);

        Assert.Equal(failure, info.Failure);
        Assert.Equal(info.Code, info.Status.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(info.Tag));
    }

    [Theory]
    [MemberData(nameof(AllRejections))]
    public void Get_EveryRejection_HasNonEmptyDetail(string name)
    {
        var failure = Enum.Parse<AuthFailure>(name);
        Assert.False(string.IsNullOrWhiteSpace(AuthFailures.Get(failure).Status.Detail));
    }

    [Fact]
    public void Get_None_IsOk()
    {
        var info = AuthFailures.Get(AuthFailure.None);

        Assert.Equal(StatusCode.OK, info.Code);
    }

    [Theory]
    [InlineData(nameof(AuthFailure.KeysUnavailable), StatusCode.Unavailable)]
    [InlineData(nameof(AuthFailure.KeyNotFoundSourceUnavailable), StatusCode.Unavailable)]
    [InlineData(nameof(AuthFailure.TokenTypeNotAccepted), StatusCode.Unauthenticated)]
    [InlineData(nameof(AuthFailure.MissingRole), StatusCode.PermissionDenied)]
    [InlineData(nameof(AuthFailure.MissingScope), StatusCode.PermissionDenied)]
    [InlineData(nameof(AuthFailure.IssuerNotAllowed), StatusCode.PermissionDenied)]
    [InlineData(nameof(AuthFailure.PolicyFailed), StatusCode.PermissionDenied)]
    [InlineData(nameof(AuthFailure.PolicyNotFound), StatusCode.PermissionDenied)]
    [InlineData(nameof(AuthFailure.RejectedByEvent), StatusCode.Unauthenticated)]
    [InlineData(nameof(AuthFailure.UnresolvedMethod), StatusCode.PermissionDenied)]
    [InlineData(nameof(AuthFailure.MissingAuthorization), StatusCode.Unauthenticated)]
    [InlineData(nameof(AuthFailure.TokenExpired), StatusCode.Unauthenticated)]
    [InlineData(nameof(AuthFailure.TokenIssuedInFuture), StatusCode.Unauthenticated)]
    [InlineData(nameof(AuthFailure.TokenInvalid), StatusCode.Unauthenticated)]
    public void Get_Failure_HasExpectedCode(string name, StatusCode expected)
    {
        var failure = Enum.Parse<AuthFailure>(name);
        Assert.Equal(expected, AuthFailures.Get(failure).Code);
    }

    [Fact]
    public void Get_TokenIssuedInFuture_HasItsTagAndFixedDetail()
    {
        var info = AuthFailures.Get(AuthFailure.TokenIssuedInFuture);

        Assert.Equal("token_issued_in_future", info.Tag);
        Assert.Equal("token issued in the future (iat is ahead of the server's clock; check the clocks of issuer and server)", info.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(AllRejections))]
    public void Get_EveryOtherRejection_IsUnauthenticated(string name)
    {
        var failure = Enum.Parse<AuthFailure>(name);
        var expected = failure switch
        {
            AuthFailure.KeysUnavailable or AuthFailure.KeyNotFoundSourceUnavailable => StatusCode.Unavailable,
            AuthFailure.MissingRole or AuthFailure.MissingScope or AuthFailure.IssuerNotAllowed or AuthFailure.PolicyFailed or AuthFailure.PolicyNotFound
                or AuthFailure.UnresolvedMethod
                => StatusCode.PermissionDenied,
            _ => StatusCode.Unauthenticated,
        };

        Assert.Equal(expected, AuthFailures.Get(failure).Code);
    }

    [Fact]
    public void Get_Tags_AreUnique()
    {
        var tags = Enum.GetValues<AuthFailure>().Select(failure => AuthFailures.Get(failure).Tag).ToList();

        Assert.Equal(tags.Count, tags.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Get_Details_AreUnique()
    {
        var details = Enum.GetValues<AuthFailure>().Select(failure => AuthFailures.Get(failure).Status.Detail).ToList();

        Assert.Equal(details.Count, details.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(AllRejections))]
    public void CreateException_EveryRejection_CarriesTheFixedStatusOnly(string name)
    {
        var failure = Enum.Parse<AuthFailure>(name);
        var info = AuthFailures.Get(failure);

        var exception = info.CreateException();

        Assert.Equal(info.Code, exception.StatusCode);
        Assert.Equal(info.Status.Detail, exception.Status.Detail);
        Assert.Null(exception.Status.DebugException);
        Assert.Empty(exception.Trailers);
    }
}
