namespace GrpcJwtAuth.Tokens;

/// <summary>
/// Time arithmetic that stops at the ends of the calendar instead of throwing: a token may carry
/// <c>exp</c> = 9999-12-31T23:59:59Z, and adding the clock skew to it must give "never" rather than an
/// <see cref="ArgumentOutOfRangeException"/> in the middle of a call.
/// </summary>
internal static class SaturatingTime
{
    public static DateTimeOffset Add(DateTimeOffset time, TimeSpan span)
    {
        if (span > TimeSpan.Zero && DateTimeOffset.MaxValue - time < span)
        {
            return DateTimeOffset.MaxValue;
        }

        if (span < TimeSpan.Zero && time - DateTimeOffset.MinValue < span.Negate())
        {
            return DateTimeOffset.MinValue;
        }

        return time + span;
    }

    public static DateTime Add(DateTime time, TimeSpan span)
    {
        if (span > TimeSpan.Zero && DateTime.MaxValue - time < span)
        {
            return DateTime.MaxValue;
        }

        if (span < TimeSpan.Zero && time - DateTime.MinValue < span.Negate())
        {
            return DateTime.MinValue;
        }

        return time + span;
    }
}
