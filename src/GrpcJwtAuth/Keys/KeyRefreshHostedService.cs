using GrpcJwtAuth.Issuers;
using Microsoft.Extensions.Hosting;

namespace GrpcJwtAuth.Keys;

/// <summary>Starts every issuer's first key fetch when the host starts, without holding up startup.</summary>
internal sealed class KeyRefreshHostedService(TrustedIssuers keys) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        keys.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
