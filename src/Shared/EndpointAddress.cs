using System.Diagnostics.CodeAnalysis;

namespace GrpcJwtAuth.Shared;

/// <summary>What is wrong with an endpoint address, if anything.</summary>
internal enum EndpointAddressProblem
{
    None = 0,

    /// <summary>Not an absolute http or https address.</summary>
    NotAbsoluteHttp = 1,

    /// <summary>A plain http address where https is required.</summary>
    NotHttps = 2,
}

/// <summary>
/// The rules both packages apply to the addresses of identity provider endpoints (discovery documents, key sets, token
/// endpoints): absolute, http or https, and https unless the settings allow plain HTTP. Linked into both packages.
/// </summary>
internal static class EndpointAddress
{
    /// <summary>What an authority's discovery document address ends with (OpenID Connect Discovery 1.0 section 4).</summary>
    public const string DiscoverySuffix = "/.well-known/openid-configuration";

    /// <summary>The discovery document address of <paramref name="authority"/>: a trailing slash is dropped first.</summary>
    public static string Discovery(string authority) => authority.TrimEnd('/') + DiscoverySuffix;

    /// <summary>Whether <paramref name="uri"/> uses a scheme the settings allow.</summary>
    public static bool IsAllowed(Uri uri, bool requireHttps) =>
        uri.Scheme == Uri.UriSchemeHttps || (!requireHttps && uri.Scheme == Uri.UriSchemeHttp);

    /// <summary>Parses <paramref name="value"/> and checks it against the rules.</summary>
    public static EndpointAddressProblem Check(string? value, bool requireHttps, [NotNullWhen(true)] out Uri? uri)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            uri = null;
            return EndpointAddressProblem.NotAbsoluteHttp;
        }

        if (!IsAllowed(uri, requireHttps))
        {
            uri = null;
            return EndpointAddressProblem.NotHttps;
        }

        return EndpointAddressProblem.None;
    }

    /// <summary>
    /// The address without user information, query or fragment: what an error message or a log line may show of it.
    /// </summary>
    public static string Display(Uri uri) =>
        uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
}
