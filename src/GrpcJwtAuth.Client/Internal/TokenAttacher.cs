using Grpc.Core;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// The call-credentials callback: refuses plaintext channels unless allowed, gets a token (or uses the one given)
/// and adds <c>authorization: Bearer &lt;token&gt;</c>. Remembers the token it sent, for a retry to replace.
/// </summary>
internal sealed class TokenAttacher(IAccessTokenProvider provider, bool allowInsecureChannel, AccessToken? fixedToken = null)
{
    internal const string HeaderName = "authorization";

    public AccessToken? SentToken { get; private set; }

    public bool Invoked { get; private set; }

    /// <summary>
    /// The status of a call that got no token: <c>Unavailable</c> when the identity provider could not be reached
    /// (worth retrying), <c>Unauthenticated</c> when it refused the client or answered with nothing usable. The
    /// detail is the exception's message, which names the cause and never a token or secret.
    /// </summary>
    public static Status StatusFor(AccessTokenException exception)
    {
        var code = exception.Failure is AccessTokenFailure.Unavailable or AccessTokenFailure.Unknown
            ? StatusCode.Unavailable
            : StatusCode.Unauthenticated;
        return new Status(code, "No access token: " + exception.Message, exception);
    }

    public CallCredentials ToCallCredentials() => CallCredentials.FromInterceptor(AttachAsync);

    public async Task AttachAsync(AuthInterceptorContext context, Metadata metadata)
    {
        Invoked = true;
        if (!allowInsecureChannel && context.ServiceUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                "Refusing to send an access token over a plaintext (http://) channel. Use https, or set " +
                "JwtCallCredentialsOptions.UnsafeAllowInsecureChannel = true (development only).");
        }

        AccessToken token;
        try
        {
            token = fixedToken ?? await provider.GetTokenAsync(context.CancellationToken).ConfigureAwait(false);
        }
        catch (AccessTokenException ex)
        {
            // grpc-dotnet keeps the status of an RpcException thrown here; anything else would become Internal or
            // Unavailable by the exception's type.
            throw new RpcException(StatusFor(ex));
        }

        SentToken = token;
        metadata.Add(HeaderName, "Bearer " + token.Value);
    }
}
