using System.Text;
using Microsoft.Extensions.Logging.Testing;

namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>
/// Every log record of one test server (framework, grpc-dotnet and GrpcJwtAuth, from Trace up) and of its clients.
/// Like grpc-dotnet's <c>VerifyNoErrorsScope</c>, <see cref="AssertNoUnexpectedErrors"/> fails the test on any
/// Error or Critical record the test did not declare.
/// </summary>
public sealed class LogCapture
{
    private readonly HashSet<string> _expectedErrors;
    private TaskCompletionSource _nextRecord = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LogCapture(IEnumerable<string>? expectedErrorEvents = null)
    {
        _expectedErrors = new HashSet<string>(expectedErrorEvents ?? [], StringComparer.Ordinal);
        Collector = FakeLogCollector.Create(new FakeLogCollectorOptions { OutputSink = _ => OnRecord() });
    }

    public FakeLogCollector Collector { get; }

    public IReadOnlyList<FakeLogRecord> Records => Collector.GetSnapshot();

    /// <summary>A provider writing into this capture, for a host's logging builder.</summary>
    public ILoggerProvider CreateProvider() => new FakeLoggerProvider(Collector);

    /// <summary>A logger factory at Trace writing into this capture, for clients.</summary>
    public ILoggerFactory CreateLoggerFactory() => LoggerFactory.Create(logging => logging
        .SetMinimumLevel(LogLevel.Trace)
        .AddProvider(CreateProvider()));

    /// <summary>Records with this event name.</summary>
    public IReadOnlyList<FakeLogRecord> WithEvent(string eventName) =>
        Records.Where(record => record.Id.Name == eventName).ToArray();

    /// <summary>Completes once <paramref name="count"/> records with this event name exist; bound it with a timeout.</summary>
    public async Task WaitForEventCountAsync(string eventName, int count)
    {
        while (true)
        {
            var next = Volatile.Read(ref _nextRecord).Task;
            if (WithEvent(eventName).Count >= count)
            {
                return;
            }

            await next;
        }
    }

    private void OnRecord() =>
        Interlocked.Exchange(ref _nextRecord, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Declares an Error record with this event name as expected.</summary>
    public void ExpectError(string eventName)
    {
        lock (_expectedErrors)
        {
            _expectedErrors.Add(eventName);
        }
    }

    public void AssertNoUnexpectedErrors(string owner)
    {
        List<FakeLogRecord> unexpected;
        lock (_expectedErrors)
        {
            unexpected = Records
                .Where(record => record.Level >= LogLevel.Error && !_expectedErrors.Contains(record.Id.Name ?? string.Empty))
                .ToList();
        }

        if (unexpected.Count > 0)
        {
            var message = new StringBuilder($"{owner} logged {unexpected.Count} unexpected error(s):");
            foreach (var record in unexpected)
            {
                message.AppendLine().Append(Describe(record));
            }

            Assert.Fail(message.ToString());
        }
    }

    /// <summary>Everything a record carries as text: category, event, message, state values, scopes, exception.</summary>
    public static string Describe(FakeLogRecord record)
    {
        var text = new StringBuilder()
            .Append(record.Level).Append(' ').Append(record.Category)
            .Append(" [").Append(record.Id.Id).Append(' ').Append(record.Id.Name).Append("] ")
            .Append(record.Message);

        if (record.StructuredState is { } state)
        {
            foreach (var pair in state)
            {
                text.Append(" | ").Append(pair.Key).Append('=').Append(pair.Value);
            }
        }

        foreach (var scope in record.Scopes)
        {
            text.Append(" | scope ").Append(scope);
            if (scope is IEnumerable<KeyValuePair<string, object>> values)
            {
                foreach (var pair in values)
                {
                    text.Append(' ').Append(pair.Key).Append('=').Append(pair.Value);
                }
            }
        }

        if (record.Exception is not null)
        {
            text.AppendLine().Append(record.Exception);
        }

        return text.ToString();
    }
}
