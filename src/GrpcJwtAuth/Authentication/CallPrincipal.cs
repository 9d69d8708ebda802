using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace GrpcJwtAuth.Authentication;

/// <summary>
/// One request's identity for a <see cref="JwtCaller"/>: it reads the caller's claims (shared by every request with
/// the same token, never copied) until it is changed, and then works on its own copy, so claims a handler, an event or
/// a claims transformation adds reach no other request. Costs two small objects per request, whatever the claims.
/// </summary>
internal sealed class JwtCallIdentity : ClaimsIdentity
{
    public const string NameType = "name";

    private List<Claim>? _own;

    public JwtCallIdentity(JwtCaller caller)
        : base(GrpcJwtAuthDefaults.AuthenticationType, NameType, ClaimTypes.Role)
    {
        Caller = caller;
    }

    private JwtCallIdentity(JwtCallIdentity other)
        : base(other.AuthenticationType, other.NameClaimType, other.RoleClaimType)
    {
        Caller = other.Caller;
        _own = other._own is null ? null : [.. other._own];
        Actor = other.Actor;
        BootstrapContext = other.BootstrapContext;
        Label = other.Label;
    }

    /// <summary>The caller whose token this identity stands for.</summary>
    public JwtCaller Caller { get; }

    public override IEnumerable<Claim> Claims => _own ?? (IEnumerable<Claim>)Caller.Claims;

    public override void AddClaim(Claim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        Own().Add(claim.Subject == this ? claim : claim.Clone(this));
    }

    public override void AddClaims(IEnumerable<Claim?> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        foreach (var claim in claims)
        {
            if (claim is not null)
            {
                AddClaim(claim);
            }
        }
    }

    public override bool TryRemoveClaim(Claim? claim)
    {
        if (claim is null)
        {
            return false;
        }

        var own = Own();
        for (var i = 0; i < own.Count; i++)
        {
            if (ReferenceEquals(own[i], claim))
            {
                own.RemoveAt(i);
                return true;
            }
        }

        return false;
    }

    public override void RemoveClaim(Claim? claim)
    {
        if (!TryRemoveClaim(claim))
        {
            throw new InvalidOperationException("The claim cannot be removed: it is not part of this identity.");
        }
    }

    /// <summary>A copy with the same claims (still shared until either is changed) and the same caller.</summary>
    public override ClaimsIdentity Clone() => new JwtCallIdentity(this);

    private List<Claim> Own() => _own ??= [.. Caller.Claims];
}

/// <summary>One request's principal for a <see cref="JwtCaller"/>, over a <see cref="JwtCallIdentity"/>; changeable like any other.</summary>
internal sealed class JwtCallPrincipal(JwtCallIdentity identity) : ClaimsPrincipal(identity)
{
    /// <summary>A fresh principal for one request of <paramref name="caller"/>.</summary>
    public static JwtCallPrincipal For(JwtCaller caller) => new(new JwtCallIdentity(caller));

    /// <summary>The caller a principal authenticated by GrpcJwtAuth stands for, wherever its identity ended up.</summary>
    public static JwtCaller? CallerOf(ClaimsPrincipal? principal)
    {
        if (principal is null)
        {
            return null;
        }

        foreach (var identity in principal.Identities)
        {
            if (identity is JwtCallIdentity call)
            {
                return call.Caller;
            }
        }

        return null;
    }
}

/// <summary>
/// A request's <see cref="IHttpAuthenticationFeature"/> once GrpcJwtAuth authenticated it without events or claims
/// transformation: <c>HttpContext.User</c> is this caller's own <see cref="JwtCallPrincipal"/>, created the first time
/// something reads it. Most calls never do, and then the caller costs the request nothing beyond this object. Until
/// it is read or replaced, authorization can be decided from the <see cref="JwtCaller"/> alone.
/// </summary>
internal sealed class JwtCallUserFeature(JwtCaller caller) : IHttpAuthenticationFeature
{
    private ClaimsPrincipal? _user;
    private bool _materialized;

    /// <summary>The caller this request was authenticated as.</summary>
    public JwtCaller Caller => caller;

    /// <summary>Whether <see cref="User"/> is still the caller's principal as created: not read (so not changed) nor replaced.</summary>
    public bool IsUntouched => !_materialized;

    public ClaimsPrincipal? User
    {
        get
        {
            if (!_materialized)
            {
                _user = JwtCallPrincipal.For(caller);
                _materialized = true;
            }

            return _user;
        }

        set
        {
            _user = value;
            _materialized = true;
        }
    }

    /// <summary>The caller of a request authenticated by GrpcJwtAuth, without creating its principal when it has none yet.</summary>
    public static JwtCaller? CallerOf(HttpContext httpContext) =>
        Server.RequestFeatures.Get<IHttpAuthenticationFeature>(httpContext) switch
        {
            JwtCallUserFeature { IsUntouched: true } untouched => untouched.Caller,
            { User: var user } => JwtCallPrincipal.CallerOf(user),
            null => null,
        };
}
