namespace GrpcJwtAuth.LoadServer;

/// <summary>How the load server authenticates calls. The names are the command-line values.</summary>
internal enum AuthMode
{
    /// <summary><c>none</c>: no authentication at all; the baseline.</summary>
    None,

    /// <summary><c>grpcjwtauth</c>: AddGrpcJwtAuth with its default validated-token cache.</summary>
    GrpcJwtAuth,

    /// <summary><c>grpcjwtauth-nocache</c>: AddGrpcJwtAuth with <c>TokenCacheSize = 0</c>.</summary>
    GrpcJwtAuthNoCache,

    /// <summary><c>jwtbearer</c>: ASP.NET Core AddJwtBearer with RequireAuthorization on the service.</summary>
    JwtBearer,
}

internal static class AuthModeNames
{
    public static AuthMode Parse(string value) => value switch
    {
        "none" => AuthMode.None,
        "grpcjwtauth" => AuthMode.GrpcJwtAuth,
        "grpcjwtauth-nocache" => AuthMode.GrpcJwtAuthNoCache,
        "jwtbearer" => AuthMode.JwtBearer,
        _ => throw new ArgumentException($"Unknown mode '{value}'; expected none, grpcjwtauth, grpcjwtauth-nocache or jwtbearer."),
    };
}
