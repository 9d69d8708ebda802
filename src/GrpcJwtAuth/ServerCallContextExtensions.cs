using GrpcJwtAuth;

namespace Grpc.Core;

/// <summary>Access to the caller GrpcJwtAuth authenticated, from a gRPC service method.</summary>
public static class GrpcJwtAuthServerCallContextExtensions
{
    /// <summary>
    /// The caller authenticated for this call, or <see langword="null"/> when the method allows anonymous callers
    /// and none was authenticated.
    /// </summary>
    public static JwtCaller? GetJwtCaller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return (context.GetHttpContext().User as JwtCallerPrincipal)?.Caller;
    }

    /// <summary>
    /// The caller authenticated for this call.
    /// </summary>
    /// <exception cref="InvalidOperationException">No caller was authenticated: the method allows anonymous callers,
    /// or GrpcJwtAuth is not registered.</exception>
    public static JwtCaller GetRequiredJwtCaller(this ServerCallContext context) =>
        context.GetJwtCaller() ?? throw new InvalidOperationException(
            "No authenticated caller: the method allows anonymous calls, or AddGrpcJwtAuth() was not called.");
}
