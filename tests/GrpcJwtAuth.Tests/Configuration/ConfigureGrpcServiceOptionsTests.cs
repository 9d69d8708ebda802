using Grpc.AspNetCore.Server;
using Grpc.Core.Interceptors;
using GrpcJwtAuth.Configuration;
using GrpcJwtAuth.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrpcJwtAuth.Tests.Configuration;

public class ConfigureGrpcServiceOptionsTests
{
    [Fact]
    public void Configure_OtherInterceptorsAddedBeforeAndAfter_PutsGrpcJwtAuthFirstOnce()
    {
        var services = Services();
        services.AddGrpc(options => options.Interceptors.Add<BeforeInterceptor>());
        services.AddGrpcJwtAuth();
        services.Configure<GrpcServiceOptions>(options => options.Interceptors.Add<AfterInterceptor>());
        services.AddGrpcJwtAuth();

        var types = InterceptorTypes(services);

        Assert.Equal([typeof(GrpcJwtAuthInterceptor), typeof(BeforeInterceptor), typeof(AfterInterceptor)], types);
    }

    [Fact]
    public void Configure_GrpcJwtAuthAddedBeforeAddGrpc_IsStillFirst()
    {
        var services = Services();
        services.AddGrpcJwtAuth();
        services.AddGrpc(options =>
        {
            options.Interceptors.Add<BeforeInterceptor>();
            options.Interceptors.Add<AfterInterceptor>();
        });

        var types = InterceptorTypes(services);

        Assert.Equal(typeof(GrpcJwtAuthInterceptor), types[0]);
        Assert.Single(types, type => type == typeof(GrpcJwtAuthInterceptor));
    }

    [Fact]
    public void Configure_AppliedTwice_AddsTheInterceptorOnce()
    {
        var options = new GrpcServiceOptions();
        options.Interceptors.Add<BeforeInterceptor>();
        var configure = new ConfigureGrpcServiceOptions();

        configure.Configure(options);
        configure.Configure(options);

        Assert.Equal([typeof(GrpcJwtAuthInterceptor), typeof(BeforeInterceptor)], options.Interceptors.Select(registration => registration.Type));
    }

    [Fact]
    public void Configure_NoOtherInterceptors_AddsOnlyGrpcJwtAuth()
    {
        var options = new GrpcServiceOptions();

        new ConfigureGrpcServiceOptions().Configure(options);

        var registration = Assert.Single(options.Interceptors);
        Assert.Equal(typeof(GrpcJwtAuthInterceptor), registration.Type);
    }

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        return services;
    }

    private static Type[] InterceptorTypes(ServiceCollection services)
    {
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<GrpcServiceOptions>>().Value.Interceptors.Select(registration => registration.Type).ToArray();
    }

    private sealed class BeforeInterceptor : Interceptor;

    private sealed class AfterInterceptor : Interceptor;
}
