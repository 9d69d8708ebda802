using System.Collections.Concurrent;
using System.Diagnostics;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// The finished request activities of one server (ASP.NET Core's, from the <see cref="ActivitySource"/> in its
/// services), all data requested, as a tracing exporter would get them.
/// </summary>
public sealed class ActivityCapture : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ActivityCapture(IServiceProvider services)
    {
        var source = services.GetRequiredService<ActivitySource>();
        _listener = new ActivityListener
        {
            ShouldListenTo = candidate => ReferenceEquals(candidate, source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                _stopped.Enqueue(activity);
                Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> Activities => [.. _stopped];

    /// <summary>Completes once <paramref name="count"/> activities have finished; bound it with a timeout.</summary>
    public async Task WaitForCountAsync(int count)
    {
        while (true)
        {
            var next = Volatile.Read(ref _next).Task;
            if (_stopped.Count >= count)
            {
                return;
            }

            await next;
        }
    }

    /// <summary>All the text an activity carries: names, tags, baggage, events.</summary>
    public static string Describe(Activity activity) =>
        $"{activity.OperationName} {activity.DisplayName} "
        + string.Join(", ", activity.TagObjects.Select(tag => $"{tag.Key}={tag.Value}"))
        + " " + string.Join(", ", activity.Baggage.Select(item => $"{item.Key}={item.Value}"))
        + " " + string.Join(", ", activity.Events.Select(e => e.Name + " " + string.Join(", ", e.Tags.Select(tag => $"{tag.Key}={tag.Value}"))));

    public void Dispose() => _listener.Dispose();
}
