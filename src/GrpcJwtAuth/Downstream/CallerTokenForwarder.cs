using GrpcJwtAuth.Client;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Downstream;

/// <summary>
/// Sends, on a downstream call, the very token the caller of the request being handled sent: no new token, no
/// cache. Only right when the downstream service accepts the same audience (one API split into services); otherwise
/// exchange the token (<see cref="CallerTokenExchanger"/>).
/// </summary>
internal sealed class CallerTokenForwarder(IHttpContextAccessor httpContextAccessor, IOptions<GrpcJwtAuthOptions> options) : IAccessTokenProvider
{
    private readonly int _maxTokenLength = options.Value.MaxTokenLength;

    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(CallerToken.Get(httpContextAccessor.HttpContext, _maxTokenLength));

    /// <summary>The caller's token is the only one there is: the downstream rejection stands.</summary>
    public ValueTask<AccessToken> GetFreshTokenAsync(AccessToken rejected, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(rejected);
}
