namespace Attribution.Cli;

/// <summary>The texts of a run: from <c>--text</c> options, then from the <c>--input</c> file.</summary>
internal static class TextInputs
{
    /// <summary>
    /// Collects the texts. An input file is a TSV when its first line that is not blank has a tab and a column named <c>sentence</c>
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
                    throw new UsageException("--text", (texts.Count == 1 ? "the text is empty" : $"text {i + 1} is empty") + ": give a non-empty text");
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
            throw new UsageException(input is null ? "--text" : "--input", input is null ? "give the texts with --text TEXT or --input FILE" : $"{Name(input)} holds no texts");
        }

        return result;
    }

    /// <summary>
    /// The texts and, for sentence pairs, their second texts: from <c>--text</c> with one <c>--text-pair</c> each, or from
    /// a TSV whose header has <c>sentence1</c> and <c>sentence2</c> (or the column <c>--pair-column</c> names).
    /// </summary>
    public static (IReadOnlyList<string> Texts, IReadOnlyList<string>? Pairs) ReadPaired(RunSettings settings, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.TextPairs is { Count: > 0 } given)
        {
            if (settings.Input is not null)
            {
                throw new UsageException("--text-pair", "--text-pair goes with --text; for a file, give a TSV with 'sentence1' and 'sentence2' columns");
            }

            var texts = Read(settings.Texts, null, context);
            if (given.Count != texts.Count)
            {
                throw new UsageException("--text-pair", $"{given.Count} --text-pair value(s) for {texts.Count} --text value(s): give one second text per text");
            }

            for (var i = 0; i < given.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(given[i]))
                {
                    throw new UsageException("--text-pair", $"second text {i + 1} is empty: a pair needs two texts");
                }

                if (UnpairedSurrogate(given[i]) is { } at)
                {
                    throw new UsageException("--text-pair", $"second text {i + 1} has an unpaired UTF-16 surrogate at index {at}: it is not valid Unicode text; remove it");
                }
            }

            return (texts, given);
        }

        if (settings.Input is { } input && settings.Texts is not { Count: > 0 })
        {
            var (fileTexts, filePairs) = ParsePaired(Lines(input, context), Name(input), settings.PairColumn);
            return fileTexts.Count > 0 ? (fileTexts, filePairs) : throw new UsageException("--input", $"{Name(input)} holds no texts");
        }

        if (settings.PairColumn is not null)
        {
            throw new UsageException("--pair-column", "--pair-column names a column of the --input TSV; give --input FILE");
        }

        return (Read(settings.Texts, settings.Input, context), null);
    }

    /// <summary>The texts of a file (or of standard input for <c>-</c>).</summary>
    public static IReadOnlyList<string> ReadFile(string input, CliContext context)
    {
        var (texts, pairs) = ParsePaired(Lines(input, context), Name(input), null);
        if (pairs is not null)
        {
            throw new UsageException("--input", $"{Name(input)} holds sentence pairs (sentence1 and sentence2 columns): this command explains single texts; explain and compare take pairs");
        }

        return texts;
    }

    /// <summary>The lines of the <c>--input</c> file (or of standard input for <c>-</c>), strictly decoded; blank lines inside are noted on standard error.</summary>
    internal static IReadOnlyList<string> Lines(string input, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        IReadOnlyList<string> lines;
        if (input == "-")
        {
            lines = context.StandardInputLines();
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

            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException("--input", $"{input} cannot be read: {e.Message.TrimEnd('.')}");
            }

            lines = DecodeLines(bytes, input);
        }

        // Blank lines hold no text and are skipped; said so, since results are then numbered by text, not by line.
        var last = lines.Count - 1;
        while (last >= 0 && string.IsNullOrWhiteSpace(lines[last]))
        {
            last--;
        }

        var blank = Enumerable.Range(0, last + 1).Where(i => string.IsNullOrWhiteSpace(lines[i])).Select(i => i + 1).ToArray();
        if (blank.Length > 0)
        {
            var shown = string.Join(", ", blank.Take(10)) + (blank.Length > 10 ? ", …" : string.Empty);
            context.Error.WriteLine($"note: {Name(input)}: {blank.Length} blank line(s) skipped (line {shown}); the results are numbered by text, not by line");
        }

        return lines;
    }

    /// <summary>
    /// The lines of a file's (or standard input's) bytes, split as <see cref="File.ReadAllLines(string)"/> splits them
    /// (CRLF, LF or CR; a UTF-8 byte-order mark is skipped). Strict: bytes that are not UTF-8 are refused naming the
    /// line and the byte's offset in the file, not read as replacement characters, and a UTF-16 or UTF-32 byte-order
    /// mark is refused naming the encoding (the file is re-saved as UTF-8), not followed.
    /// </summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="input">The <c>--input</c> value, as messages name it.</param>
    internal static IReadOnlyList<string> DecodeLines(byte[] bytes, string input)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (Attribution.Text.StrictUtf8.OtherEncodingMark(bytes) is { } encoding)
        {
            // The reader would have followed the mark and decoded the file as UTF-16 or UTF-32, leniently; the
            // documented input is UTF-8.
            throw new UsageException("--input",
                $"{Name(input)} starts with a {encoding} byte-order mark: it is {encoding} text, and --input reads UTF-8; re-save the file as UTF-8 (e.g. iconv -f {encoding.Replace(" ", string.Empty, StringComparison.Ordinal)} -t UTF-8)");
        }

        var lines = new List<string>();
        using var reader = new StreamReader(new MemoryStream(bytes, writable: false), Attribution.Text.StrictUtf8.Encoding, detectEncodingFromByteOrderMarks: true);
        try
        {
            while (reader.ReadLine() is { } line)
            {
                lines.Add(line);
            }
        }
        catch (System.Text.DecoderFallbackException)
        {
            // The reader decodes a buffer ahead of the line it returns, so the exception's index says neither the
            // line nor the offset in the file: both are found in the bytes.
            var (offset, line) = Attribution.Text.StrictUtf8.FirstInvalid(bytes);
            throw new UsageException("--input",
                $"{Name(input)}, line {line} is not UTF-8 text (byte 0x{bytes[offset]:X2} at byte offset {offset} cannot be decoded): save the file as UTF-8, one text a line");
        }

        return lines;
    }

    /// <summary>The texts of a file's lines (see <see cref="Read"/>); a file of pairs is refused.</summary>
    public static IReadOnlyList<string> Parse(IReadOnlyList<string> lines, string name)
    {
        var (texts, pairs) = ParsePaired(lines, name, null);
        return pairs is null ? texts : throw new UsageException("--input", $"{name} holds sentence pairs (sentence1 and sentence2 columns): this command explains single texts");
    }

    /// <summary>
    /// The texts of a file's lines and, when the TSV header has <c>sentence1</c> and <c>sentence2</c> (or
    /// <paramref name="pairColumn"/>), the second texts of the pairs.
    /// </summary>
    public static (IReadOnlyList<string> Texts, IReadOnlyList<string>? Pairs) ParsePaired(IReadOnlyList<string> lines, string name, string? pairColumn)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var headerLine = HeaderLine(lines);
        if (headerLine == lines.Count)
        {
            return ([], null);
        }

        var header = lines[headerLine].TrimStart('\uFEFF');
        var column = -1;
        var second = -1;
        if (header.Contains('\t'))
        {
            var names = header.Split('\t');
            int Find(string wanted) => Array.FindIndex(names, n => string.Equals(n.Trim(), wanted, StringComparison.OrdinalIgnoreCase));
            column = Find("sentence");
            if (column < 0 && Find("sentence1") is var first and >= 0 && (pairColumn is not null || Find("sentence2") >= 0))
            {
                column = first;
            }

            if (column >= 0 && (pairColumn is not null || column == Find("sentence1")))
            {
                second = Find(pairColumn ?? "sentence2");
                if (second < 0)
                {
                    throw new UsageException(pairColumn is null ? "--input" : "--pair-column",
                        $"{name} has no '{pairColumn ?? "sentence2"}' column for the pairs' second texts (it has {string.Join(", ", names.Select(h => $"'{h.Trim()}'"))})");
                }
            }
        }
        else if (pairColumn is not null)
        {
            throw new UsageException("--pair-column", $"{name} is not a TSV (its first line has no tab): pairs need a header with the text and pair columns");
        }

        if (column < 0 && header.Contains('\t'))
        {
            throw new UsageException("--input",
                $"{name} looks like a TSV (its first line has tabs) but its header has no 'sentence' column (it has {string.Join(", ", header.Split('\t').Select(h => $"'{h.Trim()}'"))}); name the text column 'sentence', or remove the tabs for one text a line");
        }

        var texts = new List<string>();
        var pairs = new List<string>();
        var columns = header.Split('\t').Length;
        if (column < 0)
        {
            for (var i = headerLine; i < lines.Count; i++)
            {
                var line = i == headerLine ? header : lines[i];
                if (!string.IsNullOrWhiteSpace(line))
                {
                    texts.Add(Checked(line.TrimEnd('\r'), name, i + 1));
                }
            }

            return (texts, null);
        }

        foreach (var (i, fields) in Rows(lines, headerLine, columns, name))
        {
            if (column >= fields.Length || string.IsNullOrWhiteSpace(fields[column]))
            {
                throw new UsageException("--input", $"{name}, line {i + 1}: the row has no 'sentence' value (column {column + 1} of the header)");
            }

            texts.Add(Checked(fields[column], name, i + 1));
            if (second >= 0)
            {
                if (second >= fields.Length || string.IsNullOrWhiteSpace(fields[second]))
                {
                    throw new UsageException("--input", $"{name}, line {i + 1}: the row has no second text (column {second + 1} of the header)");
                }

                pairs.Add(Checked(fields[second], name, i + 1));
            }
        }

        return (texts, second >= 0 ? pairs : null);
    }

    /// <summary>
    /// The values of the TSV column named <paramref name="column"/> (case-insensitive), one per row that
    /// <see cref="ParsePaired"/> takes a text from, with the row's line number in the file; null when the file is not a
    /// TSV or its header (the first line that is not blank) has no such column. Rows are read as ParsePaired reads them:
    /// blank lines skipped, a row with more fields than the header refused.
    /// </summary>
    internal static IReadOnlyList<(int Line, string Value)>? Column(IReadOnlyList<string> lines, string name, string column)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var headerLine = HeaderLine(lines);
        if (headerLine == lines.Count)
        {
            return null;
        }

        var names = lines[headerLine].TrimStart('\uFEFF').TrimEnd('\r').Split('\t');
        var index = Array.FindIndex(names, n => string.Equals(n.Trim(), column, StringComparison.OrdinalIgnoreCase));
        if (names.Length < 2 || index < 0)
        {
            return null;
        }

        return Rows(lines, headerLine, names.Length, name).Select(row => (row.Index + 1, index < row.Fields.Length ? row.Fields[index] : string.Empty)).ToList();
    }

    /// <summary>
    /// The index of a TSV's header: the first line that is not blank (a byte-order mark aside). After a leading blank
    /// line, a TSV's header was taken for a text and its rows, label columns and all, for more texts.
    /// </summary>
    private static int HeaderLine(IReadOnlyList<string> lines)
    {
        var headerLine = 0;
        while (headerLine < lines.Count && string.IsNullOrWhiteSpace(lines[headerLine].TrimStart('\uFEFF')))
        {
            headerLine++;
        }

        return headerLine;
    }

    /// <summary>The rows after the header, blank lines skipped, each split at tabs; a row with more fields than the header's <paramref name="columns"/> is refused.</summary>
    private static IEnumerable<(int Index, string[] Fields)> Rows(IReadOnlyList<string> lines, int headerLine, int columns, string name)
    {
        for (var i = headerLine + 1; i < lines.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var fields = lines[i].TrimEnd('\r').Split('\t');
            if (fields.Length > columns)
            {
                // A tab inside a text splits it: its first part would be taken as the text and the rest as other columns.
                throw new UsageException("--input",
                    $"{name}, line {i + 1} has {fields.Length} tab-separated fields but the header has {columns}: a TSV field cannot hold a tab, so a text with a tab would be cut at it; replace the tab in the text with a space");
            }

            yield return (i, fields);
        }
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

    /// <summary>How messages name the <c>--input</c> value: "standard input" for <c>-</c>, else the path as given.</summary>
    public static string Name(string input) => input == "-" ? "standard input (--input -)" : input;

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
