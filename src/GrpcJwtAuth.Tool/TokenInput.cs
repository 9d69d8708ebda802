namespace GrpcJwtAuth.Tool;

/// <summary>What standard input held.</summary>
internal enum TokenInputProblem
{
    None,
    Empty,
    TooLarge,
}

/// <summary>
/// Reads the token from standard input, never more than the server's <c>MaxTokenLength</c> and a little room for a
/// <c>Bearer </c> prefix and whitespace: an endless or huge input is refused after that many characters, not read to
/// its end.
/// </summary>
internal static class TokenInput
{
    /// <summary>Room beyond the token for <c>Bearer </c>, line ends and surrounding whitespace.</summary>
    public const int Slack = 256;

    private const string Scheme = "Bearer";

    /// <summary>The text read, trimmed and without a leading <c>Bearer </c>; at most <paramref name="maxTokenLength"/> + <see cref="Slack"/> characters are read.</summary>
    public static async Task<(string? Token, TokenInputProblem Problem)> ReadAsync(TextReader input, int maxTokenLength, CancellationToken cancellationToken)
    {
        var limit = maxTokenLength + Slack;
        var buffer = new char[limit + 1];
        var read = 0;
        while (read < buffer.Length)
        {
            var count = await input.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (count == 0)
            {
                break;
            }

            read += count;
        }

        if (read > limit)
        {
            return (null, TokenInputProblem.TooLarge);
        }

        var text = buffer.AsSpan(0, read).Trim();
        if (text.Length > Scheme.Length
            && text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            && char.IsWhiteSpace(text[Scheme.Length]))
        {
            text = text[Scheme.Length..].Trim();
        }

        return text.IsEmpty ? (null, TokenInputProblem.Empty) : (text.ToString(), TokenInputProblem.None);
    }
}
