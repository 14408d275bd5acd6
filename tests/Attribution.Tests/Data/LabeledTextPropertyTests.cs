using System.Text;
using Attribution.Data;
using CsCheck;

namespace Attribution.Tests.Data;

/// <summary>
/// <see cref="LabeledText.ReadTsv"/> on files nobody wrote by hand: drawn headers, rows of awkward texts (quotes, tabs,
/// byte-order marks, whitespace of several kinds, emoji, very long texts) and labels (" 1", "1.0", "+1", "01", "-0",
/// Arabic-Indic digits, overflowing numbers), joined by a mix of LF, CRLF and lone CR, with blank lines between them.
/// Each file either reads to exactly the rows the reference parser written here says (none dropped, none added), or
/// is refused with a <see cref="FormatException"/> naming the file and the line it says, and, for a bad label, the label.
/// The reference parser follows the documented format, not the reader's code: lines end at LF, CRLF or CR; the first
/// is the header; a line of whitespace without a tab is blank; fields split at tabs; the text is kept as it is; the
/// label's expected value comes from the hand-written table <see cref="Labels"/>.
/// </summary>
public sealed class LabeledTextPropertyTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-tsv-properties-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Label fields and the class index each must read as (null: refused), decided by hand from the format.</summary>
    private static readonly (string Field, int? Value)[] Labels =
    [
        ("0", 0), ("1", 1), ("2", 2), (" 1", 1), ("1 ", 1), ("\u00A01", 1), ("01", 1), ("007", 7), ("2147483647", int.MaxValue),
        ("1.0", null), ("+1", null), ("-0", null), ("-1", null), ("\u0661", null), ("\uFF11", null), ("", null), ("  ", null),
        ("2147483648", null), ("99999999999999999999", null), ("1e3", null), ("0x1", null), ("one", null), ("1\u200B", null),
        ("\uFEFF1", null), ("1,0", null), ("\"1\"", null),
    ];

    private static readonly string LongText = string.Concat(Enumerable.Repeat("a rather long sentence 😀 ", 400));

    private static readonly string[] TextPieces =
    [
        "good", "dull film", "a \"quoted\" gem", "'single'", "\"", " ", "  ", "\u00A0", "\u3000", "\uFEFF", "café", "😀", "👍🏽", "日本語",
        "مرحبا", "\u0661\u0662", "e\u0301", "\v", "\f", "\u200B", LongText, ",", "1",
    ];

    /// <summary>Headers: the line, the text and label columns (null: not a valid header) and the field count.</summary>
    private static readonly (string Line, int? Text, int? Label, int Count)[] Headers =
    [
        ("sentence\tlabel", 0, 1, 2), ("label\tsentence", 1, 0, 2), ("idx\tsentence\tlabel", 1, 2, 3), ("Text\tLABEL", 0, 1, 2),
        (" sentence \t label ", 0, 1, 2), ("\uFEFFsentence\tlabel", 0, 1, 2), ("sentence\tlabel\tnote", 0, 1, 3),
        ("great fun\t1", null, null, 2), ("sentence\ttext\tlabel", null, null, 3), ("sentence", null, null, 1), ("", null, null, 1),
    ];

    private static readonly string[] LineEnds = ["\n", "\r\n", "\r"];

    private static readonly string[] BlankLines = ["", " ", "   ", "\u00A0", "\t", " \t ", "\t\t"];

    /// <summary>One line after the header: a blank-ish line, or a row of fields (usually as many as the header has).</summary>
    private sealed record Line(string? Blank, string[] Texts, int LabelIndex, int FieldDelta);

    private static readonly Gen<Line> LineGen = Gen.Frequency(
        (1, Gen.OneOf(BlankLines).Select(b => new Line(b, [], 0, 0))),
        (6, Gen.Select(
            Gen.OneOf(TextPieces).Array[0, 3].Select(string.Concat).Array[3],
            Gen.Int[0, Labels.Length - 1],
            Gen.Frequency((12, Gen.Const(0)), (1, Gen.Const(1)), (1, Gen.Const(-1))),
            (texts, label, delta) => new Line(null, texts, label, delta))));

    private sealed record FileCase(int Header, Line[] Lines, string[] Ends, bool Bom, bool FinalEnd);

    private static readonly Gen<FileCase> FileGen = Gen.Select(
        Gen.Frequency((8, Gen.Int[0, 6]), (1, Gen.Int[7, Headers.Length - 1])),
        LineGen.Array[0, 8],
        Gen.OneOf(LineEnds).Array[9],
        Gen.Bool,
        Gen.Bool,
        (header, lines, ends, bom, finalEnd) => new FileCase(header, lines, ends, bom, finalEnd));

    /// <summary>The file's text: the header and the lines, each but the last followed by its line end.</summary>
    private static (string Content, List<string> Lines) Render(FileCase file)
    {
        var (headerLine, _, _, count) = Headers[file.Header];
        var lines = new List<string> { headerLine };
        foreach (var line in file.Lines)
        {
            if (line.Blank is not null)
            {
                lines.Add(line.Blank);
                continue;
            }

            // Fields: the texts fill the non-label columns (the first text goes to the text column), the label its own.
            var fields = new List<string>();
            var (_, textColumn, labelColumn, _) = Headers[file.Header];
            var next = 1;
            for (var c = 0; c < count + line.FieldDelta; c++)
            {
                fields.Add(c == (labelColumn ?? 1) ? Labels[line.LabelIndex].Field : c == (textColumn ?? 0) ? line.Texts[0] : line.Texts[Math.Min(next++, 2)]);
            }

            lines.Add(string.Join('\t', fields));
        }

        var content = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
        {
            content.Append(lines[i]);
            if (i < lines.Count - 1 || file.FinalEnd)
            {
                content.Append(file.Ends[i % file.Ends.Length]);
            }
        }

        return (content.ToString(), lines);
    }

    /// <summary>Splits text into lines as the format says: at LF, CRLF or a lone CR; no line after a final line end.</summary>
    private static List<string> SplitLines(string content)
    {
        var lines = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < content.Length; i++)
        {
            var c = content[i];
            if (c is '\n' or '\r')
            {
                lines.Add(current.ToString());
                current.Clear();
                if (c == '\r' && i + 1 < content.Length && content[i + 1] == '\n')
                {
                    i++;
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (current.Length > 0)
        {
            lines.Add(current.ToString());
        }

        return lines;
    }

    /// <summary>What the reference says: the rows, or the line of the first error and the label to be named (if it is a label's).</summary>
    private static (List<LabeledText>? Rows, int ErrorLine, string? BadLabel) Reference(FileCase file, string content)
    {
        var lines = SplitLines(content);
        if (lines.Count == 0)
        {
            return (null, 0, null);
        }

        var (_, textColumn, labelColumn, count) = Headers[file.Header];
        if (textColumn is not { } text || labelColumn is not { } label)
        {
            return (null, 1, null);
        }

        var rows = new List<LabeledText>();
        for (var n = 2; n <= lines.Count; n++)
        {
            var line = lines[n - 1];
            if (line.All(char.IsWhiteSpace) && !line.Contains('\t', StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line.Split('\t');
            if (fields.Length != count || fields[text].All(char.IsWhiteSpace))
            {
                return (null, n, null);
            }

            var known = Labels.Single(l => l.Field == fields[label]);
            if (known.Value is not { } value)
            {
                return (null, n, known.Field);
            }

            rows.Add(new LabeledText(fields[text], value));
        }

        return (rows, 0, null);
    }

    private static string Escape(string content) =>
        (content.Length > 300 ? content[..300] + "..." : content).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);

    [Fact]
    public void Every_drawn_file_reads_to_the_reference_rows_or_is_refused_at_the_reference_line()
    {
        var readCount = 0;
        var refusedCount = 0;
        // Drawn from a fixed seed, so every run checks the same 600 files.
        var pcg = new PCG(7, 20_261_205);
        for (var draw = 0; draw < 600; draw++)
        {
            var file = FileGen.Generate(pcg, null!, out Size _);
            var (content, _) = Render(file);
            var path = Path.Combine(root, $"{Guid.NewGuid():N}.tsv");
            File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: file.Bom));
            var (rows, errorLine, badLabel) = Reference(file, content);
            try
            {
                if (rows is not null)
                {
                    var read = LabeledText.ReadTsv(path);
                    if (!read.SequenceEqual(rows))
                    {
                        throw new InvalidOperationException(
                            $"{Escape(content)}: read {read.Count} rows, the reference {rows.Count}: [{string.Join(" | ", read)}] vs [{string.Join(" | ", rows)}]");
                    }

                    readCount++;
                    continue;
                }

                FormatException error;
                try
                {
                    var read = LabeledText.ReadTsv(path);
                    throw new InvalidOperationException($"{Escape(content)}: read {read.Count} rows, the reference refuses line {errorLine}");
                }
                catch (FormatException e)
                {
                    error = e;
                }

                var expected = errorLine == 0 ? $"{path} is empty" : $"{path}, line {errorLine}: ";
                if (!error.Message.StartsWith(expected, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{Escape(content)}: expected a message starting \"{expected}\", got \"{error.Message}\"");
                }

                if (badLabel is not null && !error.Message.Contains($"the label \"{badLabel}\"", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{Escape(content)}: the message does not name the label \"{badLabel}\": \"{error.Message}\"");
                }

                refusedCount++;
            }
            finally
            {
                File.Delete(path);
            }
        }

        // Both outcomes were drawn often enough for the property to mean something.
        readCount.Should().BeGreaterThan(60);
        refusedCount.Should().BeGreaterThan(60);
    }

    [Fact]
    public void A_bad_label_after_a_long_text_is_named_although_the_line_is_shortened()
    {
        // Before: the message quoted the line's first 77 characters only, so the label at its end was not shown.
        var path = Path.Combine(root, "long.tsv");
        File.WriteAllText(path, $"sentence\tlabel\n{new string('x', 200)}\tpositive\n");
        var error = Assert.Throws<FormatException>(() => LabeledText.ReadTsv(path));
        error.Message.Should().StartWith($"{path}, line 2: the label \"positive\" is not a non-negative integer");
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_refused_with_their_line_not_replaced()
    {
        // "café" saved as Latin-1: the é is the single byte 0xE9. Before: read as "caf\uFFFD" and trained on silently.
        var path = Path.Combine(root, "latin1.tsv");
        byte[] bytes = [.. "sentence\tlabel\r\nfine\t1\rgood\t1\n"u8, .. "caf"u8, 0xE9, .. "\t0\n"u8];
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<FormatException>(() => LabeledText.ReadTsv(path));

        // Lines: the header (CRLF), "fine" (CR), "good" (LF), then the Latin-1 line is line 4; its 0xE9 is byte 33.
        error.Message.Should().StartWith($"{path}, line 4: byte 0xE9 at offset 33 is not UTF-8").And.Contain("save the file as UTF-8");
    }
}
