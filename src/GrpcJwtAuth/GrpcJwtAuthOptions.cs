namespace GrpcJwtAuth;

/// <summary>
/// Options for the GrpcJwtAuth server interceptor. Bound from the <c>GrpcJwtAuth</c> configuration section by
/// <c>AddGrpcJwtAuth()</c>, validated at startup and compiled once into an immutable snapshot.
/// </summary>
/// <remarks>
/// Changes to these options after the host has started are not observed: restart to apply new settings.
/// Signing keys fetched from <see cref="Authority"/>, <see cref="MetadataAddress"/> or <see cref="JwksUri"/> are
/// refreshed without a restart.
/// </remarks>
public sealed class GrpcJwtAuthOptions
{
    /// <summary>The configuration section <c>AddGrpcJwtAuth()</c> binds: <c>GrpcJwtAuth</c>.</summary>
    public const string SectionName = "GrpcJwtAuth";

    /// <summary>
    /// The OpenID Connect issuer. Its discovery document, <c>{Authority}/.well-known/openid-configuration</c>, gives the
    /// JWKS address and, when <see cref="Issuers"/> is empty, the accepted issuer. Defaults to none.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>
    /// The full address of an OpenID Connect discovery document. Takes precedence over <see cref="Authority"/>.
    /// Defaults to none.
    /// </summary>
    public string? MetadataAddress { get; set; }

    /// <summary>
    /// The address of a JSON Web Key Set, for issuers without a discovery document. Cannot be combined with
    /// <see cref="Authority"/> or <see cref="MetadataAddress"/>. Defaults to none.
    /// </summary>
    public string? JwksUri { get; set; }

    /// <summary>
    /// Keys configured in place: PEM public keys or certificates (inline or from a file) and base64 symmetric secrets
    /// for HS256/384/512. They are used alongside any keys fetched from a key endpoint. Defaults to none.
    /// </summary>
    public IList<GrpcJwtAuthStaticKey> StaticKeys { get; } = new List<GrpcJwtAuthStaticKey>();

    /// <summary>
    /// Further trust domains by name (<c>GrpcJwtAuth:TrustedIssuers:&lt;name&gt;</c>), each with its own key source,
    /// accepted <c>iss</c> values, audiences, algorithms, claim types, clock skew and key refresh, beside (or instead of)
    /// the one the top-level settings describe. A token's <c>iss</c> selects exactly one of them before any key lookup;
    /// an <c>iss</c> none of them accepts is rejected without a fetch. Names are compared ignoring case, and are what
    /// logs, metrics, health, rules (<see cref="GrpcJwtAuthRule.Issuers"/>) and policies call the issuer.
    /// </summary>
    public IDictionary<string, GrpcJwtAuthIssuerOptions> TrustedIssuers { get; } =
        new Dictionary<string, GrpcJwtAuthIssuerOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Accepted <c>iss</c> values. When empty and a discovery document is used, its <c>issuer</c> is accepted.
    /// Defaults to empty.
    /// </summary>
    public IList<string> Issuers { get; } = new List<string>();

    /// <summary>Whether the <c>iss</c> claim is validated. Defaults to <see langword="true"/>.</summary>
    public bool ValidateIssuer { get; set; } = true;

    /// <summary>Accepted <c>aud</c> values; a token is accepted if any of its audiences is listed. Defaults to empty.</summary>
    public IList<string> Audiences { get; } = new List<string>();

    /// <summary>
    /// Whether the <c>aud</c> claim is validated. Switching this off lets tokens minted for other services in, so
    /// do it only when every token of the issuer is meant for this service. Defaults to <see langword="true"/>.
    /// </summary>
    public bool ValidateAudience { get; set; } = true;

    /// <summary>
    /// Accepted <c>alg</c> values. When empty: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, plus
    /// HS256, HS384 and HS512 when a symmetric static key is configured. <c>none</c> is never accepted.
    /// Defaults to empty.
    /// </summary>
    public IList<string> ValidAlgorithms { get; } = new List<string>();

    /// <summary>
    /// Accepted <c>typ</c> header values, compared as media types (case-insensitive, with or without the
    /// <c>application/</c> prefix). Tokens of other types, such as logout tokens, security events or DPoP proofs, are
    /// rejected even when correctly signed (RFC 8725 section 3.11). When empty: <c>at+jwt</c> (RFC 9068) and
    /// <c>JWT</c>. Defaults to empty.
    /// </summary>
    public IList<string> ValidTypes { get; } = new List<string>();

    /// <summary>
    /// Whether a token without a <c>typ</c> header is rejected. Many identity providers send none, so it is accepted
    /// unless this is set. Defaults to <see langword="false"/>.
    /// </summary>
    public bool RequireTokenType { get; set; }

    /// <summary>Tolerance applied to <c>exp</c>, <c>nbf</c> and <c>iat</c>. Defaults to 00:00:30.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether discovery and JWKS addresses must use HTTPS. Switch off for local development only.
    /// Defaults to <see langword="true"/>.
    /// </summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>
    /// Claim types whose values are roles. A value may be a string, a JSON array of strings or a space-separated
    /// string. When empty: <c>roles</c> and <c>role</c>. Defaults to empty.
    /// </summary>
    public IList<string> RoleClaimTypes { get; } = new List<string>();

    /// <summary>
    /// Claim types whose values are scopes (space-separated strings or JSON arrays). When empty: <c>scope</c> and
    /// <c>scp</c>. Defaults to empty.
    /// </summary>
    public IList<string> ScopeClaimTypes { get; } = new List<string>();

    /// <summary>How often signing keys are refreshed in the background. Defaults to 12:00:00.</summary>
    public TimeSpan JwksAutomaticRefreshInterval { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// The shortest time between two refreshes caused by tokens whose <c>kid</c> is unknown, and the retry delay after
    /// a failed refresh while keys are held. Defaults to 00:05:00.
    /// </summary>
    public TimeSpan JwksMinimumRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The largest discovery document or key set read from a key endpoint, in bytes; a larger answer is a failed fetch
    /// (the last good keys stay in use). Real key sets are a few kilobytes. Defaults to 524288 (512 KiB).
    /// </summary>
    public int MaxKeyDocumentBytes { get; set; } = 512 * 1024;

    /// <summary>How long one fetch of the discovery document and key set may take. Defaults to 00:00:10.</summary>
    public TimeSpan KeyFetchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a call whose token names an unknown <c>kid</c> waits for the key refresh it triggered (or joined)
    /// before it is rejected. Defaults to 00:00:05.
    /// </summary>
    public TimeSpan KeyRefreshWaitTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The largest token, in characters, that is parsed at all; larger ones are rejected before any parsing or
    /// signature work. Defaults to 16384.
    /// </summary>
    public int MaxTokenLength { get; set; } = 16 * 1024;

    /// <summary>
    /// How many validated tokens are remembered, so that a repeated token skips parsing and signature checks; only
    /// valid tokens are cached, keyed on the whole token, and rules are still checked on every call. 0 disables the
    /// cache. Defaults to 10000.
    /// </summary>
    public int TokenCacheSize { get; set; } = 10_000;

    /// <summary>
    /// The longest time a cached validation is trusted before the token is validated again; entries never outlive the
    /// token's <c>exp</c> plus <see cref="ClockSkew"/>, and are dropped when the signing keys change.
    /// Defaults to 00:10:00.
    /// </summary>
    public TimeSpan TokenCacheMaxEntryLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Whether streaming calls are ended with <c>Unauthenticated</c> when their token expires (<c>exp</c> plus
    /// <see cref="ClockSkew"/>) while they run, idle or not; the handler's cancellation token fires so its work stops.
    /// Defaults to <see langword="true"/>.
    /// </summary>
    public bool EndStreamsWhenTokenExpires { get; set; } = true;

    /// <summary>
    /// How many renewal attempts one stream accepts in a minute (see <c>MapGrpcJwtAuthStreamRenewal()</c>); further
    /// attempts get <c>ResourceExhausted</c> until the minute is over. Only attempts with the stream owner's token count.
    /// Defaults to 6.
    /// </summary>
    public int StreamRenewalsPerMinute { get; set; } = 6;

    /// <summary>
    /// How many live streams can be renewable at once. A stream started beyond it gets no call id: it runs, and ends
    /// when its token expires, as if renewal were off. Each costs a few hundred bytes while it lives.
    /// Defaults to 100000.
    /// </summary>
    public int MaxRenewableStreams { get; set; } = 100_000;

    /// <summary>
    /// Whether a call to a method or service this server does not implement must bring a valid token before it is
    /// answered <c>Unimplemented</c>. On, a caller without one gets the same <c>Unauthenticated</c> for every path
    /// and cannot list the API by probing; off, unknown methods answer <c>Unimplemented</c> to anyone, as
    /// grpc-dotnet does. Methods and services mapped with <c>AllowAnonymous()</c> answer anyone either way.
    /// Defaults to <see langword="true"/>.
    /// </summary>
    public bool AuthenticateUnknownMethods { get; set; } = true;

    /// <summary>
    /// Hooks into authentication, modelled on JwtBearer's events: take the token from elsewhere, look the caller up
    /// or reject it, observe failures, write your own challenge. Defaults to none.
    /// </summary>
    public GrpcJwtAuthEvents? Events { get; set; }

    /// <summary>
    /// A <see cref="GrpcJwtAuthEvents"/> subclass registered in DI, resolved from the request's services for every
    /// request (so it can use scoped services); takes precedence over <see cref="Events"/>. Defaults to none.
    /// </summary>
    public Type? EventsType { get; set; }

    /// <summary>
    /// Whether the message of a custom <c>AuthorizationFailureReason</c> (from an authorization handler's
    /// <c>context.Fail(reason)</c>) is added to the <c>PermissionDenied</c> detail the caller gets. Such messages are
    /// the application's words and may say more than a caller should know, so they stay in the server unless this is
    /// on. The detail always names the policy or the requirement that failed. Defaults to <see langword="false"/>.
    /// </summary>
    public bool ExposeAuthorizationFailureReasons { get; set; }

    /// <summary>
    /// Whether the caller's <c>sub</c> is recorded as the <c>user.id</c> tag of the call's activity (trace span).
    /// It is personal data, so it is left out unless this is on. Defaults to <see langword="false"/>.
    /// </summary>
    public bool RecordUserId { get; set; }

    /// <summary>
    /// Whether ASP.NET Core's authentication middleware authenticates gRPC calls with GrpcJwtAuth's scheme, so that
    /// middleware after it (a rate limiter partitioned by user, a logging scope) sees the caller in
    /// <c>HttpContext.User</c>. Off by default: GrpcJwtAuth's interceptor authenticates every gRPC call anyway, before
    /// any policy and the service method, and leaving it to the interceptor spares each call the framework's
    /// authentication result, ticket and features. Either way a token is validated at most once per call, and
    /// controllers and other endpoints are always authenticated by the middleware.
    /// </summary>
    public bool MiddlewareAuthenticatesGrpcCalls { get; set; }

    /// <summary>
    /// Authorization rules matched against the method path (<c>/package.Service/Method</c>); the longest matching
    /// prefix wins. A rule is matched against the method the call was routed to (its declared name), never the path as
    /// the caller spelled it, and adds to the method's <c>[Authorize]</c> metadata: both must pass. A method with
    /// neither requires the app's <c>FallbackPolicy</c>, or else an authenticated caller. Defaults to empty.
    /// </summary>
    public IList<GrpcJwtAuthRule> Rules { get; } = new List<GrpcJwtAuthRule>();
}
