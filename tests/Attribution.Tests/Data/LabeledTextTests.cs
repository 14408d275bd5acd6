using System.Text;
using Attribution.Data;

namespace Attribution.Tests.Data;

/// <summary>
/// <see cref="LabeledText.ReadTsv"/> on the files a reviewer would try: each either reads to the rows written by hand
/// here, or is refused with a <see cref="FormatException"/> naming the file, the line and the fix.
/// </summary>
public sealed class LabeledTextTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-tsv-tests-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Write(string content, bool bom = false)
    {
        var path = Path.Combine(root, $"{Guid.NewGuid():N}.tsv");
        File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: bom));
        return path;
    }

    [Fact]
    public void The_glue_layout_reads_with_crlf_line_ends_a_bom_and_blank_lines()
    {
        var expected = new[] { new LabeledText("a \"quoted\" gem . ", 1), new LabeledText("dull", 0) };
        foreach (var (content, bom) in new[]
        {
            ("sentence\tlabel\na \"quoted\" gem . \t1\ndull\t0\n", false),
            ("sentence\tlabel\r\na \"quoted\" gem . \t1\r\n\r\ndull\t0\r\n", true),
            ("sentence\tlabel\n\n   \na \"quoted\" gem . \t1\ndull\t0", false),
        })
        {
            LabeledText.ReadTsv(Write(content, bom)).Should().Equal(expected, "quotes and spaces are part of the text (GLUE writes no quoting)");
        }
    }

    [Fact]
    public void A_row_with_another_number_of_fields_than_two_is_refused_with_its_line()
    {
        // Before: "good\tfun\t1" was read as the text "good<TAB>fun", and "1\t0\tgood" failed only by chance.
        var path = Write("sentence\tlabel\nfine\t1\ngood\tfun\t1\n");
        ((Action)(() => LabeledText.ReadTsv(path))).Should().Throw<FormatException>()
            .WithMessage($"{path}, line 3: 3 tab-separated fields, but a row holds 2*");
    }
}
