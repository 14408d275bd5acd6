using Attribution.Pipeline;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Cli;

/// <summary>
/// <c>attribution evaluate</c>: explains texts with one method and scores the explanations with faithfulness and
/// plausibility metrics (comprehensiveness, sufficiency, leave-one-out correlation, plausibility, infidelity, max-sensitivity).
/// </summary>
internal static class EvaluateCommand
{
    /// <summary>The metrics <c>--metric</c> accepts.</summary>
    public static readonly string[] Metrics = ["comprehensiveness", "sufficiency", "loo-correlation", "plausibility", "infidelity", "max-sensitivity"];

    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        options.Method.Required = true;
        var metric = new Option<string[]>("--metric")
        {
            Description = $"Metrics to compute (repeat or comma-separate): {string.Join(", ", Metrics)}.",
            HelpName = "M1,M2,...",
            AllowMultipleArgumentsPerToken = true,
            Required = true,
        };
        var removal = new Option<string?>("--removal")
        {
            Description = "comprehensiveness and sufficiency: remove the rationale's tokens (default) or mask them.",
            HelpName = "remove|mask",
        };
        removal.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && value is not ("remove" or "mask"))
            {
                result.AddError($"--removal: unknown value '{value}' (use remove or mask)");
            }
        });
        var highlight = new Option<string?>("--highlight")
        {
            Description = "plausibility: the highlighted word(s), comma-separated, for every text (a TSV --input may instead have a 'highlight' column).",
            HelpName = "W1,W2",
        };
        // Parsed by CliOptions, as every other number: System.CommandLine's own parser refused "x" naming a .NET type.
        var topK = CliOptions.Int(
            "--top-k", "plausibility: k of token-F1 and IOU (default: the number of highlighted words in the text, repeats counted).", 1, helpName: "K");
        var metricSamples = CliOptions.Int(
            "--metric-samples", "infidelity and max-sensitivity: perturbations per text (default 10; at most 1000).", 1, SensitivitySettings.MaxSamples);
        var metricSeed = CliOptions.Seed64("--metric-seed", "infidelity and max-sensitivity: seed of the perturbations (default 0).");
        var stdev = CliOptions.Number("--perturbation-stdev", "infidelity: standard deviation of the Gaussian perturbations of the word embeddings (default 0.03).", "X");
        var radius = CliOptions.Number("--radius", "max-sensitivity: radius of the uniform L-infinity perturbations of the word embeddings (default 0.02).", "R");
        var normalize = new Option<bool>("--normalize-infidelity") { Description = "infidelity: scale the attributions by the optimal beta first (Captum's normalize=True)." };
        var smooth = CliOptions.Number("--smooth",
            "Explain and score a smooth copy of the model: Softplus for ReLU and log-sum-exp for max-pooling with this beta (CNN classifiers).", "BETA");
        var format = new Option<string?>("--format") { Description = "Output format (default table).", HelpName = "table|json" };
        format.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && value is not ("table" or "json"))
            {
                result.AddError($"--format: unknown value '{value}' (evaluate writes table or json)");
            }
        });

        var command = new Command("evaluate", "Explain texts with one method and score the explanations: comprehensiveness, sufficiency, leave-one-out correlation, plausibility, infidelity, max-sensitivity.")
        {
            options.Model, options.Text, options.Input, options.Method, metric, removal, highlight, topK, format, options.Output, options.Truncate,
            options.BatchSize, options.Verbose, metricSamples, metricSeed, stdev, radius, normalize, smooth,
        };
        command.Options.Add(options.TextPair);
        command.Options.Add(options.PairColumn);
        foreach (var option in options.MethodOptions)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => Execute(parse, options, context, metric, removal, highlight, topK, format,
            new EmbeddingMetricOptions(metricSamples, metricSeed, stdev, radius, normalize), smooth));
        return command;
    }

    private static int Execute(ParseResult parse, CliOptions options, CliContext context, Option<string[]> metricOption, Option<string?> removalOption,
        Option<string?> highlightOption, Option<int?> topKOption, Option<string?> formatOption, EmbeddingMetricOptions embedding, Option<double?> smoothOption)
    {
        var settings = RunSettings.From(parse, options);
        var methodName = parse.GetValue(options.Method)!;
        MethodFactory.CheckUsage(methodName, settings.Method);
        var metrics = Names.SplitList(parse.GetValue(metricOption) ?? [], "--metric").ToList();
        foreach (var m in metrics.Where(m => Array.IndexOf(Metrics, m) < 0))
        {
            throw new UsageException("--metric", $"unknown metric '{m}' (use {Names.List(Metrics)})");
        }

        if (metrics.Count == 0 || metrics.Distinct().Count() != metrics.Count)
        {
            throw new UsageException("--metric", "give each metric once");
        }

        // An option of metrics not asked for would change nothing: refused, as explain refuses its method's unused options.
        var metricOptions = new (Option Option, string[] Uses)[]
        {
            (removalOption, ["comprehensiveness", "sufficiency"]),
            (highlightOption, ["plausibility"]),
            (topKOption, ["plausibility"]),
            (embedding.Samples, ["infidelity", "max-sensitivity"]),
            (embedding.Seed, ["infidelity", "max-sensitivity"]),
            (embedding.Stdev, ["infidelity"]),
            (embedding.Normalize, ["infidelity"]),
            (embedding.Radius, ["max-sensitivity"]),
        };
        foreach (var (option, uses) in metricOptions)
        {
            if (parse.GetResult(option) is { Implicit: false } && !uses.Any(metrics.Contains))
            {
                throw new UsageException(option.Name,
                    $"applies to {Names.List(uses)} only, and --metric {string.Join(",", metrics)} names none of them: add {uses[0]} to --metric, or leave {option.Name} out");
            }
        }

        var (texts, pairs) = TextInputs.ReadPaired(settings, context);
        settings = settings with { Explain = settings.Explain with { Pairs = pairs } };
        var highlights = metrics.Contains("plausibility")
            ? Highlights(parse.GetValue(highlightOption), settings.Input, texts.Count, settings.Texts?.Count ?? 0, context)
            : null;
        if (metrics.Contains("plausibility") && highlights is null)
        {
            throw new UsageException("--highlight", "plausibility needs the highlighted words: --highlight W1,W2, or a 'highlight' column in a TSV --input");
        }

        var highlightsFromOption = parse.GetValue(highlightOption) is not null;
        if (metrics.Contains("plausibility"))
        {
            CheckHighlights(texts, highlights!, pairs, highlightsFromOption);
        }

        var topK = parse.GetValue(topKOption);
        if (topK is < 1)
        {
            throw new UsageException("--top-k", $"must be at least 1, got {topK}");
        }

        var removal = parse.GetValue(removalOption) == "mask" ? TokenRemoval.Mask : TokenRemoval.Remove;
        var (infidelitySettings, sensitivitySettings) = embedding.Read(parse);
        if (metrics.Contains("infidelity"))
        {
            // Infidelity perturbs every position of the word embeddings: it needs the per-dimension attributions of all of them.
            settings = settings with
            {
                Explain = settings.Explain with { KeepRawAttributions = true, Salience = settings.Explain.Salience with { KeepSpecialTokens = true } },
            };
        }

        var smooth = parse.GetValue(smoothOption);
        if (smooth is { } b && (!(b > 0) || !double.IsFinite(b)))
        {
            throw new UsageException("--smooth", $"beta must be positive and finite, got {b.ToString(CultureInfo.InvariantCulture)}");
        }

        var loaded = ModelSource.LoadAny(settings.ModelPath, context);
        using var owner = loaded as IDisposable;
        ITokenClassifier model = loaded;
        TextClassifier? smoothed = null;
        if (smooth is { } beta)
        {
            try
            {
                model = smoothed = (loaded as TextClassifier ?? throw new NotSupportedException($"{loaded.Name} (an ONNX model) has no smooth variant")).Smoothed(beta);
            }
            catch (ArgumentException e)
            {
                throw new UsageException("--smooth", CliApp.UsageMessage(e));
            }
            catch (NotSupportedException e)
            {
                throw new UsageException("--smooth", e.Message);
            }
        }

        using var smoothOwner = smoothed;
        Checks.Target(model, settings.Explain.Target);
        Checks.Score(model, settings.Explain.Score);
        Checks.Pairs(model, pairs, settings);
        var method = ModelMethods.Create(methodName, settings.Method, model, "--method");
        TextChecks.CheckLengths(model, texts, settings.Explain.Truncate, settings.Input is null ? "--text" : "--input", pairs);
        // Before the texts are explained: a removal this model cannot take (no mask token) was refused at the first
        // comprehensiveness or sufficiency, after every text had been explained.
        if ((metrics.Contains("comprehensiveness") || metrics.Contains("sufficiency"))
            && RationaleRemoval.Unusable(model, texts, pairs, removal, "removal", "--removal", "mask", "remove") is { } unusable)
        {
            throw new UsageException("--removal", CliApp.UsageMessage(unusable));
        }

        var explanations = ChunkedRun.Explain(model, texts, [method], settings.Explain, context)[0];
        // Ctrl-C's token, as the explanations and the scorecard take it: each metric checks it before its model passes
        // (before, only the explanations did, and a cancelled run went on through every text's metrics).
        var cancellation = context.Cancellation;
        var results = new List<(Explanation Explanation, List<MetricResult> Metrics)>();
        for (var i = 0; i < explanations.Count; i++)
        {
            var scored = new List<MetricResult>();
            foreach (var m in metrics)
            {
                cancellation.ThrowIfCancellationRequested();
                try
                {
                    switch (m)
                    {
                        case "comprehensiveness":
                            scored.Add(RationaleRemoval.Comprehensiveness(model, explanations[i], removal, cancellation));
                            break;
                        case "sufficiency":
                            scored.Add(RationaleRemoval.Sufficiency(model, explanations[i], removal, cancellation));
                            break;
                        case "loo-correlation":
                            scored.Add(LeaveOneOutCorrelation.Compute(model, explanations[i], cancellation));
                            break;
                        case "infidelity":
                            scored.Add(Infidelity.Compute(TorchModel(model, m), explanations[i], infidelitySettings, cancellation));
                            break;
                        case "max-sensitivity":
                            scored.Add(MaxSensitivity.Compute(TorchModel(model, m), method, texts[i],
                                settings.Explain with { Pairs = pairs is null ? null : [pairs[i]], Cancellation = cancellation }, sensitivitySettings));
                            break;
                        default:
                            scored.AddRange(Plausibility.Compute(explanations[i], highlights![i], topK));
                            break;
                    }
                }
                catch (ArgumentException e) when (m == "plausibility")
                {
                    throw HighlightUsage(e, highlightsFromOption, $"text {i + 1}: ");
                }
                catch (ArgumentException e) when (m is "comprehensiveness" or "sufficiency" && e.ParamName == "removal")
                {
                    throw new UsageException("--removal", CliApp.UsageMessage(e));
                }
                catch (ArgumentException e) when (m == "infidelity" && e.ParamName == "settings")
                {
                    // The form (raw, or divided by x − x′) cannot be decided for this map: gradient-shap over several baselines.
                    throw new UsageException("--method", $"infidelity: {CliApp.UsageMessage(e)} (here: give gradient-shap one --baseline)");
                }
                catch (ArgumentException e) when (m is "infidelity" or "max-sensitivity" && e.ParamName is "attributor" or "explanation")
                {
                    throw MetricRefusal(m, i, e, explanations[i], method.Name);
                }
            }

            results.Add((explanations[i], scored));
        }

        var json = parse.GetValue(formatOption) == "json";
        Output.Write(json ? Json(model, method, results) : Table(method, results), settings.Output, context);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// What to report when an embedding-space metric refuses text <paramref name="text"/>'s explanation: a usage error
    /// naming --method when the method cannot give what the metric needs (no per-dimension attributions, another
    /// layer), but a failure of the run when the method gave non-finite attributions (the method or model overflowed;
    /// --method is not at fault, so the message does not point at it).
    /// </summary>
    internal static Exception MetricRefusal(string metric, int text, ArgumentException refusal, Explanation explanation, string method) =>
        (metric == "infidelity" ? Infidelity.NonFiniteFailure(explanation, method, text, "or leave infidelity out") : null)
            ?? (Exception)new UsageException("--method", $"{metric}: {CliApp.UsageMessage(refusal)}");

    private static ITextClassifier TorchModel(ITokenClassifier model, string metric) => model as ITextClassifier
        ?? throw new UsageException("--metric", $"{metric} perturbs the word embeddings, which {model.Name} (an ONNX model) does not expose; use comprehensiveness, sufficiency, loo-correlation or plausibility");

    /// <summary>The options of the embedding-space metrics.</summary>
    private sealed record EmbeddingMetricOptions(Option<int?> Samples, Option<ulong?> Seed, Option<double?> Stdev, Option<double?> Radius, Option<bool> Normalize)
    {
        public (InfidelitySettings Infidelity, SensitivitySettings Sensitivity) Read(ParseResult parse)
        {
            var samples = parse.GetValue(Samples) ?? 10;
            if (samples < 1 || samples > SensitivitySettings.MaxSamples)
            {
                throw new UsageException("--metric-samples", $"must be between 1 and {SensitivitySettings.MaxSamples}, got {samples}");
            }

            var stdev = parse.GetValue(Stdev) ?? 0.03;
            if (!(stdev > 0) || !double.IsFinite(stdev))
            {
                throw new UsageException("--perturbation-stdev", $"must be positive and finite, got {stdev.ToString(CultureInfo.InvariantCulture)}");
            }

            var radius = parse.GetValue(Radius) ?? 0.02;
            if (!(radius > 0) || !double.IsFinite(radius))
            {
                throw new UsageException("--radius", $"must be positive and finite, got {radius.ToString(CultureInfo.InvariantCulture)}");
            }

            var seed = parse.GetValue(Seed) ?? 0;
            var infidelity = new InfidelitySettings { Samples = samples, Stdev = stdev, Seed = seed, Normalize = parse.GetValue(Normalize) };
            var sensitivity = new SensitivitySettings { Samples = samples, Radius = radius, Seed = seed };

            // The metrics' own checks, before the model loads: a spread or radius beyond float32's range was refused only
            // at the metric, after the texts were explained.
            try
            {
                infidelity.Validate();
                sensitivity.Validate();
            }
            catch (ArgumentOutOfRangeException e) when (e.ParamName is nameof(InfidelitySettings.Stdev) or nameof(SensitivitySettings.Radius))
            {
                // Not CliApp.UsageMessage: it names "Stdev" as the methods' --noise-stdev.
                var option = e.ParamName == nameof(SensitivitySettings.Radius) ? "--radius" : "--perturbation-stdev";
                throw new UsageException(option, CliApp.ValueMessage(e));
            }

            return (infidelity, sensitivity);
        }
    }

    /// <summary>
    /// Refuses, from the texts alone (before the model loads and any method runs), a highlighted word that is not a
    /// word of its text or its pair's second text, by plausibility's own rule and message.
    /// </summary>
    internal static void CheckHighlights(IReadOnlyList<string> texts, IReadOnlyList<string[]> highlights, IReadOnlyList<string>? pairs, bool fromOption)
    {
        try
        {
            Plausibility.CheckHighlighted(texts, highlights, pairs);
        }
        catch (ArgumentException e) when (e.ParamName == "highlighted")
        {
            throw HighlightUsage(e, fromOption);
        }
    }

    /// <summary>A plausibility refusal as a usage error naming --top-k, or --highlight (--input when the words came from its column).</summary>
    internal static UsageException HighlightUsage(ArgumentException e, bool fromOption, string prefix = "") =>
        new(e.ParamName == "topK" ? "--top-k" : fromOption ? "--highlight" : "--input",
            prefix + CliApp.UsageMessage(e).Replace("--top-k: ", string.Empty, StringComparison.Ordinal));

    /// <summary>Highlighted words per text: from --highlight for all, or from a TSV's 'highlight' column; null when neither.</summary>
    /// <param name="option">The <c>--highlight</c> value, or null.</param>
    /// <param name="input">The <c>--input</c> value, or null.</param>
    /// <param name="count">The number of texts.</param>
    /// <param name="fromText">How many of them came from <c>--text</c> (they come first, and a TSV column has no row for them).</param>
    /// <param name="context">Standard input, for <c>--input -</c>.</param>
    internal static IReadOnlyList<string[]>? Highlights(string? option, string? input, int count, int fromText, CliContext context)
    {
        if (option is not null)
        {
            var words = Names.SplitList([option], "--highlight");
            if (words.Length == 0)
            {
                throw new UsageException("--highlight", "no word given");
            }

            return Enumerable.Repeat(words, count).ToList();
        }

        if (input is null)
        {
            return null;
        }

        // The texts were read from the same lines (standard input is kept for the run, so '-' works too). Rows are
        // numbered by their line in the file, blank lines included, as the texts' messages number them.
        var all = input == "-" ? context.StandardInputLines() : TextInputs.DecodeLines(File.ReadAllBytes(context.Resolve(input)), input);
        var column = TextInputs.Column(all, TextInputs.Name(input), "highlight");
        if (column is null)
        {
            return null;
        }

        if (fromText > 0)
        {
            // The column's rows are the file's texts only: they were paired with the --text texts, which come first
            // (a word of the file's first row checked against the first --text, or an index past the column's end).
            throw new UsageException("--text",
                $"{fromText} text(s) of --text have no 'highlight' value: {TextInputs.Name(input)}'s 'highlight' column gives one for its own rows only; put these texts in the TSV with their highlighted words, or give --highlight W1,W2 for every text");
        }

        return column.Select(row =>
        {
            var words = row.Value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return words.Length > 0 ? words : throw new UsageException("--input", $"{TextInputs.Name(input)}, line {row.Line}: the row has no 'highlight' value");
        }).ToList();
    }

    internal static string Table(IAttributor method, List<(Explanation Explanation, List<MetricResult> Metrics)> results)
    {
        var names = results[0].Metrics.Select(m => m.Metric).ToList();
        var builder = new StringBuilder();
        builder.AppendLine(CultureInfo.InvariantCulture, $"method: {method.Name}");
        builder.AppendLine(string.Join("  ", names.Select(n => n.PadLeft(17))) + "  text");
        foreach (var (explanation, metrics) in results)
        {
            builder.AppendLine(string.Join("  ", metrics.Select(m => m.Value.ToString("F4", CultureInfo.InvariantCulture).PadLeft(17))) + "  " + Output.Printable(explanation.DisplayText));
        }

        builder.AppendLine(string.Join("  ", names.Select(n => Mean(results, n).ToString("F4", CultureInfo.InvariantCulture).PadLeft(17))) + "  (mean)");

        // The table has no room for why a value is NaN, nor for a mean that skipped those: say both below it. A note that
        // several texts share is said once with their numbers (on short texts every row had the same removal note).
        var notes = results
            .SelectMany((r, i) => r.Metrics.Where(m => m.Note is not null).Select(m => (Text: i + 1, m.Metric, Note: m.Note!)))
            .GroupBy(n => (n.Metric, n.Note))
            .OrderBy(g => g.Min(n => n.Text));
        foreach (var group in notes)
        {
            var texts = group.Select(n => n.Text).Distinct().ToList();
            var which = texts.Count == 1 ? $"text {texts[0]}" : $"texts {string.Join(", ", texts)}";
            builder.AppendLine(CultureInfo.InvariantCulture, $"note: {which}, {group.Key.Metric}: {group.Key.Note}");
        }

        foreach (var name in names)
        {
            var defined = results.Count(r => double.IsFinite(r.Metrics.First(m => m.Metric == name).Value));
            if (defined < results.Count)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"note: the mean of {name} is over the {defined} of {results.Count} texts where it is defined");
            }
        }

        return builder.ToString();
    }

    private static double Mean(List<(Explanation Explanation, List<MetricResult> Metrics)> results, string metric)
    {
        var values = results.Select(r => r.Metrics.First(m => m.Metric == metric).Value).Where(double.IsFinite).ToList();
        return values.Count == 0 ? double.NaN : values.Average();
    }

    private static string Json(ITokenClassifier model, IAttributor method, List<(Explanation Explanation, List<MetricResult> Metrics)> results)
    {
        return CliJson.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("model", model.Name);
            writer.WriteString("method", method.Name);
            writer.StringObject("settings", method.Settings);
            writer.WriteStartObject("mean");
            foreach (var name in results[0].Metrics.Select(m => m.Metric))
            {
                writer.NumberOrNull(name, Mean(results, name));
            }

            writer.WriteEndObject();
            writer.WriteStartArray("results");
            foreach (var (explanation, metrics) in results)
            {
                writer.WriteStartObject();
                writer.WriteString("text", explanation.Text);
                if (explanation.TextPair is { } second)
                {
                    writer.WriteString("text_pair", second);
                }

                writer.WriteNumber("target", explanation.Target);
                writer.WriteString("target_label", explanation.TargetLabel);
                writer.WriteStartObject("metrics");
                foreach (var metric in metrics)
                {
                    writer.WriteStartObject(metric.Metric);
                    writer.NumberOrNull("value", metric.Value);
                    writer.WriteString("definition", metric.Definition);
                    writer.WriteStartObject("parameters");
                    foreach (var (key, value) in metric.Parameters)
                    {
                        writer.WriteString(key, value);
                    }

                    writer.WriteEndObject();
                    writer.WriteStartArray("steps");
                    foreach (var step in metric.Steps)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("label", step.Label);
                        writer.NumberOrNull("value", step.Value);
                        writer.WriteString("detail", step.Detail);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                    if (metric.Note is { } note)
                    {
                        writer.WriteString("note", note);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }
}
