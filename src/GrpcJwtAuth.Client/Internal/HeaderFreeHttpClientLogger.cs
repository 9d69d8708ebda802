using GrpcJwtAuth.Shared;
using Microsoft.Extensions.Http.Logging;
using Microsoft.Extensions.Logging;

namespace GrpcJwtAuth.Client.Internal;

/// <summary>
/// Logs the HTTP requests of a gRPC client that carries tokens (method, address without query, status, duration) and
/// never a header. It replaces Microsoft.Extensions.Http's default loggers, which redact header values in the message
/// but hand them as they are to structured sinks, so at Trace every <c>authorization: Bearer</c> value reached them.
/// </summary>
internal sealed partial class HeaderFreeHttpClientLogger(ILogger logger) : IHttpClientLogger
{
    public object? LogRequestStart(HttpRequestMessage request)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            RequestStart(logger, request.Method, Address(request));
        }

        return null;
    }

    public void LogRequestStop(object? context, HttpRequestMessage request, HttpResponseMessage response, TimeSpan elapsed)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            RequestEnd(logger, request.Method, Address(request), elapsed.TotalMilliseconds, (int)response.StatusCode);
        }
    }

    public void LogRequestFailed(object? context, HttpRequestMessage request, HttpResponseMessage? response, Exception exception, TimeSpan elapsed) =>
        RequestFailed(logger, request.Method, Address(request), elapsed.TotalMilliseconds, exception.GetType().Name);

    private static string Address(HttpRequestMessage request) =>
        request.RequestUri is { IsAbsoluteUri: true } uri ? EndpointAddress.Display(uri) : string.Empty;

    [LoggerMessage(EventId = 100, EventName = "RequestStart", Level = LogLevel.Information,
        Message = "Sending HTTP request {HttpMethod} {Uri}")]
    private static partial void RequestStart(ILogger logger, HttpMethod httpMethod, string uri);

    [LoggerMessage(EventId = 101, EventName = "RequestEnd", Level = LogLevel.Information,
        Message = "Received HTTP response {HttpMethod} {Uri} after {ElapsedMilliseconds}ms - {StatusCode}")]
    private static partial void RequestEnd(ILogger logger, HttpMethod httpMethod, string uri, double elapsedMilliseconds, int statusCode);

    [LoggerMessage(EventId = 102, EventName = "RequestFailed", Level = LogLevel.Warning,
        Message = "HTTP request {HttpMethod} {Uri} failed after {ElapsedMilliseconds}ms: {ExceptionType}")]
    private static partial void RequestFailed(ILogger logger, HttpMethod httpMethod, string uri, double elapsedMilliseconds, string exceptionType);
}
