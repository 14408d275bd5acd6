using System.Globalization;
using System.Text;
using Attribution.Engine;

namespace Attribution.Data;

/// <summary>A text with the index of its class: one training or evaluation example.</summary>
/// <param name="Text">The text.</param>
/// <param name="Label">Index of its class (0-based, in the order of the classifier's labels).</param>
public record LabeledText(string Text, int Label)
{
    /// <summary>
    /// Reads a tab-separated file of <c>sentence&lt;TAB&gt;label</c> rows after a header line (the GLUE SST-2 layout;
    /// the label is an integer class index). The header names the columns, in any order and any case; the text column
    /// is <c>sentence</c> (or <c>text</c>), the label column <c>label</c>, and other columns (an <c>idx</c>, say) are
    /// ignored. The file is UTF-8 (a leading byte-order mark is skipped); lines end with LF, CRLF or a lone CR. The
    /// sentence is read as it is (no quoting, as GLUE writes them; spaces and quotes kept), so it cannot contain a tab;
    /// the label is the digits 0-9 only (no sign, point or other script's digits), with surrounding whitespace ignored.
    /// Blank lines (empty, or whitespace without a tab) are skipped; anything else malformed, a line of empty fields
    /// ("\t") included, is an error naming the file, the line, the offending value and the fix.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty (null: an <see cref="ArgumentNullException"/>).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist (or is a folder).</exception>
    /// <exception cref="FormatException">The file is empty or not valid UTF-8 (a UTF-16 or UTF-32 byte-order mark included), its first line is not a header naming the
    /// sentence and label columns, or a row does not hold as many fields as the header, a text and a non-negative integer label (at most
    /// <see cref="int.MaxValue"/>), or holds a NUL character (a binary file). The message names the file and, for a line, its number, the
    /// column and the value, and says the fix. A <see cref="FormatException"/>, not an <see cref="ArgumentException"/>: the path is a
    /// valid argument and the file's content is at fault, as .NET's parsers report malformed text (the CLI's <c>shortcut --train</c>
    /// reports it as a usage error of <c>--train</c>, exit 2).</exception>
    public static IReadOnlyList<LabeledText> ReadTsv(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{FileChecks.Problem(path) ?? $"{path} does not exist"}; pass a tab-separated file with a header line and sentence<TAB>label rows", path);
        }

        var result = new List<LabeledText>();
        var lineNumber = 0;
        (int Text, int Label, int Count)? columns = null;

        // A UTF-16 or UTF-32 byte-order mark would switch the reader to that encoding, decoded leniently; the file is UTF-8.
        Span<byte> start = stackalloc byte[4];
        int read;
        using (var probe = File.OpenRead(path))
        {
            read = probe.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        }

        if (Attribution.Text.StrictUtf8.OtherEncodingMark(start[..read]) is { } encoding)
        {
            throw new FormatException($"{path} starts with a {encoding} byte-order mark: it is {encoding} text, but the file must be UTF-8; re-save it as UTF-8");
        }

        // Strict UTF-8: the default decoder replaces invalid bytes (a Latin-1 "café") by U+FFFD, so a text read wrong
        // would have been trained on silently.
        using var lines = File.ReadLines(path, Attribution.Text.StrictUtf8.Encoding).GetEnumerator();
        while (NextLine(path, lines))
        {
            var line = lines.Current;
            lineNumber++;
            if (columns is null)
            {
                columns = Header(path, line);
                continue;
            }

            // Blank: nothing but spaces. A line of tabs (and spaces) is a row whose fields are all empty, an error
            // below like any row without a text or label, not a blank line to skip.
            if (string.IsNullOrWhiteSpace(line) && !line.Contains('\t', StringComparison.Ordinal))
            {
                continue;
            }

            // As the CLI's --input reader: a NUL is no text character (a binary file, or UTF-16 without a byte-order
            // mark), and was trained on silently.
            if (line.IndexOf('\0', StringComparison.Ordinal) is var nul and >= 0)
            {
                throw new FormatException(
                    $"{path}, line {lineNumber} has a NUL character (at character {nul + 1}): it looks like a binary file (or UTF-16 text), not " +
                    "UTF-8 text; pass the tab-separated UTF-8 text file");
            }

            var (textColumn, labelColumn, count) = columns.Value;
            var fields = line.Split('\t');
            if (fields.Length != count)
            {
                // A tab inside a sentence would otherwise be taken silently into the text (or the label).
                throw new FormatException(
                    $"{path}, line {lineNumber}: {fields.Length} tab-separated fields, but the header has {count}; " +
                    $"a sentence may not contain a tab (replace it by a space): \"{Shorten(line)}\"");
            }

            if (string.IsNullOrWhiteSpace(fields[textColumn]))
            {
                throw new FormatException(
                    $"{path}, line {lineNumber}: the sentence (column {textColumn + 1} of the header) is empty; give the row a text or remove it: \"{Shorten(line)}\"");
            }

            // The label is named on its own: in a long row the shortened line would not show it.
            var labelField = fields[labelColumn];
            var digits = labelField.Trim();
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var label))
            {
                // Digits only but past int's range: "is not a non-negative integer" was false, and hid the cause.
                throw new FormatException(digits.Length > 0 && digits.All(char.IsAsciiDigit)
                    ? $"{path}, line {lineNumber}: the label \"{Shorten(labelField)}\" (column {labelColumn + 1} of the header) is too large for a class " +
                      $"index (at most {int.MaxValue}, and a classifier has one class per index up to the largest); write the row's class index: \"{Shorten(line)}\""
                    : $"{path}, line {lineNumber}: the label \"{Shorten(labelField)}\" is not a non-negative integer (column {labelColumn + 1} of the header); " +
                      $"write the class index with the digits 0-9 only (no sign, point or leading '+'): \"{Shorten(line)}\"");
            }

            result.Add(new LabeledText(fields[textColumn], label));
        }

        return columns is null
            ? throw new FormatException($"{path} is empty; it needs a header line (sentence<TAB>label) and then one sentence<TAB>label row per line")
            : result;
    }

    /// <summary>The text and label columns the header line names, and its number of fields.</summary>
    private static (int Text, int Label, int Count) Header(string path, string line)
    {
        // A byte-order mark is stripped by the reader; a second one (a file concatenated from two) would hide the name.
        var names = line.TrimStart('\uFEFF').Split('\t').Select(n => n.Trim()).ToArray();
        int Column(params string[] accepted) =>
            names.Count(n => accepted.Contains(n, StringComparer.OrdinalIgnoreCase)) == 1
                ? Array.FindIndex(names, n => accepted.Contains(n, StringComparer.OrdinalIgnoreCase))
                : -1;
        var text = Column("sentence", "text");
        var label = Column("label");
        if (text < 0 || label < 0)
        {
            // Without this check a file with no header lost its first example silently.
            throw new FormatException(
                $"{path}, line 1: \"{Shorten(line)}\" is not a header naming one sentence (or text) column and one label column; " +
                "the first line must be the header sentence<TAB>label (add it above the first row)");
        }

        return (text, label, names.Length);
    }

    /// <summary>Moves to the next line; bytes that are not UTF-8 are a <see cref="FormatException"/> naming their line.</summary>
    private static bool NextLine(string path, IEnumerator<string> lines)
    {
        try
        {
            return lines.MoveNext();
        }
        catch (DecoderFallbackException)
        {
            var bytes = File.ReadAllBytes(path);
            var (offset, line) = Attribution.Text.StrictUtf8.FirstInvalid(bytes);
            throw new FormatException(
                $"{path}, line {line}: byte 0x{bytes[offset]:X2} at offset {offset} is not UTF-8 (a file saved as Latin-1 or Windows-1252, say); " +
                "save the file as UTF-8");
        }
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : line[..77] + "...";
}
