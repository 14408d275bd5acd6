using System.Globalization;

namespace Attribution.Data;

/// <summary>A text with the index of its class: one training or evaluation example.</summary>
/// <param name="Text">The text.</param>
/// <param name="Label">Index of its class (0-based, in the order of the classifier's labels).</param>
public record LabeledText(string Text, int Label)
{
    /// <summary>
    /// Reads a tab-separated file of <c>sentence&lt;TAB&gt;label</c> lines after a header line (the GLUE SST-2 layout;
    /// the label is an integer class index). Fields are read as they are (no quoting, as GLUE writes them), so a
    /// sentence cannot contain a tab. Blank lines are skipped; anything else malformed is an error naming the line.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">A line does not hold exactly a text, a tab and a non-negative integer label.</exception>
    public static IReadOnlyList<LabeledText> ReadTsv(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist; pass a tab-separated file with a header line and sentence<TAB>label rows", path);
        }

        var result = new List<LabeledText>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (lineNumber == 1 || line.Trim().Length == 0)
            {
                continue;
            }

            var fields = line.Split('\t');
            if (fields.Length != 2)
            {
                // A tab inside a sentence would otherwise be taken silently into the text (or the label).
                throw new FormatException(
                    $"{path}, line {lineNumber}: {fields.Length} tab-separated fields, but a row holds 2 (sentence<TAB>label); " +
                    $"a sentence may not contain a tab (replace it by a space): \"{Shorten(line)}\"");
            }

            if (fields[0].Length == 0 || !int.TryParse(fields[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var label))
            {
                throw new FormatException($"{path}, line {lineNumber}: expected sentence<TAB>label with a non-negative integer label, got \"{Shorten(line)}\"");
            }

            result.Add(new LabeledText(fields[0], label));
        }

        return result;
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : line[..77] + "...";
}
