namespace GrpcJwtAuth.IntegrationTests.Infrastructure;

/// <summary>Finds tokens (or their payload or signature, see <see cref="Secrets.Of"/>) in what a server left behind.</summary>
public static class SecretScan
{
    /// <summary>Each of <paramref name="texts"/> that quotes one of <paramref name="tokens"/> or a secret part of it.</summary>
    public static List<string> Leaks(IEnumerable<string> texts, IEnumerable<string> tokens)
    {
        var secrets = tokens.SelectMany(Secrets.Of).Distinct(StringComparer.Ordinal).ToArray();
        return texts.Where(text => secrets.Any(secret => text.Contains(secret, StringComparison.Ordinal))).ToList();
    }

    /// <summary>Every log record (as all the text it carries) that quotes a token or one of its secret parts.</summary>
    public static List<string> Leaks(LogCapture logs, IEnumerable<string> tokens) =>
        Leaks(logs.Records.Select(LogCapture.Describe), tokens);
}
