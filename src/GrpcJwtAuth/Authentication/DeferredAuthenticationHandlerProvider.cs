using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// The request's <see cref="IAuthenticationHandlerProvider"/>, the app's own (ASP.NET Core's by default: scoped, one
/// per request, with a dictionary of the handlers it created) resolved the first time a handler is asked for. ASP.NET
/// Core's authentication middleware resolves the provider on every request, to give schemes that handle requests
/// themselves (remote sign-in callbacks) their turn; an app without such schemes, a gRPC server for one, then never
/// asks it for anything, and no request pays for creating it. A singleton without state: the app's provider is
/// resolved from the request's own services.
/// </summary>
internal sealed class DeferredAuthenticationHandlerProvider : IAuthenticationHandlerProvider
{
    /// <summary>The app's provider for the request of <paramref name="context"/>.</summary>
    public static IAuthenticationHandlerProvider Inner(HttpContext context) =>
        context.RequestServices.GetRequiredKeyedService<IAuthenticationHandlerProvider>(
            Microsoft.Extensions.DependencyInjection.GrpcJwtAuthServiceCollectionExtensions.InnerServiceKey);

    public Task<IAuthenticationHandler?> GetHandlerAsync(HttpContext context, string authenticationScheme) =>
        Inner(context).GetHandlerAsync(context, authenticationScheme);
}
