using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// The request's <see cref="IAuthenticationHandlerProvider"/>, the app's own (ASP.NET Core's by default: scoped, one
/// per request, with a dictionary of the handlers it created) resolved the first time a handler is asked for. ASP.NET
/// Core's authentication middleware resolves the provider on every request, to give schemes that handle requests
/// themselves (remote sign-in callbacks) their turn; an app without such schemes, a gRPC server for one, then never
/// asks it for anything, and no request pays for creating it. Transient: resolving it takes no lock of the request's scope.
/// </summary>
internal sealed class DeferredAuthenticationHandlerProvider(IServiceProvider requestServices) : IAuthenticationHandlerProvider
{
    private IAuthenticationHandlerProvider? _inner;

    /// <summary>The app's provider for this request.</summary>
    public IAuthenticationHandlerProvider Inner => _inner ??= requestServices.GetRequiredKeyedService<IAuthenticationHandlerProvider>(
        Microsoft.Extensions.DependencyInjection.GrpcJwtAuthServiceCollectionExtensions.InnerServiceKey);

    public Task<IAuthenticationHandler?> GetHandlerAsync(HttpContext context, string authenticationScheme) =>
        Inner.GetHandlerAsync(context, authenticationScheme);
}
