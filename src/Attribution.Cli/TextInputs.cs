namespace Attribution.Cli;

/// <summary>The texts of a run: from <c>--text</c> options, then from the <c>--input</c> file.</summary>
internal static class TextInputs
{
    /// <summary>
    /// Collects the texts. An input file is a TSV when its first line has a tab and a column named <c>sentence</c>
    /// (the GLUE layout): that column of every further row is a text. Otherwise every non-blank line is a text.
    /// </summary>
    /// <exception cref="UsageException">No texts, an empty <c>--text</c>, a missing file, or a TSV row without the column.</exception>
    public static IReadOnlyList<string> Read(IReadOnlyList<string>? texts, string? input, CliContext context)
    {
        var result = new List<string>();
        if (texts is not null)
        {
            for (var i = 0; i < texts.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(texts[i]))
                {
                    throw new UsageException("--text", texts.Count == 1 ? "the text is empty: there is nothing to explain" : $"text {i + 1} is empty: there is nothing to explain");
                }

                if (UnpairedSurrogate(texts[i]) is { } at)
                {
                    throw new UsageException("--text",
                        $"{(texts.Count == 1 ? "the text" : $"text {i + 1}")} has an unpaired UTF-16 surrogate (U+{(int)texts[i][at]:X4}) at index {at}: it is not valid Unicode text; remove it");
                }

                result.Add(texts[i]);
            }
        }

        if (input is not null)
        {
            result.AddRange(ReadFile(input, context));
        }

        if (result.Count == 0)
        {
            throw new UsageException(input is null ? "--text" : "--input", input is null ? "give the texts with --text TEXT or --input FILE" : $"{input} holds no texts");
        }

        return result;
    }

    /// <summary>The texts of a file (or of standard input for <c>-</c>).</summary>
    public static IReadOnlyList<string> ReadFile(string input, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        IReadOnlyList<string> lines;
        if (input == "-")
        {
            var all = new List<string>();
            while (context.In.ReadLine() is { } line)
            {
                all.Add(line);
            }

            lines = all;
        }
        else
        {
            var path = context.Resolve(input);
            if (Directory.Exists(path))
            {
                throw new UsageException("--input", $"{input} is a folder; give a text file (one text a line) or a TSV with a 'sentence' column");
            }

            if (Attribution.Engine.FileChecks.Problem(path) is { } problem)
            {
                throw new UsageException("--input", problem);
            }

            if (!File.Exists(path))
            {
                throw new UsageException("--input", $"{input} does not exist");
            }

            try
            {
                // Strict UTF-8: a binary file or another encoding is refused, not read as replacement characters.
                lines = File.ReadAllLines(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
            }
            catch (System.Text.DecoderFallbackException e)
            {
                throw new UsageException("--input", $"{input} is not UTF-8 text (byte 0x{(e.BytesUnknown is { Length: > 0 } b ? b[0] : 0):X2} at offset {e.Index} cannot be decoded): save it as UTF-8, one text a line");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException("--input", $"{input} cannot be read: {e.Message.TrimEnd('.')}");
            }
        }

        return Parse(lines, input);
    }

    /// <summary>The texts of a file's lines (see <see cref="Read"/>).</summary>
    public static IReadOnlyList<string> Parse(IReadOnlyList<string> lines, string name)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            return [];
        }

        var header = lines[0].TrimStart('\uFEFF');
        var column = -1;
        if (header.Contains('\t'))
        {
            var names = header.Split('\t');
            column = Array.FindIndex(names, n => string.Equals(n.Trim(), "sentence", StringComparison.OrdinalIgnoreCase));
        }

        if (column < 0 && header.Contains('\t'))
        {
            throw new UsageException("--input",
                $"{name} looks like a TSV (its first line has tabs) but its header has no 'sentence' column (it has {string.Join(", ", header.Split('\t').Select(h => $"'{h.Trim()}'"))}); name the text column 'sentence', or remove the tabs for one text a line");
        }

        var texts = new List<string>();
        if (column < 0)
        {
            for (var i = 0; i < lines.Count; i++)
            {
                var line = i == 0 ? header : lines[i];
                if (!string.IsNullOrWhiteSpace(line))
                {
                    texts.Add(Checked(line.TrimEnd('\r'), name, i + 1));
                }
            }

            return texts;
        }

        for (var i = 1; i < lines.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var fields = lines[i].TrimEnd('\r').Split('\t');
            if (column >= fields.Length || string.IsNullOrWhiteSpace(fields[column]))
            {
                throw new UsageException("--input", $"{name}, line {i + 1}: the row has no 'sentence' value (column {column + 1} of the header)");
            }

            texts.Add(Checked(fields[column], name, i + 1));
        }

        return texts;
    }

    /// <summary>The text of line <paramref name="line"/>, refused when it holds a NUL (a binary file) or an unpaired surrogate.</summary>
    private static string Checked(string text, string name, int line)
    {
        if (text.Contains('\0'))
        {
            throw new UsageException("--input", $"{name}, line {line} has a NUL character: it looks like a binary file, not text");
        }

        if (UnpairedSurrogate(text) is { } at)
        {
            throw new UsageException("--input", $"{name}, line {line} has an unpaired UTF-16 surrogate at index {at}: it is not valid Unicode text");
        }

        return text;
    }

    /// <summary>The index of the first unpaired UTF-16 surrogate, or null.</summary>
    private static int? UnpairedSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return null;
    }
}
