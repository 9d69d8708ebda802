using Grpc.Core;
using Grpc.Core.Interceptors;
using GrpcJwtAuth.Client;
using GrpcJwtAuth.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grpc.Net.Client;

/// <summary>Attach JWT bearer tokens to the calls of a channel.</summary>
public static class JwtCallCredentialsExtensions
{
    /// <summary>
    /// Makes the channel created with these options send a token from <paramref name="provider"/> on every call, by
    /// composing call credentials with TLS channel credentials. A channel with an <c>http://</c> address then fails
    /// to be created, unless <see cref="JwtCallCredentialsOptions.UnsafeAllowInsecureChannel"/> is set (the address
    /// must then be <c>http://</c>). Calls are not retried on <c>Unauthenticated</c>, nor streams renewed, this way; use
    /// <see cref="AddJwtCallCredentials(GrpcChannel, IAccessTokenProvider)"/>
    /// for that.
    /// </summary>
    public static GrpcChannelOptions AddJwtCallCredentials(this GrpcChannelOptions options, IAccessTokenProvider provider) =>
        options.AddJwtCallCredentials(provider, configure: null);

    /// <summary>
    /// Like <see cref="AddJwtCallCredentials(GrpcChannelOptions, IAccessTokenProvider)"/>, with settings.
    /// </summary>
    public static GrpcChannelOptions AddJwtCallCredentials(
        this GrpcChannelOptions options,
        IAccessTokenProvider provider,
        Action<JwtCallCredentialsOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(provider);

        var settings = new JwtCallCredentialsOptions();
        configure?.Invoke(settings);
        var callCredentials = new SharedTokenAttacher(provider, settings.UnsafeAllowInsecureChannel).ToCallCredentials();
        if (settings.UnsafeAllowInsecureChannel)
        {
            options.UnsafeUseInsecureChannelCallCredentials = true;
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, callCredentials);
        }
        else
        {
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, callCredentials);
        }

        return options;
    }

    /// <summary>
    /// A call invoker that sends a token from <paramref name="provider"/> on every call of <paramref name="channel"/>,
    /// retries a unary call once with a new token when it fails with <c>Unauthenticated</c>, and renews streaming calls
    /// before their token expires when the server supports it (<see cref="JwtCallCredentialsOptions.RenewStreams"/>).
    /// </summary>
    public static CallInvoker AddJwtCallCredentials(this GrpcChannel channel, IAccessTokenProvider provider) =>
        channel.AddJwtCallCredentials(provider, configure: null, loggerFactory: null);

    /// <summary>
    /// Like <see cref="AddJwtCallCredentials(GrpcChannel, IAccessTokenProvider)"/>, with settings and a logger factory.
    /// </summary>
    public static CallInvoker AddJwtCallCredentials(
        this GrpcChannel channel,
        IAccessTokenProvider provider,
        Action<JwtCallCredentialsOptions>? configure,
        ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel.CreateCallInvoker().AddJwtCallCredentials(provider, configure, loggerFactory);
    }

    /// <summary>
    /// Wraps <paramref name="invoker"/> so that every call carries a token from <paramref name="provider"/>, a unary
    /// call failing with <c>Unauthenticated</c> is retried once with a new token, and streaming calls are renewed over
    /// <paramref name="invoker"/> before their token expires when the server supports it.
    /// </summary>
    public static CallInvoker AddJwtCallCredentials(this CallInvoker invoker, IAccessTokenProvider provider) =>
        invoker.AddJwtCallCredentials(provider, configure: null, loggerFactory: null);

    /// <summary>
    /// Like <see cref="AddJwtCallCredentials(CallInvoker, IAccessTokenProvider)"/>, with settings and a logger factory.
    /// </summary>
    public static CallInvoker AddJwtCallCredentials(
        this CallInvoker invoker,
        IAccessTokenProvider provider,
        Action<JwtCallCredentialsOptions>? configure,
        ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(provider);

        var settings = new JwtCallCredentialsOptions();
        configure?.Invoke(settings);
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(typeof(JwtCallCredentialsInterceptor).FullName!);
        // Streams are renewed over the same invoker, below this interceptor: the fresh token goes in the renewal's own headers.
        return invoker.Intercept(new JwtCallCredentialsInterceptor(provider, settings, logger, () => invoker));
    }

    /// <summary>A stateless attacher for channel-wide credentials, where no per-call state can be kept.</summary>
    private sealed class SharedTokenAttacher(IAccessTokenProvider provider, bool allowInsecureChannel)
    {
        public CallCredentials ToCallCredentials() => CallCredentials.FromInterceptor(
            (context, metadata) => new TokenAttacher(provider, allowInsecureChannel).AttachAsync(context, metadata));
    }
}
