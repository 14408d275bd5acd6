using System.Text;
using Attribution.Cli;

namespace Attribution.Tests.Cli;

/// <summary>How <c>--input FILE</c> and <c>--input -</c> turn bytes into texts.</summary>
public sealed class CliTextInputTests
{
    /// <summary>
    /// A byte that is not UTF-8 was refused with the decoder's index, which is relative to the reader's buffer (4 KiB
    /// here), not to the file, and with no line, though docs/reliability.md promises the line. The file here has 300
    /// valid lines of 20 bytes each ("good film number 000\n"), then "ok " and 0xFF: line 301, byte offset
    /// 300 × 21 + 3 = 6303, counted by hand from the construction.
    /// </summary>
    [Fact]
    public void A_file_that_is_not_utf8_is_refused_naming_the_line_and_the_offset_in_the_file()
    {
        var path = Path.GetTempFileName();
        try
        {
            var valid = string.Concat(Enumerable.Range(0, 300).Select(i => $"good film number {i:D3}\n"));
            Encoding.UTF8.GetByteCount(valid).Should().Be(300 * 21);
            File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes(valid), .. "ok "u8, 0xFF, .. " end\n"u8]);

            var run = CliHarness.Run("predict", "--input", path);

            run.Code.Should().Be(2, run.ToString());
            run.Error.Should().Contain($"--input: {path}, line 301 is not UTF-8 text (byte 0xFF at byte offset 6303 cannot be decoded)");
            run.Out.Should().BeEmpty();
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Standard input was read through the console's decoder, which turns bytes that are not UTF-8 into U+FFFD
    /// silently; it is now decoded as strictly as a file, and refused naming standard input and the line (a lone
    /// 0xC3 before '(' on line 2, at byte offset 10 + 4 = 14: "good film\n" is 10 bytes, "bad " 4).
    /// </summary>
    [Fact]
    public void Standard_input_that_is_not_utf8_is_refused_naming_the_line_not_replaced()
    {
        using var bytes = new MemoryStream([.. "good film\nbad "u8, 0xC3, .. "(\nlast\n"u8]);
        var run = CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, InputBytes = bytes }, "predict", "--input", "-");

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--input: standard input (--input -), line 2 is not UTF-8 text (byte 0xC3 at byte offset 14 cannot be decoded)");
    }

    /// <summary>A byte-order mark, CRLF line ends, a blank line and a last line without a newline, from a file and from standard input.</summary>
    [Fact]
    public void Bom_crlf_blank_lines_and_a_last_line_without_newline_give_the_texts()
    {
        byte[] content = [0xEF, 0xBB, 0xBF, .. "good film\r\n\r\nbad\tbut short \r\nlast"u8];
        string[] expected = ["good film", "bad\tbut short ", "last"];

        using var bytes = new MemoryStream(content);
        var context = new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, InputBytes = bytes };
        TextInputs.Read(null, "-", context).Should().Equal(expected);

        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, content);
            TextInputs.Read(null, path, new CliContext { Out = TextWriter.Null, Error = TextWriter.Null }).Should().Equal(expected);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A TSV row with a tab inside its text has more fields than the header: the text was cut at the tab, its first
    /// part explained as the whole text and the rest taken for the label, silently. Such a row is now refused with its
    /// line and both field counts; a row with the header's count (or fewer, a missing label) still reads.
    /// </summary>
    [Theory]
    [InlineData("sentence\tlabel\ngood film\t1\nbad\tfilm\t0\n", "line 3 has 3 tab-separated fields but the header has 2")]
    [InlineData("sentence1\tsentence2\na cat\ta dog\na cat\tsat\ta dog\n", "line 3 has 3 tab-separated fields but the header has 2")]
    public void A_tsv_row_with_more_fields_than_the_header_is_refused_not_cut_at_the_tab(string tsv, string message)
    {
        var context = new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader(tsv) };
        var settings = new RunSettings { Input = "-", Method = new MethodSettings(), Explain = new Attribution.Pipeline.ExplainOptions() };

        var act = () => TextInputs.ReadPaired(settings, context);

        act.Should().Throw<UsageException>().Which.Message.Should().StartWith($"--input: standard input (--input -), {message}");
        TextInputs.ReadPaired(settings with { }, new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader("sentence\tlabel\ngood film\t1\nbad\n") })
            .Texts.Should().Equal("good film", "bad");
    }

    /// <summary>
    /// After a leading blank line the file was read as one text a line: the TSV header ("sentence\tlabel") became a
    /// text, and each row a text with its label column ("good film\t1"). The header is now the first line that is not
    /// blank (as evaluate's reader of the 'highlight' column already took it), and rows keep their line numbers.
    /// </summary>
    [Fact]
    public void A_tsv_after_leading_blank_lines_is_read_by_its_header()
    {
        var error = new StringWriter();
        var context = new CliContext { Out = TextWriter.Null, Error = error, In = new StringReader("\n  \nsentence\tlabel\ngood film\t1\nbad\t0\n") };

        TextInputs.Read(null, "-", context).Should().Equal("good film", "bad");
        error.ToString().Should().Contain("2 blank line(s) skipped (line 1, 2)");

        var rowError = () => TextInputs.Read(null, "-", new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader("\nsentence\tlabel\ngood film\t1\n\t0\n") });
        rowError.Should().Throw<UsageException>().WithMessage("*line 4: the row has no 'sentence' value*");
    }

    /// <summary>
    /// shortcut reads its --input TSV itself, and read it with File.ReadAllLines, which puts U+FFFD in place of bytes
    /// that are not UTF-8, silently; it is now refused as every other --input is (here byte 0xFF on line 3, at byte
    /// offset 19 + 15 + 2 = 36: "sentence\thighlight\n" is 19 bytes, "good film\tgood\n" 15, "a " 2).
    /// </summary>
    [Fact]
    public void Shortcut_input_that_is_not_utf8_is_refused_naming_the_line()
    {
        var path = Path.GetTempFileName();
        try
        {
            byte[] head = [.. "sentence\thighlight\ngood film\tgood\n"u8];
            head.Length.Should().Be(19 + 15);
            File.WriteAllBytes(path, [.. head, .. "a "u8, 0xFF, .. " film\tfilm\n"u8]);

            var run = CliHarness.Run("shortcut", "--model", "no-such-model-folder", "--input", path, "--methods", "gradient");

            run.Code.Should().Be(2, run.ToString());
            run.Error.Should().Contain($"--input: {path}, line 3 is not UTF-8 text (byte 0xFF at byte offset {19 + 15 + 2} cannot be decoded)");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// shortcut read its TSV with a reader of its own that took the first line for the header: after a leading blank
    /// line it found no 'sentence' column, where every other --input finds its header on the first line that is not
    /// blank. It now parses with TextInputs, so the same file gives the same one text (scored by the tiny BERT).
    /// </summary>
    [SkippableFact]
    public void Shortcut_reads_a_tsv_after_leading_blank_lines_by_its_header()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "\n  \nsentence\thighlight\na good film\tgood\n");

            var run = CliHarness.Run("shortcut", "--model", CliHarness.TinyBert, "--input", path, "--methods", "gradient", "--format", "json");

            run.Code.Should().Be(0, run.ToString());
            using var document = System.Text.Json.JsonDocument.Parse(run.Out);
            document.RootElement.GetProperty("sentences").GetInt32().Should().Be(1);
            run.Error.Should().Contain("2 blank line(s) skipped (line 1, 2)");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A row with more tab-separated fields than the header (a tab inside the text) was read by shortcut's own reader
    /// as a cut text ("a good" with the highlight "film"); it is refused now with the message predict gives for the
    /// same row (line 2 has 3 fields, the header 2), before any model loads.
    /// </summary>
    [Fact]
    public void Shortcut_refuses_a_row_with_more_fields_than_the_header_as_every_input_does()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "sentence\thighlight\na good\tfilm\tgood\n");
            const string expected = "line 2 has 3 tab-separated fields but the header has 2: a TSV field cannot hold a tab";

            var predict = CliHarness.Run("predict", "--model", "no-such-model-folder", "--input", path);
            var shortcut = CliHarness.Run("shortcut", "--model", "no-such-model-folder", "--input", path, "--methods", "gradient");

            predict.Error.Should().Contain($"error: --input: {path}, {expected}", predict.ToString());
            shortcut.Code.Should().Be(2, shortcut.ToString());
            shortcut.Error.Should().Contain($"error: --input: {path}, {expected}");

            // A row without a highlight is refused by its line in the file, blank lines counted.
            File.WriteAllText(path, "\nsentence\thighlight\na good film\tgood\n\nbad\t \n");
            var missing = CliHarness.Run("shortcut", "--model", "no-such-model-folder", "--input", path, "--methods", "gradient");
            missing.Code.Should().Be(2, missing.ToString());
            missing.Error.Should().Contain($"error: --input: {path}, line 5: the row has no 'highlight' value");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A file or standard input with a UTF-16 or UTF-32 byte-order mark was decoded in that encoding (the reader
    /// followed the mark, leniently) where --input is documented as UTF-8; it is refused now, naming the option, the
    /// encoding found and the fix. The marks are the Unicode standard's, written by .NET's encoders.
    /// </summary>
    [Theory]
    [InlineData("UTF-16 LE")]
    [InlineData("UTF-16 BE")]
    [InlineData("UTF-32 LE")]
    [InlineData("UTF-32 BE")]
    public void A_utf16_or_utf32_byte_order_mark_is_refused_naming_the_encoding(string name)
    {
        var encoding = Attribution.Tests.Data.LabeledTextTests.Utf16Or32(name);
        byte[] content = [.. encoding.GetPreamble(), .. encoding.GetBytes("good film\nbad film\n")];
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, content);
            var file = CliHarness.Run("predict", "--model", "no-such-model-folder", "--input", path);
            file.Code.Should().Be(2, file.ToString());
            file.Error.Should().Contain($"error: --input: {path} starts with a {name} byte-order mark: it is {name} text, and --input reads UTF-8; re-save the file as UTF-8");

            using var bytes = new MemoryStream(content);
            var standardInput = CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, InputBytes = bytes },
                "predict", "--model", "no-such-model-folder", "--input", "-");
            standardInput.Code.Should().Be(2, standardInput.ToString());
            standardInput.Error.Should().Contain($"error: --input: standard input (--input -) starts with a {name} byte-order mark");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
