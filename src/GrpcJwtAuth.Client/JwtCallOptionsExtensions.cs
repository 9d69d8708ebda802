namespace Grpc.Core;

/// <summary>Per-call settings for calls made with <c>AddJwtCallCredentials</c>.</summary>
public static class JwtCallOptionsExtensions
{
    /// <summary>
    /// Asks <c>AddJwtCallCredentials</c> not to renew this streaming call: it ends when its token expires. The marker is
    /// taken off before the call is sent.
    /// </summary>
    public static CallOptions WithoutStreamRenewal(this CallOptions options)
    {
        var headers = new Metadata();
        if (options.Headers is { } existing)
        {
            foreach (var entry in existing)
            {
                headers.Add(entry);
            }
        }

        return options.WithHeaders(headers.WithoutStreamRenewal());
    }

    /// <summary>
    /// Marks the call these request headers are sent with as one <c>AddJwtCallCredentials</c> must not renew (see
    /// <see cref="WithoutStreamRenewal(CallOptions)"/>), for generated clients' <c>headers:</c> parameter.
    /// </summary>
    /// <returns><paramref name="headers"/>, with the marker added.</returns>
    public static Metadata WithoutStreamRenewal(this Metadata headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (headers.Get(GrpcJwtAuth.Client.Internal.JwtCallCredentialsInterceptor.NoRenewalHeader) is null)
        {
            headers.Add(GrpcJwtAuth.Client.Internal.JwtCallCredentialsInterceptor.NoRenewalHeader, "off");
        }

        return headers;
    }
}
