namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>The one bound on every wait in this project. Nothing sleeps: waits end on a signal or fail here.</summary>
internal static class TestTimeout
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    public static Task DefaultTimeout(this Task task) => task.WaitAsync(Default);

    public static Task<T> DefaultTimeout<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task<T> DefaultTimeout<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Default);
}

/// <summary>Reads results that must already be there, without blocking.</summary>
internal static class Completed
{
    /// <summary>The result of <paramref name="task"/>, which must have completed successfully already (synchronously).</summary>
    public static T Result<T>(ValueTask<T> task)
    {
        Assert.True(task.IsCompletedSuccessfully, $"Expected a result at once; the task is {(task.IsFaulted ? "faulted" : task.IsCanceled ? "canceled" : "pending")}.");
        return task.GetAwaiter().GetResult();
    }
}
