using Microsoft.Extensions.DependencyInjection;

namespace GrpcJwtAuth.Configuration;

/// <summary>
/// Puts GrpcJwtAuth's implementation of a framework service in front of the app's (ASP.NET Core's own unless the app
/// registered another before <c>AddGrpcJwtAuth</c>): takes the app's last registration out of the collection, to be
/// created by GrpcJwtAuth's, or re-registered under a private key with its lifetime.
/// </summary>
internal static class ServiceDecoration
{
    /// <summary>
    /// Removes the app's registration of <paramref name="serviceType"/> and returns how to create what it registered
    /// (<paramref name="defaultImplementation"/> when there was none), with its lifetime.
    /// </summary>
    public static (Func<IServiceProvider, object> Create, ServiceLifetime Lifetime) Take(
        IServiceCollection services, Type serviceType, Type defaultImplementation, ServiceLifetime defaultLifetime)
    {
        var existing = Remove(services, serviceType);
        Func<IServiceProvider, object> create = existing switch
        {
            { ImplementationInstance: { } instance } => _ => instance,
            { ImplementationFactory: { } factory } => factory,
            _ => Activate(existing?.ImplementationType ?? defaultImplementation),
        };
        return (create, existing?.Lifetime ?? defaultLifetime);
    }

    /// <summary>
    /// Re-registers the app's registration of <paramref name="serviceType"/> (<paramref name="defaultImplementation"/>
    /// with <paramref name="defaultLifetime"/> when there was none) under <paramref name="key"/>, with its lifetime.
    /// </summary>
    public static void MoveUnderKey(
        IServiceCollection services, Type serviceType, object key, Type defaultImplementation, ServiceLifetime defaultLifetime)
    {
        var existing = Remove(services, serviceType);
        var lifetime = existing?.Lifetime ?? defaultLifetime;
        services.Add(existing switch
        {
            { ImplementationInstance: { } instance } => ServiceDescriptor.KeyedSingleton(serviceType, key, instance),
            { ImplementationFactory: { } factory } => ServiceDescriptor.DescribeKeyed(serviceType, key, (sp, _) => factory(sp), lifetime),
            _ => ServiceDescriptor.DescribeKeyed(serviceType, key, existing?.ImplementationType ?? defaultImplementation, lifetime),
        });
    }

    private static ServiceDescriptor? Remove(IServiceCollection services, Type serviceType)
    {
        var existing = services.LastOrDefault(descriptor => descriptor.ServiceType == serviceType && !descriptor.IsKeyedService);
        if (existing is not null)
        {
            services.Remove(existing);
        }

        return existing;
    }

    private static Func<IServiceProvider, object> Activate(Type type)
    {
        var factory = ActivatorUtilities.CreateFactory(type, Type.EmptyTypes);
        return sp => factory(sp, arguments: null);
    }
}
