using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Cli;

/// <summary><c>attribution scorecard</c>: which method to trust for this model — every metric for several methods, side by side.</summary>
internal static class ScorecardCommand
{
    /// <summary>The methods the scorecard compares when <c>--methods</c> is not given.</summary>
    public static readonly string[] DefaultMethods =
        ["gradient", "gradient-x-input", "integrated-gradients", "lrp-epsilon", "smoothgrad", "gradient-shap", "lime", "occlusion", "kernel-shap"];

    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        options.DefaultMethods(DefaultMethods);
        var highlight = new Option<string?>("--highlight")
        {
            Description = "Plausibility: the highlighted word(s), comma-separated, for every text (a TSV --input may instead have a 'highlight' column).",
            HelpName = "W1,W2",
        };
        var format = new Option<string?>("--format") { Description = "Output format (default markdown).", HelpName = "markdown|html|json" };
        format.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && value is not ("markdown" or "html" or "json"))
            {
                result.AddError($"--format: unknown value '{value}' (scorecard writes markdown, html or json)");
            }
        });
        var command = new Command("scorecard", "Compare methods on a model and texts with every faithfulness, sensitivity and plausibility metric, agreement, completeness and time: which method to trust for this model.")
        {
            options.Model, options.Text, options.Input, options.Methods, highlight, format, options.Output, options.Truncate, options.Verbose,
        };
        foreach (var option in options.MethodOptions)
        {
            command.Options.Add(option);
        }

        // Scorecard.Run explains each text's predicted class by its logit, whole: these are accepted only to be refused
        // with the reason (they were once taken and silently ignored), and not shown in the help.
        foreach (var option in Ignored(options))
        {
            option.Hidden = true;
        }

        command.SetAction(parse =>
        {
            foreach (var option in Ignored(options))
            {
                if (parse.GetResult(option) is { Implicit: false } refused)
                {
                    var value = refused.Tokens.Count > 0 ? $" {refused.Tokens[^1].Value}" : string.Empty;
                    throw new UsageException(option.Name,
                        $"the scorecard explains each text's predicted class with each method's default output, on whole texts, so it cannot take {option.Name}{value}: " +
                        $"leave {option.Name} out{(option == options.Truncate ? " and shorten texts the model cannot take whole" : $", or use explain or evaluate, which take {option.Name}")}");
                }
            }

            var settings = RunSettings.From(parse, options);
            var given = parse.GetValue(options.Methods);
            var names = given is { Length: > 0 } ? CompareCommand.MethodNames(given, settings.Method, context) : DefaultMethods;
            CompareCommand.CheckOptionsUsed(names, settings.Method);
            var texts = TextInputs.Read(settings.Texts, settings.Input, context);
            var highlights = EvaluateCommand.Highlights(parse.GetValue(highlight), settings.Input, texts.Count, settings.Texts?.Count ?? 0, context);
            var highlightsFromOption = parse.GetValue(highlight) is not null;
            if (highlights is not null)
            {
                EvaluateCommand.CheckHighlights(texts, highlights, null, highlightsFromOption);
            }

            var model = ModelSource.LoadAny(settings.ModelPath, context);
            using var owner = model as IDisposable;
            TextChecks.CheckLengths(model, texts, truncate: false, settings.Input is null ? "--text" : "--input", truncatable: false);
            if (given is not { Length: > 0 } && model is not ITextClassifier)
            {
                var perturbation = ModelMethods.PerturbationMethods(model);
                names = names.Where(perturbation.Contains).ToArray();
                context.Error.WriteLine($"note: {model.Name} is an ONNX model: scoring the perturbation methods {string.Join(", ", names)}");
            }

            var methods = names.Select(n => ModelMethods.Create(n, settings.Method, model, "--methods")).ToList();
            if (given is not { Length: > 0 } && model is ITextClassifier torchModel)
            {
                methods = MethodProbe.Supported(methods, torchModel, context);
            }

            context.Error.WriteLine($"scoring {methods.Count} methods on {texts.Count} text(s)");
            ScorecardReport report;
            try
            {
                report = Scorecard.Run(model, texts, methods, highlights?.Select(h => (IReadOnlyCollection<string>)h).ToList(),
                    new ScorecardSettings { Cancellation = context.Cancellation });
            }
            catch (ArgumentException e) when (e.ParamName == "highlights")
            {
                throw EvaluateCommand.HighlightUsage(e, highlightsFromOption);
            }

            var text = (parse.GetValue(format) ?? "markdown") switch
            {
                "json" => Json(report),
                "html" => Html(report),
                _ => Markdown(report),
            };
            Output.Write(text, settings.Output, context);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The options every explaining command has that the scorecard cannot honour (<see cref="Scorecard.Run"/> takes no target, output or truncation).</summary>
    private static Option[] Ignored(CliOptions options) => [options.Target, options.Score, options.Truncate];

    // The report's own definitions: they state the settings the metrics ran with (Scorecard.Definitions states the defaults).
    private static string[] Columns(ScorecardReport report) =>
        report.Definitions.Keys.Where(k => report.Rows.Any(r => r.Metrics.ContainsKey(k))).ToArray();

    private static string Cell(ScorecardRow row, string metric) =>
        row.Metrics.TryGetValue(metric, out var v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "–";

    // An agreement undefined on every text is NaN in the report: shown as a missing metric is, with the row's note saying why.
    private static string AgreementCell(ScorecardRow row) =>
        double.IsNaN(row.Agreement) ? "–" : row.Agreement.ToString("F2", CultureInfo.InvariantCulture);

    internal static string Markdown(ScorecardReport report)
    {
        var columns = Columns(report);
        var builder = new StringBuilder();
        builder.AppendLine(CultureInfo.InvariantCulture, $"# Scorecard: {report.Model}, {report.Texts} text(s)");
        builder.AppendLine();
        builder.AppendLine("| method | " + string.Join(" | ", columns) + " | agreement | ms / text |");
        builder.AppendLine("| --- |" + string.Concat(columns.Select(_ => " ---: |")) + " ---: | ---: |");
        foreach (var row in report.Rows)
        {
            builder.AppendLine($"| {row.Method} | " + string.Join(" | ", columns.Select(c => Cell(row, c))) + " | " +
                AgreementCell(row) + " | " + row.MillisecondsPerText.ToString("F1", CultureInfo.InvariantCulture) + " |");
        }

        builder.AppendLine();
        foreach (var column in columns)
        {
            builder.AppendLine(CultureInfo.InvariantCulture, $"- **{column}**: {report.Definitions[column]}");
        }

        builder.AppendLine("- **agreement**: mean Spearman rank correlation of word scores with the other methods (magnitudes when either is unsigned)");
        foreach (var row in report.Rows)
        {
            foreach (var note in row.Notes)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"- note ({row.Method}): {note}");
            }
        }

        return builder.ToString();
    }

    internal static string Html(ScorecardReport report)
    {
        var columns = Columns(report);
        var builder = new StringBuilder();
        builder.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
        builder.Append(CultureInfo.InvariantCulture, $"<title>Scorecard: {WebUtility.HtmlEncode(report.Model)}</title>");
        builder.Append("<style>body{font-family:sans-serif}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>");
        builder.Append(CultureInfo.InvariantCulture, $"<h1>Scorecard: {WebUtility.HtmlEncode(report.Model)}, {report.Texts} text(s)</h1><table><tr><th>method</th>");
        foreach (var column in columns)
        {
            builder.Append(CultureInfo.InvariantCulture, $"<th title=\"{WebUtility.HtmlEncode(report.Definitions[column])}\">{column}</th>");
        }

        builder.Append("<th>agreement</th><th>ms / text</th></tr>");
        foreach (var row in report.Rows)
        {
            builder.Append(CultureInfo.InvariantCulture, $"<tr><td>{WebUtility.HtmlEncode(row.Method)}</td>");
            foreach (var column in columns)
            {
                builder.Append(CultureInfo.InvariantCulture, $"<td>{Cell(row, column)}</td>");
            }

            builder.Append(CultureInfo.InvariantCulture, $"<td>{AgreementCell(row)}</td><td>{row.MillisecondsPerText.ToString("F1", CultureInfo.InvariantCulture)}</td></tr>");
        }

        builder.Append("</table>");
        builder.Append(Charts(report, columns));
        builder.Append("<ul>");
        foreach (var column in columns)
        {
            builder.Append(CultureInfo.InvariantCulture, $"<li><b>{column}</b>: {WebUtility.HtmlEncode(report.Definitions[column])}</li>");
        }

        foreach (var row in report.Rows)
        {
            foreach (var note in row.Notes)
            {
                builder.Append(CultureInfo.InvariantCulture, $"<li>note ({WebUtility.HtmlEncode(row.Method)}): {WebUtility.HtmlEncode(note)}</li>");
            }
        }

        builder.Append("</ul></body></html>\n");
        return builder.ToString();
    }

    /// <summary>
    /// One inline SVG bar chart per metric (methods on the vertical axis), self-contained like the rest of the page:
    /// the report must open offline, under a CSP that forbids every external resource.
    /// </summary>
    private static string Charts(ScorecardReport report, string[] columns)
    {
        const int barHeight = 18, labelWidth = 170, chartWidth = 260;
        var builder = new StringBuilder("<h2>Per metric</h2><div style=\"display:flex;flex-wrap:wrap;gap:24px\">");
        foreach (var column in columns.Append("ms / text"))
        {
            var values = report.Rows.Select(r => column == "ms / text" ? r.MillisecondsPerText : r.Metrics.GetValueOrDefault(column, double.NaN)).ToArray();
            var finite = values.Where(double.IsFinite).ToArray();
            if (finite.Length == 0)
            {
                continue;
            }

            var low = Math.Min(0, finite.Min());
            var high = Math.Max(0, finite.Max());
            var span = high - low == 0 ? 1 : high - low;
            double X(double v) => labelWidth + ((v - low) / span * chartWidth);
            var height = (report.Rows.Count * barHeight) + 30;
            builder.Append(CultureInfo.InvariantCulture,
                $"<figure style=\"margin:0\"><figcaption><b>{WebUtility.HtmlEncode(column)}</b></figcaption><svg width=\"{labelWidth + chartWidth + 70}\" height=\"{height}\" role=\"img\">");
            for (var i = 0; i < report.Rows.Count; i++)
            {
                var y = 10 + (i * barHeight);
                builder.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + 13}\" text-anchor=\"end\" font-size=\"12\">{WebUtility.HtmlEncode(report.Rows[i].Method)}</text>");
                if (double.IsFinite(values[i]))
                {
                    var x0 = X(Math.Min(0, values[i]));
                    var width = Math.Max(1, Math.Abs(X(values[i]) - X(0)));
                    builder.Append(CultureInfo.InvariantCulture,
                        $"<rect x=\"{x0:F1}\" y=\"{y + 2}\" width=\"{width:F1}\" height=\"{barHeight - 4}\" fill=\"{(values[i] < 0 ? "#d9534f" : "#428bca")}\"/><text x=\"{X(Math.Max(0, values[i])) + 4:F1}\" y=\"{y + 13}\" font-size=\"11\">{values[i].ToString("G3", CultureInfo.InvariantCulture)}</text>");
                }
            }

            builder.Append(CultureInfo.InvariantCulture, $"<line x1=\"{X(0):F1}\" y1=\"6\" x2=\"{X(0):F1}\" y2=\"{height - 16}\" stroke=\"#333\"/></svg></figure>");
        }

        return builder.Append("</div>").ToString();
    }

    private static string Json(ScorecardReport report)
    {
        return CliJson.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("model", report.Model);
            writer.WriteNumber("texts", report.Texts);
            writer.StringObject("definitions", report.Definitions);
            writer.WriteStartArray("methods");
            foreach (var row in report.Rows)
            {
                writer.WriteStartObject();
                writer.WriteString("method", row.Method);
                writer.StringObject("settings", row.Settings);
                writer.WriteStartObject("metrics");
                foreach (var (key, value) in row.Metrics)
                {
                    writer.WriteNumber(key, value);
                }

                writer.WriteEndObject();
                writer.NumberOrNull("agreement", row.Agreement);

                writer.WriteNumber("ms_per_text", row.MillisecondsPerText);
                writer.WriteStartArray("notes");
                foreach (var note in row.Notes)
                {
                    writer.WriteStringValue(note);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }
}
