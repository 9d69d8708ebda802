using System.Globalization;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>One log line as written: event, level, formatted message, exception, and each structured value as text.</summary>
internal sealed record LogEntry(
    string? EventName, LogLevel Level, string Message, Exception? Exception, IReadOnlyList<KeyValuePair<string, string?>> State);

/// <summary>
/// Keeps every log line, at every level, and lets a test wait until an event has been written a number of times:
/// the signal that background work reached that point, without sleeping.
/// </summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly Lock _gate = new();
    private readonly List<LogEntry> _entries = [];
    private readonly List<(string EventName, int Count, TaskCompletionSource Reached)> _waiters = [];

    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public int Count(string eventName) => Entries.Count(entry => entry.EventName == eventName);

    /// <summary>Completes once <paramref name="eventName"/> has been written <paramref name="count"/> times; fails after 10 s.</summary>
    public Task WaitForAsync(string eventName, int count = 1)
    {
        lock (_gate)
        {
            if (_entries.Count(entry => entry.EventName == eventName) >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((eventName, count, reached));
            return reached.Task.DefaultTimeout();
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        IReadOnlyList<KeyValuePair<string, string?>> values = state is IReadOnlyList<KeyValuePair<string, object?>> structured
            ? [.. structured.Select(pair => new KeyValuePair<string, string?>(pair.Key, Convert.ToString(pair.Value, CultureInfo.InvariantCulture)))]
            : [new KeyValuePair<string, string?>("{OriginalFormat}", Convert.ToString(state, CultureInfo.InvariantCulture))];
        var entry = new LogEntry(eventId.Name, logLevel, formatter(state, exception), exception, values);
        List<TaskCompletionSource> reached = [];
        lock (_gate)
        {
            _entries.Add(entry);
            var count = _entries.Count(e => e.EventName == entry.EventName);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].EventName == entry.EventName && count >= _waiters[i].Count)
                {
                    reached.Add(_waiters[i].Reached);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var waiter in reached)
        {
            waiter.TrySetResult();
        }
    }
}

/// <summary>An <see cref="ILoggerFactory"/> whose loggers all write to one <see cref="RecordingLogger{T}"/>.</summary>
internal sealed class RecordingLoggerFactory : ILoggerFactory
{
    public RecordingLogger<RecordingLoggerFactory> Logger { get; } = new();

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => Logger;

    public void Dispose()
    {
    }
}
