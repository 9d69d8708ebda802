using System.Net.Http.Json;
using System.Text.Json.Serialization;

namespace Greeter.Client;

/// <summary>
/// Asks the server's development issuer for tokens with a chosen subject, roles, audience and lifetime, through its
/// OAuth 2.0 client-credentials endpoint. Used by the demo for the tokens a real identity provider would never mint
/// (already expired, wrong audience).
/// </summary>
internal sealed class DemoTokens(HttpClient http, Uri server)
{
    public async Task<string> GetAsync(string subject, string roles = "", int lifetimeSeconds = 300, string? audience = null)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = subject,
            ["subject"] = subject,
            ["roles"] = roles,
            ["lifetime"] = lifetimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (audience is not null)
        {
            form["audience"] = audience;
        }

        using var response = await http.PostAsync(new Uri(server, "/connect/token"), new FormUrlEncodedContent(form));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"The development issuer answered HTTP {(int)response.StatusCode}. Is the server running without an external Authority?");
        }

        var body = await response.Content.ReadFromJsonAsync<TokenResponse>();
        return body?.AccessToken ?? throw new InvalidOperationException("The development issuer returned no access_token.");
    }

    /// <summary>The same token with its signature altered: it must never be accepted.</summary>
    public static string Tamper(string token)
    {
        var lastDot = token.LastIndexOf('.');
        var signature = token[(lastDot + 1)..].ToCharArray();
        signature[signature.Length / 2] = signature[signature.Length / 2] == 'A' ? 'B' : 'A';
        return token[..(lastDot + 1)] + new string(signature);
    }

    private sealed class TokenResponse
    {
        [JsonPropertyName("access_token")]
        public string? AccessToken { get; set; }
    }
}
