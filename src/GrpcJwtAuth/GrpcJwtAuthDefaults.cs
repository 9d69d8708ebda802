namespace GrpcJwtAuth;

/// <summary>Names GrpcJwtAuth registers.</summary>
public static class GrpcJwtAuthDefaults
{
    /// <summary>
    /// The name of the <see cref="System.Net.Http.HttpClient"/> used to fetch discovery documents and key sets.
    /// Configure it with <c>services.AddHttpClient(GrpcJwtAuthDefaults.BackchannelHttpClientName)</c>, for example to
    /// trust a private certificate authority or to add a proxy.
    /// </summary>
    public const string BackchannelHttpClientName = "GrpcJwtAuth.Backchannel";

    /// <summary>
    /// The name of the ASP.NET Core authentication scheme <c>AddGrpcJwtAuth()</c> registers: <c>GrpcJwtAuth</c>. Name it
    /// in <c>[Authorize(AuthenticationSchemes = GrpcJwtAuthDefaults.AuthenticationScheme)]</c> or in a policy to
    /// authenticate other endpoints (controllers, minimal APIs) with the same tokens and keys as the gRPC methods.
    /// </summary>
    public const string AuthenticationScheme = "GrpcJwtAuth";

    /// <summary>The authentication type of identities GrpcJwtAuth creates: <c>Bearer</c>.</summary>
    public const string AuthenticationType = "Bearer";

    /// <summary>
    /// The claim a multi-tenant issuer's caller gets with its tenant id (<see cref="JwtCaller.Tenant"/>), for policies
    /// such as <c>RequireClaim(GrpcJwtAuthDefaults.TenantClaimType, "contoso")</c>. A claim of this type in the token
    /// itself is dropped: only the tenant its accepted <c>iss</c> names is ever claimed.
    /// </summary>
    public const string TenantClaimType = "grpcjwtauth.tenant";

    /// <summary>
    /// The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of the server's metrics, for example for
    /// <c>dotnet-counters monitor --counters GrpcJwtAuth</c> or OpenTelemetry's <c>AddMeter(GrpcJwtAuthDefaults.MeterName)</c>.
    /// </summary>
    public const string MeterName = "GrpcJwtAuth";

    /// <summary>The default name of the health check added by <c>AddGrpcJwtAuthKeys()</c>.</summary>
    public const string KeysHealthCheckName = "grpcjwtauth-keys";
}
