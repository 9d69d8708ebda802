using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Tool;

/// <summary>
/// Keeps the warnings and errors the server's own code logs while the tool runs it (a key endpoint that cannot be
/// reached, a discovery document naming another issuer, a key skipped): the tool prints them where they explain a step.
/// </summary>
internal sealed class KeyFetchLog : ILoggerProvider
{
    private readonly Lock _gate = new();
    private readonly List<string> _entries = [];

    /// <summary>Each record as one line: its event name, its message, and the messages of its exception chain.</summary>
    public IReadOnlyList<string> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private void Add(string entry)
    {
        lock (_gate)
        {
            // A failing endpoint is retried; one line per distinct failure is enough.
            if (_entries.Count < 20 && !_entries.Contains(entry, StringComparer.Ordinal))
            {
                _entries.Add(entry);
            }
        }
    }

    private sealed class Logger(KeyFetchLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var line = $"{eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)}: {formatter(state, exception)}";
            for (var (inner, depth) = (exception, 0); inner is not null && depth < 3; (inner, depth) = (inner.InnerException, depth + 1))
            {
                line += $" ({inner.Message})";
            }

            log.Add(Shared.SafeText.Sanitize(line, 600)!);
        }
    }
}
