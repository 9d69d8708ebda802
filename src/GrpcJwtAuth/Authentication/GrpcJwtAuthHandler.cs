using GrpcJwtAuth.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// GrpcJwtAuth as an ASP.NET Core authentication scheme (<see cref="GrpcJwtAuthDefaults.AuthenticationScheme"/>), so
/// the framework's authentication and authorization middleware, <c>[Authorize]</c> on controllers and
/// <c>HttpContext.AuthenticateAsync</c> use the same tokens, keys and cache as the gRPC interceptor. No token is "no
/// result", as with JwtBearer; the outcome is kept on the request so the interceptor does not validate again. A
/// challenge or a forbid on a gRPC call is answered with a gRPC status (trailers-only, <c>Unauthenticated</c> or
/// <c>PermissionDenied</c>, with the reason); on other requests with 401 (<c>WWW-Authenticate: Bearer</c>, RFC 6750)
/// or 403.
/// </summary>
/// <remarks>
/// The authentication middleware runs this on every request, gRPC calls included, so it is an
/// <see cref="IAuthenticationHandler"/> of its own rather than an <c>AuthenticationHandler&lt;TOptions&gt;</c>: it has
/// no scheme options to look up, no logger to create and no events object to build per request (GrpcJwtAuth's settings
/// and events are on <see cref="GrpcJwtAuthOptions"/>). It is created by DI, per request, with two fields.
/// </remarks>
internal sealed class GrpcJwtAuthHandler(TokenAuthenticator authenticator, Configuration.CompiledAuthOptions compiled) : IAuthenticationHandler
{
    private HttpContext Context { get; set; } = null!;

    private HttpResponse Response => Context.Response;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        Context = context;
        return Task.CompletedTask;
    }

    public Task<AuthenticateResult> AuthenticateAsync()
    {
        var pending = OutcomeAsync();
        return pending.IsCompletedSuccessfully ? Task.FromResult(GrpcJwtAuthAuthenticationService.Result(pending.Result)) : AwaitResultAsync(pending);
    }

    public Task ChallengeAsync(AuthenticationProperties? properties) => HandleChallengeAsync();

    public Task ForbidAsync(AuthenticationProperties? properties) => HandleForbiddenAsync();

    private static async Task<AuthenticateResult> AwaitResultAsync(ValueTask<AuthOutcome> pending) =>
        GrpcJwtAuthAuthenticationService.Result(await pending.ConfigureAwait(false));

    private async Task HandleChallengeAsync()
    {
        var outcome = GrpcJwtAuthFeature.Of(Context)?.Outcome ?? AuthOutcome.Fail(AuthFailure.MissingAuthorization);
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

    private async Task HandleForbiddenAsync()
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

    private ValueTask<AuthOutcome> OutcomeAsync()
    {
        var feature = GrpcJwtAuthFeature.Of(Context);
        if (feature?.Outcome is { } known)
        {
            return ValueTask.FromResult(known);
        }

        // The authentication service runs the claims transformation on what this returns: not done here.
        var pending = authenticator.AuthenticateAsync(Context, transform: false, Context.RequestAborted);
        return pending.IsCompletedSuccessfully ? ValueTask.FromResult(Keep(feature, pending.Result)) : KeepAsync(feature, pending);
    }

    private async ValueTask<AuthOutcome> KeepAsync(GrpcJwtAuthFeature? feature, ValueTask<AuthOutcome> pending) =>
        Keep(feature, await pending.ConfigureAwait(false));

    private AuthOutcome Keep(GrpcJwtAuthFeature? feature, AuthOutcome outcome) => GrpcJwtAuthAuthenticationService.Keep(Context, feature, outcome);

    private GrpcJwtAuthEvents? RequestEvents() => compiled.HasEvents ? compiled.EventsFor(Context) : null;
}
