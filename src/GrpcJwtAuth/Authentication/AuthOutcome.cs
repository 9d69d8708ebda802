using System.Security.Claims;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// What authenticating one request with GrpcJwtAuth found: a caller and the request's own principal (not yet created
/// when neither an event nor a claims transformation needed it: see <see cref="WithPrincipal"/>); no token
/// (<see cref="AuthFailure.MissingAuthorization"/>, which on an anonymous method is no failure); or the reason the
/// token was refused. <see cref="Detail"/> replaces the fixed sentence when an event rejected with its own reason, or
/// when a time failure says by how much.
/// </summary>
internal readonly record struct AuthOutcome(
    AuthFailure Failure, JwtCaller? Caller, ClaimsPrincipal? Principal, string? KeyId, string? Detail = null, string? RejectedToken = null)
{
    public bool Succeeded => Failure == AuthFailure.None;

    /// <summary>No token was sent (nor provided by an event): nothing to authenticate.</summary>
    public bool NoToken => Failure == AuthFailure.MissingAuthorization;

    public static AuthOutcome Fail(AuthFailure failure, string? keyId = null, string? rejectedToken = null) =>
        new(failure, null, null, keyId, RejectedToken: rejectedToken);

    /// <summary>This outcome with the request's principal created, if it succeeded without one.</summary>
    public AuthOutcome WithPrincipal() =>
        Succeeded && Principal is null ? this with { Principal = JwtCallPrincipal.For(Caller!) } : this;

    /// <summary>The status detail the caller gets: an event's reason, a time failure's own, or the failure's fixed sentence.</summary>
    public string StatusDetail => Detail ?? AuthFailures.Get(Failure).Status.Detail;
}

/// <summary>
/// The outcome of GrpcJwtAuth's authentication, kept on the request when the authentication handler ran (through the
/// authentication middleware or <c>HttpContext.AuthenticateAsync</c>), so the gRPC interceptor never validates the same
/// token twice in one request.
/// </summary>
/// <remarks>
/// Kestrel finds its own features (the user's among them) in a field each; any other type is searched for in the
/// request's added features and then in the connection's, which is what a lookup of this one costs when it is absent,
/// as on nearly every gRPC call. So a request that keeps an outcome also has a user feature (<see cref="Keep"/>), and
/// <see cref="Of"/> looks for the outcome only when there is one.
/// </remarks>
internal sealed class GrpcJwtAuthFeature
{
    /// <summary>What the authentication handler found; <see langword="null"/> until it ran in this request.</summary>
    public AuthOutcome? Outcome { get; set; }

    /// <summary>The request's feature, if it kept an outcome.</summary>
    public static GrpcJwtAuthFeature? Of(HttpContext httpContext) =>
        RequestFeatures.Get<IHttpAuthenticationFeature>(httpContext) is null ? null : RequestFeatures.Get<GrpcJwtAuthFeature>(httpContext);

    /// <summary>Keeps <paramref name="outcome"/> on the request, on <paramref name="feature"/> when it already has one (from <see cref="Of"/>).</summary>
    public static void Keep(HttpContext httpContext, GrpcJwtAuthFeature? feature, AuthOutcome outcome)
    {
        if (feature is null)
        {
            // A user feature without a user, as HttpContext.User would add on first use: reading the user stays as it was.
            if (RequestFeatures.Get<IHttpAuthenticationFeature>(httpContext) is null)
            {
                RequestFeatures.Set<IHttpAuthenticationFeature>(httpContext, new HttpAuthenticationFeature());
            }

            RequestFeatures.Set(httpContext, feature = new GrpcJwtAuthFeature());
        }

        feature.Outcome = outcome;
    }
}
