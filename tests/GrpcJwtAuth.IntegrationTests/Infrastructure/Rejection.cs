using Grpc.Core;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

public static class Rejection
{
    /// <summary>
    /// Runs a call that must fail with exactly <paramref name="code"/> and <paramref name="detail"/>, and checks that
    /// nothing the client got back (detail, message, trailers) quotes <paramref name="token"/> or its signature.
    /// </summary>
    public static async Task<RpcException> AssertAsync(Func<Task> call, StatusCode code, string detail, string? token = null)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(() => call().DefaultTimeout());

        Assert.Equal(code, exception.StatusCode);
        Details.AssertMatches(detail, exception.Status.Detail);
        Assert.Null(exception.Status.DebugException);
        if (token is not null)
        {
            AssertNotQuoted(exception, token);
        }

        return exception;
    }

    public static void AssertNotQuoted(RpcException exception, string token)
    {
        foreach (var secret in Secrets.Of(token))
        {
            Assert.DoesNotContain(secret, exception.Status.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, exception.Message, StringComparison.Ordinal);
            foreach (var trailer in exception.Trailers)
            {
                Assert.DoesNotContain(secret, trailer.IsBinary ? Convert.ToBase64String(trailer.ValueBytes) : trailer.Value, StringComparison.Ordinal);
            }
        }
    }
}

/// <summary>The parts of a token that must never show up anywhere but in the request that carried it.</summary>
public static class Secrets
{
    /// <summary>The whole token, and its payload and signature segments when it has them.</summary>
    public static IEnumerable<string> Of(string token)
    {
        yield return token;
        var parts = token.Split('.');
        if (parts.Length == 3)
        {
            if (parts[1].Length > 0)
            {
                yield return parts[1];
            }

            if (parts[2].Length > 0)
            {
                yield return parts[2];
            }
        }
    }
}
