namespace GrpcJwtAuth.Client;

/// <summary>How tokens are attached to calls.</summary>
public sealed class JwtCallCredentialsOptions
{
    /// <summary>
    /// Send tokens over plaintext <c>http://</c> channels too. Anyone on the path can read and replay them: use this
    /// for local development only. grpc-dotnet also needs <c>GrpcChannelOptions.UnsafeUseInsecureChannelCallCredentials</c>
    /// on such channels; the client-factory and channel-options extensions set it for you.
    /// Defaults to <see langword="false"/>.
    /// </summary>
    public bool UnsafeAllowInsecureChannel { get; set; }

    /// <summary>
    /// When a unary call fails with <c>Unauthenticated</c>, get a new token and retry it once. Streaming calls are
    /// never retried. Defaults to <see langword="true"/>.
    /// </summary>
    public bool RetryOnUnauthenticated { get; set; } = true;

    /// <summary>
    /// Keep streaming calls alive past their token's expiry: when the server maps GrpcJwtAuth's stream renewal service
    /// and the call got a call id, a fresh token from the same provider is sent for it shortly before the current one
    /// expires (see <see cref="StreamRenewalLeadTime"/>), over the same channel, for as long as the call lives. A failed
    /// renewal is retried with backoff until the current token expires. Switch it off for one call with
    /// <c>CallOptions.WithoutStreamRenewal()</c>. Defaults to <see langword="true"/>.
    /// </summary>
    public bool RenewStreams { get; set; } = true;

    /// <summary>
    /// How long before its token expires a stream is renewed; at most half of the token's remaining lifetime when the
    /// stream got it. Defaults to 00:01:00.
    /// </summary>
    public TimeSpan StreamRenewalLeadTime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The clock stream renewals are timed with. Defaults to the <see cref="System.TimeProvider"/> registered in the
    /// gRPC client factory's services, else <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }
}
