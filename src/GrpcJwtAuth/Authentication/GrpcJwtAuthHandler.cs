using System.Text.Encodings.Web;
using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace GrpcJwtAuth.Authentication;

/// <summary>The GrpcJwtAuth scheme's options: everything is configured through <see cref="GrpcJwtAuthOptions"/>.</summary>
internal sealed class GrpcJwtAuthSchemeOptions : AuthenticationSchemeOptions;

/// <summary>
/// GrpcJwtAuth as an ASP.NET Core authentication scheme (<see cref="GrpcJwtAuthDefaults.AuthenticationScheme"/>), so
/// the framework's authentication and authorization middleware, <c>[Authorize]</c> on controllers and
/// <c>HttpContext.AuthenticateAsync</c> use the same tokens, keys and cache as the gRPC interceptor. No token is "no
/// result", as with JwtBearer; the outcome is kept on the request so the interceptor does not validate again. A
/// challenge or a forbid on a gRPC call is answered with a gRPC status (trailers-only, <c>Unauthenticated</c> or
/// <c>PermissionDenied</c>, with the reason); on other requests with 401 (<c>WWW-Authenticate: Bearer</c>, RFC 6750)
/// or 403.
/// </summary>
internal sealed class GrpcJwtAuthHandler(
    IOptionsMonitor<GrpcJwtAuthSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenAuthenticator authenticator,
    Configuration.CompiledAuthOptions compiled)
    : AuthenticationHandler<GrpcJwtAuthSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var outcome = await OutcomeAsync().ConfigureAwait(false);
        if (outcome.Succeeded)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(outcome.Principal!, Scheme.Name));
        }

        return outcome.NoToken ? AuthenticateResult.NoResult() : AuthenticateResult.Fail(outcome.StatusDetail);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var outcome = Context.Features.Get<GrpcJwtAuthFeature>()?.Outcome ?? AuthOutcome.Fail(AuthFailure.MissingAuthorization);
        var reason = outcome.Succeeded ? AuthFailures.Get(AuthFailure.MissingAuthorization).Status.Detail : outcome.StatusDetail;
        if (RequestEvents() is { } events)
        {
            var challenge = new GrpcJwtAuthResponseContext(Context, reason);
            await events.Challenge(challenge).ConfigureAwait(false);
            if (challenge.Handled)
            {
                return;
            }

            reason = challenge.Reason;
        }

        if (GrpcRequests.IsGrpc(Context))
        {
            GrpcStatusResponse.Write(Context, new Grpc.Core.Status(Grpc.Core.StatusCode.Unauthenticated, reason));
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append(HeaderNames.WWWAuthenticate, outcome.Succeeded || outcome.NoToken
            ? "Bearer"
            : $"Bearer error=\"invalid_token\", error_description=\"{reason.Replace("\"", "'", StringComparison.Ordinal)}\"");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var reason = AuthFailures.Get(AuthFailure.PolicyFailed).Status.Detail;
        if (RequestEvents() is { } events)
        {
            var forbidden = new GrpcJwtAuthResponseContext(Context, reason);
            await events.Forbidden(forbidden).ConfigureAwait(false);
            if (forbidden.Handled)
            {
                return;
            }

            reason = forbidden.Reason;
        }

        if (GrpcRequests.IsGrpc(Context))
        {
            GrpcStatusResponse.Write(Context, new Grpc.Core.Status(Grpc.Core.StatusCode.PermissionDenied, reason));
            return;
        }

        Response.StatusCode = StatusCodes.Status403Forbidden;
    }

    private async ValueTask<AuthOutcome> OutcomeAsync()
    {
        var feature = Context.Features.Get<GrpcJwtAuthFeature>();
        if (feature?.Outcome is { } known)
        {
            return known;
        }

        // The authentication service runs the claims transformation on what this returns: not done here.
        var outcome = await authenticator.AuthenticateAsync(Context, transform: false, Context.RequestAborted).ConfigureAwait(false);
        if (feature is null)
        {
            Context.Features.Set(feature = new GrpcJwtAuthFeature());
        }

        feature.Outcome = outcome;
        return outcome;
    }

    private GrpcJwtAuthEvents? RequestEvents() => compiled.HasEvents ? compiled.EventsFor(Context) : null;
}
