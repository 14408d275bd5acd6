using System.CommandLine;
using System.Globalization;
using System.Text;
using Attribution.Evaluation;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>
/// <c>attribution counterfactual</c>: a pinned original and edits of it (<c>--edit TEXT</c>, or <c>--replace
/// word=replacement</c>, each one edit; several replacements in one edit separated by commas), each with its prediction
/// and every method's word scores aligned with the original's (LIT's comparison mode).
/// </summary>
internal static class CounterfactualCommand
{
    /// <summary>The methods run when <c>--methods</c> is not given.</summary>
    public static readonly string[] DefaultMethods = ["gradient-x-input", "integrated-gradients", "occlusion"];

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        options.DefaultMethods(DefaultMethods);
        options.TorchSharpModelOnly("the comparison runs gradient methods on every edit");
        var edit = new Option<string[]>("--edit") { Description = "An edited version of the text (repeat for several).", HelpName = "TEXT", AllowMultipleArgumentsPerToken = true };
        var replace = new Option<string[]>("--replace")
        {
            Description = "Word replacements that make one edit: word=replacement (no spaces around '='), several separated by commas (repeat for several edits). Whole words, case kept.",
            HelpName = "W=R",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("counterfactual", "Compare a text with edited versions of it: the prediction change and every method's scores, word by word.");
        command.Options.Add(options.Model);
        command.Options.Add(options.Text);
        command.Options.Add(edit);
        command.Options.Add(replace);
        command.Options.Add(options.Methods);
        foreach (var option in options.MethodOptions.Concat(options.OutputOptions))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var settings = RunSettings.From(parse, options);
            if (settings.Texts is not { Count: 1 })
            {
                throw new UsageException("--text", "give the original text once with --text TEXT");
            }

            // The comparison aligns the texts word by word and shows word scores only: token scores and the special
            // tokens' scores have no row to go in, and were dropped without a word.
            if (settings.Granularity == Granularity.Tokens)
            {
                throw new UsageException("--granularity", "counterfactual aligns the original and the edits word by word and shows word scores only, so 'tokens' cannot apply: leave --granularity out (words), or use explain --granularity tokens for token scores");
            }

            if (settings.Explain.Salience.KeepSpecialTokens)
            {
                throw new UsageException("--keep-special", "counterfactual aligns the words of the texts, and special tokens ([CLS], [SEP]) are no words, so their scores have no row: leave --keep-special out, or use explain --keep-special --granularity tokens to see them");
            }

            var original = TextInputs.Read(settings.Texts, null, context)[0];
            var edits = new List<string>(parse.GetValue(edit) ?? []);
            // Checked here so that the error names --edit: the library's check would name the texts it was given (--text).
            var blank = edits.FindIndex(string.IsNullOrWhiteSpace);
            if (blank >= 0)
            {
                throw new UsageException("--edit", $"edit {blank + 1} is empty: give the edited version of the text");
            }

            foreach (var group in parse.GetValue(replace) ?? [])
            {
                try
                {
                    edits.Add(Counterfactuals.Replace(original, group.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));
                }
                catch (ArgumentException e)
                {
                    throw new UsageException("--replace", CliApp.UsageMessage(e));
                }
            }

            if (edits.Count == 0)
            {
                throw new UsageException("--edit", "give at least one edit: --edit TEXT or --replace word=replacement");
            }

            // As compare: an option that none of the methods uses is refused, not silently ignored (before the model loads).
            var names = CompareCommand.MethodNames(parse.GetValue(options.Methods) is { Length: > 0 } given ? given : DefaultMethods, settings.Method, context);
            CompareCommand.CheckOptionsUsed(names, settings.Method);
            // As explain and compare: plain attention rollout alone takes no class or output, so --target/--score are refused.
            ExplainCommand.CheckTargetAndScoreUsed(names, parse, options, settings.Method);
            var model = ModelSource.LoadAny(settings.ModelPath, context) as ITextClassifier
                ?? throw new UsageException("--model", "counterfactual comparison needs a TorchSharp model (gradient methods explain every edit)");
            using var owner = model as IDisposable;
            TextChecks.CheckLengths(model, [original], settings.Explain.Truncate, "--text");
            TextChecks.CheckLengths(model, edits, settings.Explain.Truncate, edits.Count > (parse.GetValue(edit)?.Length ?? 0) ? "--edit/--replace" : "--edit");
            var methods = names.Select(n => ModelMethods.Create(n, settings.Method, model, "--methods")).ToList();
            // Ctrl-C's token, as the other commands pass it: before, the predictions and explanations ran to the end.
            var report = Counterfactuals.Compare(model, original, edits, methods, settings.Explain with { Cancellation = context.Cancellation });
            Output.Write(Render(report, settings.Format, model.Head), settings.Output, context);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Render(CounterfactualReport report, string format, OutputHead head) => format switch
    {
        "json" => Json(report, head),
        "html" => Html(report),
        "markdown" => Markdown(report, head),
        _ => Table(report, head),
    };

    /// <summary>
    /// What a prediction says: the label (single-label, regression); for a multi-label model every label above 0.5,
    /// comma-separated as <c>predict</c> shows them, or that none is.
    /// </summary>
    private static string Predicted(OutputHead head, string top, IReadOnlyList<string> labels) =>
        head != OutputHead.MultiLabel ? top : labels.Count > 0 ? string.Join(",", labels) : "no label above 0.5";

    /// <summary>The probability shown with a prediction; a multi-label model's is one label's sigmoid, so it names that label.</summary>
    private static string Probability(OutputHead head, string top, double probability) =>
        (head == OutputHead.MultiLabel ? $"σ({top}) " : string.Empty) + probability.ToString("0.0000", Invariant);

    private static string F(double? value) => value is { } v ? v.ToString("+0.0000;-0.0000;0.0000", Invariant) : "";

    private static string Mark(WordChange change) => change switch
    {
        WordChange.Replaced => "replaced",
        WordChange.Inserted => "inserted",
        WordChange.Deleted => "deleted",
        _ => "",
    };

    /// <summary>A word of the word table, printable, padded to 14 terminal columns (a dash when the side has none).</summary>
    private static string Cell(string? word) => RenderSupport.PadRightToWidth(Output.Printable(word ?? "-"), 14);

    private static string Table(CounterfactualReport report, OutputHead head)
    {
        var text = new StringBuilder();
        // The texts and their words are the user's, the label names the model config's: made printable, so an escape sequence cannot reach the terminal, and
        // padded by terminal columns, so wide characters keep the columns aligned.
        text.Append("original: ").Append(Output.Printable(report.Original)).Append(" -> ").Append(Output.Printable(Predicted(head, report.Prediction, report.PredictedLabels)))
            .Append(" (").Append(Output.Printable(Probability(head, report.Prediction, report.Probability))).Append(")\n");
        foreach (var edit in report.Edits)
        {
            text.Append("\nedit: ").Append(Output.Printable(edit.Text)).Append(" -> ").Append(Output.Printable(Predicted(head, edit.Prediction, edit.PredictedLabels)))
                .Append(" (").Append(Output.Printable(Probability(head, edit.Prediction, edit.Probability))).Append(')')
                .Append(edit.Flipped ? " FLIPPED" : string.Empty).Append('\n');
            text.Append("  ").Append("original".PadRight(14)).Append("edit".PadRight(14)).Append("change".PadRight(10));
            foreach (var method in report.Methods)
            {
                text.Append((method + " (orig/edit/diff)").PadRight(40));
            }

            text.Append('\n');
            foreach (var row in edit.Words)
            {
                text.Append("  ").Append(Cell(row.Original)).Append(Cell(row.Edited)).Append(Mark(row.Change).PadRight(10));
                for (var m = 0; m < report.Methods.Count; m++)
                {
                    text.Append($"{F(row.OriginalScores[m])} {F(row.EditedScores[m])} {F(row.Differences[m])}".PadRight(40));
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Markdown(CounterfactualReport report, OutputHead head)
    {
        var md = new StringBuilder();
        md.Append("**Original:** ").Append(MarkdownRenderer.Escape(report.Original)).Append(" → ").Append(MarkdownRenderer.Escape(Predicted(head, report.Prediction, report.PredictedLabels)))
            .Append(" (").Append(MarkdownRenderer.Escape(Probability(head, report.Prediction, report.Probability))).Append(")\n");
        foreach (var edit in report.Edits)
        {
            md.Append("\n**Edit:** ").Append(MarkdownRenderer.Escape(edit.Text)).Append(" → ").Append(MarkdownRenderer.Escape(Predicted(head, edit.Prediction, edit.PredictedLabels))).Append(edit.Flipped ? " (flipped)" : string.Empty).Append("\n\n");
            md.Append("| original | edit | change |").Append(string.Concat(report.Methods.Select(m => $" {m} | Δ |"))).Append('\n');
            md.Append("|:--|:--|:--|").Append(string.Concat(report.Methods.Select(_ => "--:|--:|"))).Append('\n');
            foreach (var row in edit.Words)
            {
                md.Append("| ").Append(MarkdownRenderer.Escape(row.Original ?? "")).Append(" | ").Append(MarkdownRenderer.Escape(row.Edited ?? "")).Append(" | ").Append(Mark(row.Change)).Append(" |");
                for (var m = 0; m < report.Methods.Count; m++)
                {
                    md.Append(' ').Append(F(row.EditedScores[m])).Append(" | ").Append(F(row.Differences[m])).Append(" |");
                }

                md.Append('\n');
            }
        }

        return md.ToString();
    }

    private static string Html(CounterfactualReport report)
    {
        // The pinned original and each edit side by side, as the library's report renders them, then the aligned table.
        var groups = new List<ExplanationGroup> { new(report.Original, report.Explanations) };
        groups.AddRange(report.Edits.Select(e => new ExplanationGroup(e.Text, e.Explanations)));
        var html = HtmlReport.Render(groups, "counterfactual comparison");
        var table = new StringBuilder("<section class=\"text\"><h2>Word by word</h2>\n");
        foreach (var edit in report.Edits)
        {
            table.Append("<p>").Append(HtmlReport.Escape(edit.Text)).Append(edit.Flipped ? " <b>(flipped)</b>" : string.Empty).Append("</p>\n<table><tr><th>original</th><th>edit</th><th>change</th>")
                .Append(string.Concat(report.Methods.Select(m => $"<th>{HtmlReport.Escape(m)}</th><th>Δ</th>"))).Append("</tr>\n");
            foreach (var row in edit.Words)
            {
                table.Append("<tr><td>").Append(HtmlReport.Escape(row.Original ?? "")).Append("</td><td>").Append(HtmlReport.Escape(row.Edited ?? "")).Append("</td><td>").Append(Mark(row.Change)).Append("</td>");
                for (var m = 0; m < report.Methods.Count; m++)
                {
                    table.Append("<td>").Append(F(row.EditedScores[m])).Append("</td><td>").Append(F(row.Differences[m])).Append("</td>");
                }

                table.Append("</tr>\n");
            }

            table.Append("</table>\n");
        }

        return Output.InsertBeforeBodyEnd(html, table.Append("</section>\n").ToString());
    }

    private static string Json(CounterfactualReport report, OutputHead head) => CliJson.Write(json =>
    {
        // A multi-label model's prediction is a set of labels: predicted_labels beside the top label (as in predict's JSON).
        void Labels(IReadOnlyList<string> labels)
        {
            if (head == OutputHead.MultiLabel)
            {
                json.WriteStartArray("predicted_labels");
                labels.ToList().ForEach(json.WriteStringValue);
                json.WriteEndArray();
            }
        }

        json.WriteStartObject();
        json.WriteString("original", report.Original);
        json.WriteString("prediction", report.Prediction);
        Labels(report.PredictedLabels);
        json.WriteNumber("probability", report.Probability);
        json.WriteStartArray("methods");
        report.Methods.ToList().ForEach(json.WriteStringValue);
        json.WriteEndArray();
        json.WriteStartArray("edits");
        foreach (var edit in report.Edits)
        {
            json.WriteStartObject();
            json.WriteString("text", edit.Text);
            json.WriteString("prediction", edit.Prediction);
            Labels(edit.PredictedLabels);
            json.WriteNumber("probability", edit.Probability);
            json.WriteNumber("original_label_probability", edit.OriginalLabelProbability);
            json.WriteBoolean("flipped", edit.Flipped);
            json.WriteStartArray("words");
            foreach (var row in edit.Words)
            {
                json.WriteStartObject();
                json.StringOrNull("original", row.Original);
                json.StringOrNull("edited", row.Edited);
                json.WriteString("change", row.Change.ToString().ToLowerInvariant());
                json.NumbersOrNull("original_scores", row.OriginalScores);
                json.NumbersOrNull("edited_scores", row.EditedScores);
                json.NumbersOrNull("differences", row.Differences.Select(d => (double?)d));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    });
}
