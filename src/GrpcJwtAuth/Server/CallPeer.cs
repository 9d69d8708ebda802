using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace GrpcJwtAuth.Server;

/// <summary>
/// The peer of a call as grpc-dotnet's <c>ServerCallContext.Peer</c> spells it (<c>ipv4:10.0.0.7:51234</c>,
/// <c>ipv6:[::1]:443</c>), from the connection alone: no header a caller sends goes into it. Built only for rejections.
/// </summary>
internal static class CallPeer
{
    public static string Of(HttpContext httpContext)
    {
        var connection = httpContext.Connection;
        var address = connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => $"ipv4:{address}:{connection.RemotePort}",
            AddressFamily.InterNetworkV6 => $"ipv6:[{address}]:{connection.RemotePort}",
            _ => $"unknown:{address}:{connection.RemotePort}",
        };
    }
}
