using Grpc.Core;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>Call options carrying <c>authorization</c> metadata.</summary>
public static class Auth
{
    public static CallOptions None => new(new Metadata());

    public static CallOptions Bearer(string token) => Header("Bearer " + token);

    /// <summary>One <c>authorization</c> entry per value, sent as given.</summary>
    public static CallOptions Header(params string[] values)
    {
        var metadata = new Metadata();
        foreach (var value in values)
        {
            metadata.Add("authorization", value);
        }

        return new CallOptions(metadata);
    }
}
