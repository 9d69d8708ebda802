using GrpcJwtAuth.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GrpcJwtAuth.Tests;

public class SmokeTests
{
    [Fact]
    public void Minted_token_has_three_parts()
    {
        var factory = new TestTokenFactory(new FakeTimeProvider(DateTimeOffset.UtcNow));
        Assert.Equal(3, factory.Create(TestSigningKey.Rsa()).Split('.').Length);
    }
}
