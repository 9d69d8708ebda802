using Grpc.Core;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>
/// Runs <see cref="CallCredentials"/> the way grpc-dotnet does, without a channel: a
/// <see cref="CallCredentialsConfiguratorBase"/> collects every <see cref="AsyncAuthInterceptor"/> (composites
/// flattened, in order) and each is invoked with an <see cref="AuthInterceptorContext"/> and one shared
/// <see cref="Metadata"/>.
/// </summary>
internal static class CallCredentialsRunner
{
    public const string SecureServiceUrl = "https://host/pkg.Svc";

    public static async Task<Metadata> RunAsync(CallCredentials credentials, string serviceUrl = SecureServiceUrl, string methodName = "Method")
    {
        var configurator = new CollectingConfigurator();
        credentials.InternalPopulateConfiguration(configurator, null);
        var metadata = new Metadata();
        var context = new AuthInterceptorContext(serviceUrl, methodName);
        foreach (var interceptor in configurator.Interceptors)
        {
            await interceptor(context, metadata);
        }

        return metadata;
    }

    private sealed class CollectingConfigurator : CallCredentialsConfiguratorBase
    {
        public List<AsyncAuthInterceptor> Interceptors { get; } = [];

        public override void SetAsyncAuthInterceptorCredentials(object? state, AsyncAuthInterceptor interceptor) => Interceptors.Add(interceptor);

        public override void SetCompositeCredentials(object? state, IReadOnlyList<CallCredentials> credentials)
        {
            foreach (var inner in credentials)
            {
                inner.InternalPopulateConfiguration(this, state);
            }
        }
    }
}
