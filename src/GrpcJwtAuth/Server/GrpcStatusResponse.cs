using System.Globalization;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Server;

/// <summary>
/// Answers a request with a gRPC status outside grpc-dotnet's call handlers: a trailers-only response (HTTP 200,
/// <c>content-type: application/grpc</c>, <c>grpc-status</c> and <c>grpc-message</c> in the headers, no body), which
/// gRPC clients read exactly as a status thrown by a handler.
/// </summary>
internal static class GrpcStatusResponse
{
    public const string ContentType = "application/grpc";

    /// <summary>Writes <paramref name="status"/> as the whole response. The response must not have started.</summary>
    public static void Write(HttpContext httpContext, Status status) =>
        Write(httpContext, StatusHeader(status.StatusCode), MessageHeader(status.Detail));

    /// <summary>Writes a status whose header values were encoded ahead (see <see cref="StatusHeader"/>, <see cref="MessageHeader"/>).</summary>
    public static void Write(HttpContext httpContext, string grpcStatus, string grpcMessage)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers["grpc-status"] = grpcStatus;
        if (grpcMessage.Length > 0)
        {
            response.Headers["grpc-message"] = grpcMessage;
        }
    }

    public static string StatusHeader(StatusCode code) => ((int)code).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>grpc-message</c> as the gRPC HTTP/2 protocol encodes it: UTF-8, with every byte outside printable ASCII
    /// (0x20–0x7E) and <c>%</c> itself percent-encoded.
    /// </summary>
    public static string MessageHeader(string? detail)
    {
        if (string.IsNullOrEmpty(detail))
        {
            return string.Empty;
        }

        var plain = true;
        foreach (var c in detail)
        {
            if (c is < ' ' or > '~' or '%')
            {
                plain = false;
                break;
            }
        }

        if (plain)
        {
            return detail;
        }

        var encoded = new StringBuilder(detail.Length * 2);
        foreach (var b in Encoding.UTF8.GetBytes(detail))
        {
            if (b is < 0x20 or > 0x7E or (byte)'%')
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                encoded.Append((char)b);
            }
        }

        return encoded.ToString();
    }
}
