namespace GrpcJwtAuth.Shared;

/// <summary>Durations in status details and log lines, as people read them. Linked into both packages.</summary>
internal static class HumanDuration
{
    /// <summary>Whole seconds below 2 minutes, then minutes, hours below 2 days, then days; rounded down, never negative.</summary>
    public static string Format(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        return span.TotalSeconds switch
        {
            < 120 => $"{(long)span.TotalSeconds} s",
            < 2 * 3600 => $"{(long)span.TotalMinutes} min",
            < 2 * 86400 => $"{(long)span.TotalHours} h",
            _ => $"{(long)span.TotalDays} d",
        };
    }
}
