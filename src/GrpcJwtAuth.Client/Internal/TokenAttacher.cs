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

        var token = fixedToken ?? await provider.GetTokenAsync(context.CancellationToken).ConfigureAwait(false);
        SentToken = token;
        metadata.Add(HeaderName, "Bearer " + token.Value);
    }
}
