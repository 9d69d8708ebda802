using Grpc.Core;
using GrpcJwtAuth.Client.Internal;

namespace GrpcJwtAuth.Client.Tests;

public sealed class JwtCallOptionsExtensionsTests
{
    [Fact]
    public void WithoutStreamRenewal_Metadata_AddsTheMarkerAndReturnsTheSameInstance()
    {
        var headers = new Metadata { { "a", "1" } };

        var marked = headers.WithoutStreamRenewal();

        Assert.Same(headers, marked);
        Assert.Equal(["a=1", $"{JwtCallCredentialsInterceptor.NoRenewalHeader}=off"], headers.Select(entry => $"{entry.Key}={entry.Value}"));
    }

    [Fact]
    public void WithoutStreamRenewal_MetadataTwice_AddsOneMarker()
    {
        var headers = new Metadata();

        headers.WithoutStreamRenewal().WithoutStreamRenewal();

        Assert.Single(headers, entry => entry.Key == JwtCallCredentialsInterceptor.NoRenewalHeader);
        Assert.Single(headers);
    }

    [Fact]
    public void WithoutStreamRenewal_NullMetadata_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => ((Metadata)null!).WithoutStreamRenewal());
    }

    [Fact]
    public void WithoutStreamRenewal_CallOptions_LeavesTheCallersMetadataAlone()
    {
        var headers = new Metadata { { "a", "1" }, { "b", "2" } };
        var options = new CallOptions(headers, deadline: DateTime.UnixEpoch.AddYears(60));

        var marked = options.WithoutStreamRenewal();

        Assert.Equal(["a=1", "b=2"], headers.Select(entry => $"{entry.Key}={entry.Value}"));
        Assert.NotSame(headers, marked.Headers);
        Assert.Equal(["a=1", "b=2", $"{JwtCallCredentialsInterceptor.NoRenewalHeader}=off"], marked.Headers!.Select(entry => $"{entry.Key}={entry.Value}"));
        Assert.Equal(options.Deadline, marked.Deadline);
    }

    [Fact]
    public void WithoutStreamRenewal_CallOptionsWithoutHeaders_CarriesOnlyTheMarker()
    {
        var marked = new CallOptions().WithoutStreamRenewal();

        Assert.Equal(JwtCallCredentialsInterceptor.NoRenewalHeader, Assert.Single(marked.Headers!).Key);
    }

    [Fact]
    public void WithoutStreamRenewal_CallOptionsTwice_AddsOneMarker()
    {
        var marked = new CallOptions().WithoutStreamRenewal().WithoutStreamRenewal();

        Assert.Single(marked.Headers!);
    }
}
