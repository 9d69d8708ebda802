namespace GrpcJwtAuth.Client;

/// <summary>
/// No valid token could be had. The message says why (for example the token endpoint's <c>error</c> and
/// <c>error_description</c>) and never contains a token or a secret; <see cref="Failure"/> says what kind of failure
/// it was, which decides the status of a call that needed the token.
/// </summary>
public sealed class AccessTokenException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AccessTokenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public AccessTokenException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with its kind and cause.</summary>
    public AccessTokenException(AccessTokenFailure failure, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
    }

    /// <summary>What kind of failure this is. Defaults to <see cref="AccessTokenFailure.Unknown"/>.</summary>
    public AccessTokenFailure Failure { get; init; }

    /// <summary>The OAuth 2.0 <c>error</c> code the token endpoint returned, if any.</summary>
    public string? Error { get; init; }

    /// <summary>The OAuth 2.0 <c>error_description</c> the token endpoint returned, if any.</summary>
    public string? ErrorDescription { get; init; }
}
