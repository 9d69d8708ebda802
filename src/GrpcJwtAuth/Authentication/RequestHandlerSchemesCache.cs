using Microsoft.AspNetCore.Authentication;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// The app's <see cref="IAuthenticationSchemeProvider"/>, with the one answer ASP.NET Core's authentication middleware
/// asks for on every request kept: the schemes that handle requests themselves (remote sign-in callbacks), which
/// ASP.NET Core's own provider wraps in a new task each time. Kept only when the app's provider is ASP.NET Core's
/// (<see cref="AuthenticationSchemeProvider"/>, not a type derived from it, which may answer per request); that one
/// changes its schemes only through the methods below, which drop what was kept. Every other call goes to the app's
/// provider as it is.
/// </summary>
internal sealed class RequestHandlerSchemesCache(IAuthenticationSchemeProvider inner) : IAuthenticationSchemeProvider
{
    private readonly bool _cacheable = inner.GetType() == typeof(AuthenticationSchemeProvider);
    private readonly Lock _gate = new();
    private Task<IEnumerable<AuthenticationScheme>>? _requestHandlers;
    private long _version;

    public IAuthenticationSchemeProvider Inner => inner;

    public Task<IEnumerable<AuthenticationScheme>> GetRequestHandlerSchemesAsync()
    {
        if (!_cacheable)
        {
            return inner.GetRequestHandlerSchemesAsync();
        }

        var kept = Volatile.Read(ref _requestHandlers);
        if (kept is not null)
        {
            return kept;
        }

        var version = Interlocked.Read(ref _version);
        var pending = inner.GetRequestHandlerSchemesAsync();
        if (pending.IsCompletedSuccessfully)
        {
            lock (_gate)
            {
                // Not if a scheme was added or removed since the version was read: the answer may predate it.
                if (_version == version)
                {
                    _requestHandlers = pending;
                }
            }
        }

        return pending;
    }

    public void AddScheme(AuthenticationScheme scheme)
    {
        try
        {
            inner.AddScheme(scheme);
        }
        finally
        {
            Forget();
        }
    }

    public bool TryAddScheme(AuthenticationScheme scheme)
    {
        try
        {
            return inner.TryAddScheme(scheme);
        }
        finally
        {
            Forget();
        }
    }

    public void RemoveScheme(string name)
    {
        try
        {
            inner.RemoveScheme(name);
        }
        finally
        {
            Forget();
        }
    }

    public Task<IEnumerable<AuthenticationScheme>> GetAllSchemesAsync() => inner.GetAllSchemesAsync();

    public Task<AuthenticationScheme?> GetSchemeAsync(string name) => inner.GetSchemeAsync(name);

    public Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() => inner.GetDefaultAuthenticateSchemeAsync();

    public Task<AuthenticationScheme?> GetDefaultChallengeSchemeAsync() => inner.GetDefaultChallengeSchemeAsync();

    public Task<AuthenticationScheme?> GetDefaultForbidSchemeAsync() => inner.GetDefaultForbidSchemeAsync();

    public Task<AuthenticationScheme?> GetDefaultSignInSchemeAsync() => inner.GetDefaultSignInSchemeAsync();

    public Task<AuthenticationScheme?> GetDefaultSignOutSchemeAsync() => inner.GetDefaultSignOutSchemeAsync();

    private void Forget()
    {
        lock (_gate)
        {
            _version++;
            _requestHandlers = null;
        }
    }
}
