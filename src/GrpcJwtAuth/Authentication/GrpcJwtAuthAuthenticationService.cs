using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// The app's <see cref="IAuthenticationService"/> with a short way through for GrpcJwtAuth's own scheme. The
/// authentication middleware authenticates every request with the default scheme, gRPC calls included, and the
/// framework's service would create a handler provider, a handler and a transformation cache per request to do what
/// <see cref="TokenAuthenticator"/> does in one step: read the token, take the caller from the validated-token cache
/// (or validate), run the app's <see cref="IClaimsTransformation"/> once for the request, and keep the outcome for the
/// interceptor. On a gRPC call, unless <see cref="GrpcJwtAuthOptions.MiddlewareAuthenticatesGrpcCalls"/> is on, that
/// is left to the interceptor, which authenticates every call anyway: before it runs the answer is "no result", after
/// it the caller it found. Every other scheme, and challenge, forbid, sign-in and sign-out, go to the app's service
/// (ASP.NET Core's by default), created only when one of them is asked for.
/// </summary>
/// <remarks>
/// A singleton without state: the app's service for a request is resolved from that request's services (scoped, as
/// ASP.NET Core registers it), so resolving this one costs every request nothing.
/// </remarks>
internal sealed class GrpcJwtAuthAuthenticationService(
    IAuthenticationSchemeProvider schemes,
    TokenAuthenticator authenticator,
    Configuration.CompiledAuthOptions options,
    Microsoft.Extensions.Options.IOptions<Grpc.AspNetCore.Server.GrpcServiceOptions> grpcOptions)
    : IAuthenticationService
{
    private static readonly Task<AuthenticateResult> NoResult = Task.FromResult(AuthenticateResult.NoResult());

    private readonly bool _middlewareAuthenticatesGrpcCalls = options.MiddlewareAuthenticatesGrpcCalls;
    private bool? _interceptorIsInstalled;

    private bool InterceptorIsInstalled =>
        _interceptorIsInstalled ??= Authorization.GrpcPolicyEvaluator.InterceptorIsInstalled(grpcOptions.Value);

    /// <summary>The app's own service for the request of <paramref name="context"/>.</summary>
    public static IAuthenticationService Inner(HttpContext context) =>
        context.RequestServices.GetRequiredKeyedService<IAuthenticationService>(
            Microsoft.Extensions.DependencyInjection.GrpcJwtAuthServiceCollectionExtensions.InnerServiceKey);

    public Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme)
    {
        if (scheme is null)
        {
            var pendingDefault = schemes.GetDefaultAuthenticateSchemeAsync();
            if (!pendingDefault.IsCompletedSuccessfully)
            {
                return AuthenticateWithDefaultAsync(context, pendingDefault);
            }

            scheme = pendingDefault.Result?.Name;
        }

        if (!string.Equals(scheme, GrpcJwtAuthDefaults.AuthenticationScheme, StringComparison.Ordinal))
        {
            return Inner(context).AuthenticateAsync(context, scheme);
        }

        var feature = GrpcJwtAuthFeature.Of(context);
        if (feature?.Outcome is { } known)
        {
            return Task.FromResult(Result(known));
        }

        if (!_middlewareAuthenticatesGrpcCalls && IsCallTheInterceptorGates(context))
        {
            // Before the interceptor: no result. After it: the caller it authenticated (and transformed) this call. Read
            // from the feature: HttpContext.User would create an anonymous principal on every call that has none yet.
            var user = Server.RequestFeatures.Get<Microsoft.AspNetCore.Http.Features.Authentication.IHttpAuthenticationFeature>(context)?.User;
            return JwtCallPrincipal.CallerOf(user) is null
                ? NoResult
                : Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(user!, GrpcJwtAuthDefaults.AuthenticationScheme)));
        }

        var pending = authenticator.AuthenticateAsync(context, transform: true, context.RequestAborted);
        return pending.IsCompletedSuccessfully
            ? Task.FromResult(Result(Keep(context, feature, pending.Result)))
            : KeepAsync(context, feature, pending);
    }

    /// <summary>A gRPC call routed to a method, with GrpcJwtAuth's interceptor among the global interceptors.</summary>
    private bool IsCallTheInterceptorGates(HttpContext context) =>
        Server.GrpcRequests.IsGrpcMethod(context)
        && InterceptorIsInstalled;

    public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) =>
        Inner(context).ChallengeAsync(context, scheme, properties);

    public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) =>
        Inner(context).ForbidAsync(context, scheme, properties);

    public Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties) =>
        Inner(context).SignInAsync(context, scheme, principal, properties);

    public Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) =>
        Inner(context).SignOutAsync(context, scheme, properties);

    private async Task<AuthenticateResult> AuthenticateWithDefaultAsync(HttpContext context, Task<AuthenticationScheme?> pendingDefault) =>
        await AuthenticateAsync(context, (await pendingDefault.ConfigureAwait(false))?.Name ?? string.Empty).ConfigureAwait(false);

    private static async Task<AuthenticateResult> KeepAsync(HttpContext context, GrpcJwtAuthFeature? feature, ValueTask<AuthOutcome> pending) =>
        Result(Keep(context, feature, await pending.ConfigureAwait(false)));

    /// <summary>
    /// Keeps the request's outcome, its principal created, so neither the interceptor nor a later authentication
    /// validates again, and every one of them sees the same principal.
    /// </summary>
    internal static AuthOutcome Keep(HttpContext context, GrpcJwtAuthFeature? feature, AuthOutcome outcome)
    {
        outcome = outcome.WithPrincipal();
        GrpcJwtAuthFeature.Keep(context, feature, outcome);
        return outcome;
    }

    /// <summary>The authenticate result of a kept outcome.</summary>
    internal static AuthenticateResult Result(AuthOutcome outcome)
    {
        if (outcome.Succeeded)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(outcome.Principal!, GrpcJwtAuthDefaults.AuthenticationScheme));
        }

        return outcome.NoToken ? AuthenticateResult.NoResult() : AuthenticateResult.Fail(outcome.StatusDetail);
    }
}
