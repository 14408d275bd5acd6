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

            if (!File.Exists(path))
            {
                throw new UsageException("--input", $"{input} does not exist");
            }

            lines = File.ReadAllLines(path);
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

        var texts = new List<string>();
        if (column < 0)
        {
            for (var i = 0; i < lines.Count; i++)
            {
                var line = i == 0 ? header : lines[i];
                if (!string.IsNullOrWhiteSpace(line))
                {
                    texts.Add(line.TrimEnd('\r'));
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

            texts.Add(fields[column]);
        }

        return texts;
    }
}
