namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>The one bound on every wait in this suite. Nothing sleeps: waits end on a signal or fail here.</summary>
public static class TestTimeout
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    public static Task DefaultTimeout(this Task task) => task.WaitAsync(Default);

    public static Task<T> DefaultTimeout<T>(this Task<T> task) => task.WaitAsync(Default);
}
