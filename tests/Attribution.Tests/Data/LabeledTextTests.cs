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

    /// <summary>
    /// A file saved as UTF-16 or UTF-32 with a byte-order mark was decoded in that encoding (the reader follows the
    /// mark, and decodes leniently), though the file is documented as UTF-8; it is refused naming the encoding and the fix.
    /// The marks are those of the Unicode standard (FF FE, FE FF, FF FE 00 00, 00 00 FE FF), written by .NET's encoders.
    /// </summary>
    [Theory]
    [InlineData("UTF-16 LE")]
    [InlineData("UTF-16 BE")]
    [InlineData("UTF-32 LE")]
    [InlineData("UTF-32 BE")]
    public void A_utf16_or_utf32_file_is_refused_naming_its_encoding(string name)
    {
        var encoding = Utf16Or32(name);
        var path = Path.Combine(root, $"{Guid.NewGuid():N}.tsv");
        File.WriteAllBytes(path, [.. encoding.GetPreamble(), .. encoding.GetBytes("sentence\tlabel\ngood film\t1\n")]);

        var read = () => LabeledText.ReadTsv(path);

        read.Should().Throw<FormatException>().WithMessage($"{path} starts with a {name} byte-order mark*re-save it as UTF-8");
    }

    /// <summary>A .NET encoding that writes the byte-order mark of the named Unicode encoding.</summary>
    internal static Encoding Utf16Or32(string name) => name switch
    {
        "UTF-16 LE" => new UnicodeEncoding(bigEndian: false, byteOrderMark: true),
        "UTF-16 BE" => new UnicodeEncoding(bigEndian: true, byteOrderMark: true),
        "UTF-32 LE" => new UTF32Encoding(bigEndian: false, byteOrderMark: true),
        _ => new UTF32Encoding(bigEndian: true, byteOrderMark: true),
    };

    [Fact]
    public void A_row_with_another_number_of_fields_than_two_is_refused_with_its_line()
    {
        // Before: "good\tfun\t1" was read as the text "good<TAB>fun", and "1\t0\tgood" failed only by chance.
        var path = Write("sentence\tlabel\nfine\t1\ngood\tfun\t1\n");
        ((Action)(() => LabeledText.ReadTsv(path))).Should().Throw<FormatException>()
            .WithMessage($"{path}, line 3: 3 tab-separated fields, but the header has 2*a sentence may not contain a tab*");
    }

    [Fact]
    public void A_file_without_a_header_is_refused_instead_of_losing_its_first_row()
    {
        // Before: line 1 was skipped unread, so "great fun<TAB>1" vanished and the file read as one row.
        var path = Write("great fun\t1\ndull\t0\n");
        ((Action)(() => LabeledText.ReadTsv(path))).Should().Throw<FormatException>()
            .WithMessage($"{path}, line 1: \"great fun\t1\" is not a header*add it above the first row*");
    }

    [Fact]
    public void The_header_names_the_columns_in_any_order_and_case_with_others_ignored()
    {
        var expected = new[] { new LabeledText("great fun", 1), new LabeledText("dull", 0) };
        LabeledText.ReadTsv(Write("label\tsentence\n1\tgreat fun\n0\tdull\n")).Should().Equal(expected);
        LabeledText.ReadTsv(Write("idx\tSentence \tLABEL\n0\tgreat fun\t1\n1\tdull\t0\n")).Should().Equal(expected);
        LabeledText.ReadTsv(Write("text\tlabel\ngreat fun\t1\ndull\t0\n")).Should().Equal(expected);
        LabeledText.ReadTsv(Write("sentence\tlabel\n")).Should().BeEmpty("a header alone is a file of no rows");
    }

    [Fact]
    public void An_empty_file_a_missing_one_and_a_folder_are_refused_by_name()
    {
        foreach (var content in new[] { "", "\n" })
        {
            var path = Write(content);
            ((Action)(() => LabeledText.ReadTsv(path))).Should().Throw<FormatException>().WithMessage($"{path}*header*");
        }

        var missing = Path.Combine(root, "missing.tsv");
        ((Action)(() => LabeledText.ReadTsv(missing))).Should().Throw<FileNotFoundException>().WithMessage($"{missing} does not exist; pass*");
        ((Action)(() => LabeledText.ReadTsv(root))).Should().Throw<FileNotFoundException>().WithMessage($"{root} is a folder, not a file; pass*");
    }

    [Fact]
    public void Labels_that_are_not_non_negative_integers_and_empty_texts_are_refused_with_their_line()
    {
        // Before: "   <TAB>1" was read as a text of three spaces, refused only later by the Trainer, without a line number.
        // A row of empty fields ("\t", " \t ") was skipped as a blank line: a row without text or label, dropped silently.
        foreach (var row in new[] { "fine\tpositive", "fine\t-1", "fine\t1.0", "fine\t", "\t1", "   \t1", "\t", " \t ", "\t\r" })
        {
            var path = Write($"sentence\tlabel\nok\t0\n{row}\n");
            ((Action)(() => LabeledText.ReadTsv(path))).Should().Throw<FormatException>().WithMessage($"{path}, line 3: *", row);
        }

        // Any non-negative integer is a class index: the classifier's label count is checked where it is known (Trainer).
        LabeledText.ReadTsv(Write("sentence\tlabel\nthird class\t2\n")).Should().Equal(new LabeledText("third class", 2));
    }
    /// <summary>
    /// A label of digits past int's range (2147483647 is the largest int) was refused as "not a non-negative integer",
    /// which it is: the message now says it is too large, and names the column, as the other row errors do.
    /// </summary>
    [Fact]
    public void A_label_too_large_for_an_index_is_named_too_large_with_its_column()
    {
        var path = Write("sentence\tlabel\nok\t0\nfine\t99999999999\n");
        ((Action)(() => LabeledText.ReadTsv(path))).Should().Throw<FormatException>()
            .WithMessage($"{path}, line 3: the label \"99999999999\" (column 2 of the header) is too large for a class index (at most 2147483647*");

        // One past the largest int is refused the same way; the largest itself is read.
        ((Action)(() => LabeledText.ReadTsv(Write("sentence\tlabel\nfine\t2147483648\n")))).Should().Throw<FormatException>().WithMessage("*too large*");
        LabeledText.ReadTsv(Write("sentence\tlabel\nfine\t2147483647\n")).Should().Equal(new LabeledText("fine", int.MaxValue));

        var empty = Write("label\tsentence\n1\t \n");
        ((Action)(() => LabeledText.ReadTsv(empty))).Should().Throw<FormatException>()
            .WithMessage($"{empty}, line 2: the sentence (column 2 of the header) is empty*");
    }

    /// <summary>
    /// A NUL character is no text (a binary file, or UTF-16 without a byte-order mark, whose ASCII letters each come with
    /// a NUL): the CLI's --input reader refuses it, this reader took it into the training text silently.
    /// </summary>
    [Fact]
    public void A_row_with_a_nul_character_is_refused_as_binary()
    {
        var path = Write("sentence\tlabel\nok\t0\nfi\0ne\t1\n");
        ((Action)(() => LabeledText.ReadTsv(path))).Should().Throw<FormatException>()
            .WithMessage($"{path}, line 3 has a NUL character (at character 3): it looks like a binary file*");
    }
}
