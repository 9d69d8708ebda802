namespace GrpcJwtAuth.LoadTest.Tokens;

/// <summary>One call's token and the decision the server must make about it.</summary>
/// <param name="ExpectOk">Whether a server that authenticates must accept it.</param>
/// <param name="Subject">The subject the reply must carry when accepted.</param>
/// <param name="Authorization">The whole <c>authorization</c> header value, <c>Bearer …</c>.</param>
internal sealed record TokenEntry(bool ExpectOk, string Subject, string Authorization);

/// <summary>
/// The token list handed to the generator process, one call per line in call order:
/// <c>ok|unauthenticated TAB subject TAB Bearer token</c>. Equal lines share one string when read back.
/// </summary>
internal static class TokenFile
{
    public static void Write(string path, IEnumerable<TokenEntry> entries)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var writer = new StreamWriter(path);
        foreach (var entry in entries)
        {
            writer.Write(entry.ExpectOk ? "ok" : "unauthenticated");
            writer.Write('\t');
            writer.Write(entry.Subject);
            writer.Write('\t');
            writer.Write(entry.Authorization);
            writer.Write('\n');
        }
    }

    public static TokenEntry[] Read(string path)
    {
        var distinct = new Dictionary<string, TokenEntry>(StringComparer.Ordinal);
        var entries = new List<TokenEntry>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (!distinct.TryGetValue(line, out var entry))
            {
                var parts = line.Split('\t', 3);
                if (parts.Length != 3)
                {
                    throw new FormatException($"{path}: malformed line.");
                }

                entry = new TokenEntry(parts[0] == "ok", parts[1], parts[2]);
                distinct.Add(line, entry);
            }

            entries.Add(entry);
        }

        return [.. entries];
    }

    public static TokenEntry Bearer(string token, bool expectOk, string subject = TokenMinter.Subject) =>
        new(expectOk, expectOk ? subject : string.Empty, "Bearer " + token);
}
