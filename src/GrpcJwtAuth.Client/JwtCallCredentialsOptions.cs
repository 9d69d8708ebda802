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
}
