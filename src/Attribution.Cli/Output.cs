using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>Renders results in the requested format and writes them to standard output or the <c>--output</c> file.</summary>
internal static class Output
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// Writes <paramref name="content"/> to the <c>--output</c> file (saying where on standard error, and creating its
    /// folder when missing, saying so) or to standard output.
    /// </summary>
    /// <param name="content">The document.</param>
    /// <param name="output">The <c>--output</c> value, or null for standard output.</param>
    /// <param name="context">Standard output and error.</param>
    /// <param name="sayWhere">Whether to say "wrote PATH" (the demo says where its report is in its own words).</param>
    public static void Write(string content, string? output, CliContext context, bool sayWhere = true)
    {
        if (output is null)
        {
            try
            {
                context.Out.Write(content);
                context.Out.Flush();
            }
            catch (IOException e)
            {
                // A closed pipe (`attribution … | head -0`), a full disk behind a redirection, a closed descriptor.
                throw new OutputException($"cannot write the results to standard output ({e.Message.TrimEnd('.')}): it was closed, or the disk behind it is full; nothing more was written", e);
            }
            catch (Exception e) when (e is ObjectDisposedException or UnauthorizedAccessException)
            {
                // A descriptor 1 closed before the start is reused by the runtime for a read-only file: EBADF on write.
                throw new OutputException("cannot write the results to standard output: it is closed (descriptor 1 is not open for writing); nothing was written", e);
            }

            return;
        }

        var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(content);
        WriteFile(stream => stream.Write(bytes), output, context, sayWhere);
    }

    /// <summary>
    /// Writes the <c>--output</c> file with what <paramref name="write"/> puts in it, whole or not at all
    /// (<see cref="Attribution.Engine.AtomicFile"/>): a failure midway leaves the file that was there and no temporary file.
    /// </summary>
    internal static void WriteFile(Action<Stream> write, string output, CliContext context, bool sayWhere = true)
    {
        var path = CheckOutputPath(output, context);
        try
        {
            CreateFolderOf(path, "--output", context);
            Attribution.Engine.AtomicFile.Write(path, write);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new OutputException($"cannot write {path}: permission denied ({e.Message.TrimEnd('.')})", e);
        }
        catch (IOException e)
        {
            throw new OutputException($"cannot write {path}: {e.Message.TrimEnd('.')} (a full disk, or a path that cannot be created)", e);
        }

        if (sayWhere)
        {
            context.Error.WriteLine($"wrote {path}");
        }
    }

    /// <summary>
    /// Creates the folder of <paramref name="path"/> when it does not exist, saying so on standard error: a mistyped
    /// folder must not pass unnoticed, and refusing would make every command's output path need a separate mkdir.
    /// </summary>
    /// <param name="path">The absolute path of the file to write.</param>
    /// <param name="option">The option that named it.</param>
    /// <param name="context">Standard error.</param>
    public static void CreateFolderOf(string path, string option, CliContext context)
    {
        var folder = Path.GetDirectoryName(path);
        if (string.IsNullOrEmpty(folder) || Directory.Exists(folder))
        {
            return;
        }

        Directory.CreateDirectory(folder);
        context.Error.WriteLine($"note: {option}: created the folder {folder}, which did not exist");
    }

    /// <summary>
    /// The absolute <c>--output</c> path, refused (bad usage, naming the option and the path) when it cannot be a file:
    /// empty, ending in a separator, an existing folder, or under a regular file.
    /// </summary>
    public static string CheckOutputPath(string output, CliContext context)
    {
        if (output.Length == 0)
        {
            throw new UsageException("--output", "the path is empty; give the file to write");
        }

        if (output.EndsWith(Path.DirectorySeparatorChar) || output.EndsWith(Path.AltDirectorySeparatorChar))
        {
            throw new UsageException("--output", $"{output} ends in '{output[^1]}', which names a folder; give a file path (e.g. {output}result.html)");
        }

        var path = context.Resolve(output);
        if (Directory.Exists(path))
        {
            throw new UsageException("--output", $"{output} is a folder; give a file path");
        }

        for (var parent = Path.GetDirectoryName(path); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent))
            {
                throw new UsageException("--output", $"{parent} is a file, so {output} cannot be created under it; choose another path");
            }

            if (Directory.Exists(parent))
            {
                break;
            }
        }

        return path;
    }

    /// <summary>
    /// Refuses (bad usage, before any model is loaded) an <c>--output</c> that names the file the run reads its texts
    /// from (<c>--input</c>, or <c>shortcut --train</c>), however it is written (a relative path, a symbolic link):
    /// the run read the file, then replaced it with its results, and the texts were lost without a word.
    /// </summary>
    /// <exception cref="UsageException">--output is the same file as --input or --train.</exception>
    public static void CheckOutputIsNotInput(ParseResult parse, CliContext context)
    {
        var options = parse.CommandResult.Command.Options;
        if (options.FirstOrDefault(o => o.Name == "--output") is not Option<string?> outputOption
            || parse.GetValue(outputOption) is not { Length: > 0 } output || string.IsNullOrWhiteSpace(output))
        {
            return;
        }

        var written = FinalPath(context.Resolve(output));
        foreach (var name in new[] { "--input", "--train" })
        {
            if (options.FirstOrDefault(o => o.Name == name) is Option<string?> inputOption
                && parse.GetValue(inputOption) is { Length: > 0 } input && input != "-" && !string.IsNullOrWhiteSpace(input)
                && string.Equals(FinalPath(context.Resolve(input)), written, PathComparison))
            {
                throw new UsageException("--output", $"{output} is the file {name} reads ({input}): writing the results there would replace the texts; give another --output path");
            }
        }
    }

    /// <summary>File names differ by case only where the file system tells them apart: Linux, not Windows or macOS by default.</summary>
    private static readonly StringComparison PathComparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// The path with every symbolic link along it followed, component by component (a link to a folder higher up, as in
    /// <c>d/sub/texts.tsv</c> with <c>d → data</c>, was missed when only the file and its own folder were looked at), and
    /// <c>..</c> taken from the folder reached so far, as the operating system takes it. A part that does not exist is
    /// kept as written. Hard links are not detected (.NET gives no file identity to compare).
    /// </summary>
    private static string FinalPath(string path, int depth = 0)
    {
        try
        {
            var full = Path.IsPathRooted(path) ? path : Path.Combine(Environment.CurrentDirectory, path);
            var root = Path.GetPathRoot(full) ?? string.Empty;
            var current = root;
            foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar))
            {
                if (part is "" or ".")
                {
                    continue;
                }

                if (part == "..")
                {
                    current = Path.GetDirectoryName(current) ?? root;
                    continue;
                }

                current = Path.Combine(current, part);
                FileSystemInfo entry = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
                // 40 links deep, as Linux's own limit (ELOOP): a cycle of links is left to the run, which reports it.
                if (entry.LinkTarget is not null && depth < 40 && entry.ResolveLinkTarget(returnFinalTarget: true) is { } target)
                {
                    current = FinalPath(target.FullName, depth + 1);
                }
            }

            return current;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A link that cannot be followed is left to the run, which reports the file it cannot read or write.
            return path;
        }
    }

    /// <summary>The colours of the table format: the terminal's when writing to standard output, none in a file.</summary>
    public static ColorMode TableColor(string? output, CliContext context) => output is null ? context.OutputColor : ColorMode.Plain;

    /// <summary>Explanations of one method in <paramref name="settings"/>' format.</summary>
    public static string Explanations(ITokenClassifier model, IAttributor method, IReadOnlyList<Explanation> results, RunSettings settings, CliContext context)
    {
        var document = new ExplanationDocument
        {
            Model = model.Name,
            Method = method.Name,
            Settings = results[0].Settings,
            Labels = model.Labels,
            Results = results,
        };
        return settings.Format switch
        {
            "json" => ExplanationJson.Serialize(document) + "\n",
            "html" => HtmlReport.Render(document, $"{model.Name}: {method.Name}", new HtmlReportOptions { Granularity = settings.Granularity }),
            "markdown" => MarkdownRenderer.Render(document, new MarkdownOptions { Granularity = settings.Granularity }),
            _ => ConsoleRenderer.Render(
                ExplanationGroup.ByText(results),
                new ConsoleRenderOptions { Granularity = settings.Granularity, Color = TableColor(settings.Output, context), Labels = model.Labels }),
        };
    }

    /// <summary>Several methods side by side, with their agreement.</summary>
    public static string Comparison(
        ITokenClassifier model, IReadOnlyList<IReadOnlyList<Explanation>> resultsByMethod, IReadOnlyList<PairAgreement> agreement,
        RunSettings settings, CliContext context, string? title = null)
    {
        var groups = ExplanationGroup.FromMethods(resultsByMethod);
        var texts = resultsByMethod[0].Count;
        switch (settings.Format)
        {
            case "json":
                var shared = new List<KeyValuePair<string, string>>
                {
                    new("score", settings.Explain.Score.Name()),
                    new("agreement", $"spearman over {(settings.Granularity == Granularity.Words ? "word" : "token")} scores (magnitudes when a method is unsigned)"),
                };
                foreach (var pair in agreement)
                {
                    shared.Add(new($"spearman:{pair.First}~{pair.Second}", Number(pair.Mean)));
                    if (texts > 1)
                    {
                        shared.Add(new($"spearman:{pair.First}~{pair.Second}:per-text", string.Join(",", pair.PerText.Select(Number))));
                    }

                    if (AgreementNote(pair, settings.Granularity) is { } note)
                    {
                        shared.Add(new($"spearman:{pair.First}~{pair.Second}:note", note));
                    }
                }

                return ExplanationJson.Serialize(ExplanationDocument.Comparison(model.Name, resultsByMethod, model.Labels, shared)) + "\n";
            case "html":
                var html = HtmlReport.Render(groups, title ?? $"{model.Name}: compare", new HtmlReportOptions { Granularity = settings.Granularity, Labels = model.Labels });
                return InsertBeforeBodyEnd(html, AgreementHtml(agreement, texts, settings.Granularity));
            case "markdown":
                return MarkdownRenderer.Render(groups, new MarkdownOptions { Granularity = settings.Granularity, Labels = model.Labels })
                    + AgreementMarkdown(agreement, texts, settings.Granularity);
            default:
                return ConsoleRenderer.Render(groups, new ConsoleRenderOptions
                {
                    Granularity = settings.Granularity,
                    Color = TableColor(settings.Output, context),
                    Labels = model.Labels,
                }) + AgreementText(agreement, texts, settings.Granularity);
        }
    }

    /// <summary>Predictions as a table, JSON or Markdown.</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="predictions">One per text.</param>
    /// <param name="format">table, json or markdown.</param>
    /// <param name="truncated">Per text, the tokens truncation dropped (JSON's <c>truncated_tokens</c>, where above 0), or null.</param>
    public static string Predictions(ITokenClassifier model, IReadOnlyList<Prediction> predictions, string format, IReadOnlyList<int>? truncated = null)
    {
        switch (format)
        {
            case "json":
                using (var buffer = new MemoryStream())
                {
                    using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                    {
                        json.WriteStartObject();
                        json.WriteString("model", model.Name);
                        json.WriteString("head", model.Head.Name());
                        json.WriteStartArray("labels");
                        foreach (var label in model.Labels)
                        {
                            json.WriteStringValue(label);
                        }

                        json.WriteEndArray();
                        json.WriteStartArray("predictions");
                        for (var i = 0; i < predictions.Count; i++)
                        {
                            var p = predictions[i];
                            json.WriteStartObject();
                            json.WriteString("text", p.Text);
                            if (truncated is not null && truncated[i] > 0)
                            {
                                json.WriteNumber("truncated_tokens", truncated[i]);
                            }

                            if (model.Head == OutputHead.Regression)
                            {
                                json.WriteNumber("score", p.Logits[0]);
                            }
                            else
                            {
                                json.WriteNumber("label", p.Label);
                                json.WriteString("label_name", p.LabelName);
                                json.WriteStartArray("predicted_labels");
                                foreach (var label in p.Labels)
                                {
                                    json.WriteStringValue(model.Labels[label]);
                                }

                                json.WriteEndArray();
                            }

                            json.WriteStartArray("logits");
                            foreach (var v in p.Logits)
                            {
                                json.WriteNumberValue(v);
                            }

                            json.WriteEndArray();
                            json.WriteStartArray("probabilities");
                            foreach (var v in p.Probabilities)
                            {
                                json.WriteNumberValue(v);
                            }

                            json.WriteEndArray();
                            json.WriteEndObject();
                        }

                        json.WriteEndArray();
                        json.WriteEndObject();
                    }

                    return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
                }

            case "markdown":
                var markdown = new StringBuilder();
                var headers = model.Head == OutputHead.Regression ? [] : model.Labels.Select(l => Column(model.Head, MarkdownRenderer.Escape(l))).ToArray();
                markdown.Append("| text | prediction |").Append(string.Concat(headers.Select(h => " " + h + " |"))).Append('\n');
                markdown.Append("| --- | --- |").Append(string.Concat(headers.Select(_ => " ---: |"))).Append('\n');
                foreach (var p in predictions)
                {
                    markdown.Append("| ").Append(MarkdownRenderer.Escape(p.Text)).Append(" | ").Append(MarkdownRenderer.Escape(PredictionText(model, p))).Append(" |")
                        .Append(string.Concat(p.Probabilities.Select(v => " " + v.ToString("F4", Invariant) + " |"))).Append('\n');
                }

                return markdown.ToString();
            default:
                // Label names come from the model's config.json: made printable like the texts, so a newline cannot
                // break the table and an escape sequence or a bidi override cannot reach the terminal.
                // Widths in terminal columns: a CJK label name takes two per character.
                var names = model.Labels.Select(Printable).ToArray();
                var labelWidth = Math.Max(10, predictions.Select(p => RenderSupport.DisplayWidth(Printable(PredictionText(model, p)))).Append(names.Max(RenderSupport.DisplayWidth)).Max());
                var columns = names.Select(l => Math.Max(8, RenderSupport.DisplayWidth(l) + 3)).ToArray();
                var table = new StringBuilder();
                table.Append("prediction".PadRight(labelWidth)).Append("  ");
                for (var k = 0; k < names.Length && model.Head != OutputHead.Regression; k++)
                {
                    table.Append(RenderSupport.PadLeftToWidth(Column(model.Head, names[k]), columns[k])).Append("  ");
                }

                table.Append("text\n");
                foreach (var p in predictions)
                {
                    table.Append(RenderSupport.PadRightToWidth(Printable(PredictionText(model, p)), labelWidth)).Append("  ");
                    for (var k = 0; k < p.Probabilities.Length; k++)
                    {
                        table.Append(p.Probabilities[k].ToString("F4", Invariant).PadLeft(columns[k])).Append("  ");
                    }

                    table.Append(Printable(p.Text)).Append('\n');
                }

                return table.ToString();
        }
    }

    /// <summary>A probability column's header: p(label) for softmax labels, σ(label) for multi-label sigmoids.</summary>
    private static string Column(OutputHead head, string label) => (head == OutputHead.MultiLabel ? "σ(" : "p(") + label + ")";

    /// <summary>What a prediction says: the label; every label above 0.5 (multi-label); the score (regression).</summary>
    private static string PredictionText(ITokenClassifier model, Prediction p) => model.Head switch
    {
        OutputHead.Regression => "score " + p.Logits[0].ToString("F4", Invariant),
        OutputHead.MultiLabel => string.Join(",", p.Labels.Select(k => model.Labels[k])),
        _ => p.LabelName,
    };

    /// <summary>ρ as text: signed, two decimals, or <c>n/a</c>.</summary>
    public static string Rho(double value) => double.IsFinite(value) ? value.ToString("+0.00;-0.00;+0.00", Invariant) : " n/a";

    /// <summary>Inserts an HTML fragment just before <c>&lt;/body&gt;</c>.</summary>
    public static string InsertBeforeBodyEnd(string html, string fragment)
    {
        var at = html.LastIndexOf("</body>", StringComparison.Ordinal);
        return at < 0 ? html + fragment : html.Insert(at, fragment);
    }

    /// <summary>
    /// Control characters and bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) replaced,
    /// so a text cannot send escape sequences to the terminal or show the rest of its line reordered (as the table
    /// format of explain does); the Unicode line and paragraph separators (U+2028, U+2029) become spaces.
    /// </summary>
    public static string Printable(string text) =>
        string.Concat(text.Select(c => c is '\u2028' or '\u2029' ? ' ' : char.IsControl(c) || Attribution.Salience.RenderSupport.IsBidiOverride(c) ? '\uFFFD' : c));

    // Settings are strings in the document format (its schema and reader refuse null there): an undefined ρ is the
    // word "undefined", with a ":note" key saying why, rather than "nan", which reads (and parses) as a number.
    private static string Number(double value) => double.IsFinite(value) ? Attribution.Text.RoundTripNumber.Format(value) : "undefined";

    /// <summary>Why a pair's ρ is undefined on some or every text, or null when it is defined on every text.</summary>
    private static string? AgreementNote(PairAgreement pair, Granularity granularity)
    {
        var undefined = Enumerable.Range(0, pair.PerText.Length).Where(t => !double.IsFinite(pair.PerText[t])).ToArray();
        if (undefined.Length == 0)
        {
            return null;
        }

        var unit = Unit(granularity);
        var why = $"Spearman's rank correlation needs at least two {unit}s whose scores are not all equal under both methods (a one-{unit} text or constant scores rank nothing)";
        return undefined.Length == pair.PerText.Length
            ? $"undefined on every text: {why}"
            : $"the mean is over {pair.PerText.Length - undefined.Length} of {pair.PerText.Length} texts: undefined on text {string.Join(", ", undefined.Select(t => t + 1))}, as {why}";
    }

    private static string Unit(Granularity granularity) => granularity == Granularity.Words ? "word" : "token";

    private static string AgreementText(IReadOnlyList<PairAgreement> agreement, int texts, Granularity granularity)
    {
        if (agreement.Count == 0)
        {
            return string.Empty;
        }

        var text = new StringBuilder();
        text.Append('\n').Append($"Agreement between methods: Spearman's rank correlation of {Unit(granularity)} scores")
            .Append(texts > 1 ? $", mean over {texts} texts" : string.Empty)
            .Append(" (magnitudes |score| when a method is unsigned; +1 = same ranking, 0 = unrelated, -1 = reversed)\n");
        var width = agreement.Max(p => p.First.Length + p.Second.Length) + 3;
        foreach (var pair in agreement)
        {
            text.Append("  ").Append($"{pair.First} ~ {pair.Second}".PadRight(width)).Append("  ").Append(Rho(pair.Mean));
            if (texts > 1)
            {
                text.Append("   per text: ").Append(string.Join(" ", pair.PerText.Select(Rho)));
            }

            text.Append('\n');
        }

        var means = agreement.Select(p => p.Mean).Where(double.IsFinite).ToArray();
        if (means.Length > 0)
        {
            text.Append("  ").Append("all pairs".PadRight(width)).Append("  ").Append(Rho(means.Average())).Append('\n');
        }

        foreach (var pair in agreement)
        {
            if (AgreementNote(pair, granularity) is { } note)
            {
                text.Append("  note (").Append(pair.First).Append(" ~ ").Append(pair.Second).Append("): ").Append(note).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string AgreementMarkdown(IReadOnlyList<PairAgreement> agreement, int texts, Granularity granularity)
    {
        if (agreement.Count == 0)
        {
            return string.Empty;
        }

        var markdown = new StringBuilder();
        markdown.Append("\n## Agreement between methods\n\n")
            .Append($"Spearman's rank correlation of {Unit(granularity)} scores (magnitudes when a method is unsigned)")
            .Append(texts > 1 ? $", mean over {texts} texts" : string.Empty).Append(".\n\n");
        markdown.Append("| methods | ρ |").Append(texts > 1 ? " per text |" : string.Empty).Append('\n');
        markdown.Append("| --- | ---: |").Append(texts > 1 ? " --- |" : string.Empty).Append('\n');
        foreach (var pair in agreement)
        {
            markdown.Append("| ").Append(MarkdownRenderer.Escape($"{pair.First} ~ {pair.Second}")).Append(" | ").Append(Rho(pair.Mean)).Append(" |");
            if (texts > 1)
            {
                markdown.Append(' ').Append(string.Join(" ", pair.PerText.Select(Rho))).Append(" |");
            }

            markdown.Append('\n');
        }

        var notes = agreement.Select(p => (Pair: p, Note: AgreementNote(p, granularity))).Where(n => n.Note is not null).ToList();
        if (notes.Count > 0)
        {
            markdown.Append('\n');
            foreach (var (pair, note) in notes)
            {
                markdown.Append("- note (").Append(MarkdownRenderer.Escape($"{pair.First} ~ {pair.Second}")).Append("): ").Append(MarkdownRenderer.Escape(note!)).Append('\n');
            }
        }

        return markdown.ToString();
    }

    private static string AgreementHtml(IReadOnlyList<PairAgreement> agreement, int texts, Granularity granularity)
    {
        if (agreement.Count == 0)
        {
            return string.Empty;
        }

        var methods = agreement.Select(p => p.First).Concat(agreement.Select(p => p.Second)).Distinct(StringComparer.Ordinal).ToList();
        var html = new StringBuilder();
        html.Append("<section class=\"text\">\n<h2>Agreement between methods</h2>\n<p class=\"meta\">")
            .Append(HtmlReport.Escape($"Spearman's rank correlation of {Unit(granularity)} scores (magnitudes |score| when a method is unsigned)"))
            .Append(texts > 1 ? HtmlReport.Escape($", mean over {texts} texts") : string.Empty)
            .Append(". +1: the same ranking; 0: unrelated; −1: reversed.</p>\n<table>\n<tr><th></th>");
        foreach (var m in methods)
        {
            html.Append("<th class=\"meta\">").Append(HtmlReport.Escape(m)).Append("</th>");
        }

        html.Append("</tr>\n");
        foreach (var row in methods)
        {
            html.Append("<tr><th class=\"meta\" style=\"text-align:left\">").Append(HtmlReport.Escape(row)).Append("</th>");
            foreach (var column in methods)
            {
                var pair = agreement.FirstOrDefault(p => (p.First == row && p.Second == column) || (p.First == column && p.Second == row));
                var value = row == column ? "" : pair is null ? "" : Rho(pair.Mean);
                var title = pair is not null && texts > 1 ? " title=\"per text: " + HtmlReport.Escape(string.Join(" ", pair.PerText.Select(Rho))) + "\"" : string.Empty;
                html.Append("<td style=\"text-align:right;padding:2px 8px\"").Append(title).Append('>').Append(HtmlReport.Escape(value)).Append("</td>");
            }

            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
        foreach (var pair in agreement)
        {
            if (AgreementNote(pair, granularity) is { } note)
            {
                html.Append("<p class=\"meta\">").Append(HtmlReport.Escape($"note ({pair.First} ~ {pair.Second}): {note}")).Append("</p>\n");
            }
        }

        html.Append("</section>\n");
        return html.ToString();
    }
}

/// <summary>The results could not be written (standard output closed or full, a file that cannot be written): exit code 1.</summary>
internal sealed class OutputException(string message, Exception inner) : IOException(message, inner);
