using Attribution.Pipeline;
using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Cli;

/// <summary>
/// <c>attribution sanity</c>: model-parameter randomization (cascading or independent) with the similarity of each
/// randomized model's explanations to the original's, as JSON or Markdown, optionally a plot (PNG and SVG).
/// </summary>
internal static class SanityCommand
{
    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        options.Method.Required = true;
        options.TorchSharpModelOnly("the test randomizes the model's weights and re-loads it from this folder", required: true);
        var variant = Choice("--variant", "Integrated Gradients: global (× (x − x′), default for other methods), local (no multiplier) or both (default for integrated-gradients).", "global", "local", "both");
        var mode = Choice("--mode", "cascading (default: from the output to the input, keeping earlier steps) or independent (one module at a time).", "cascading", "independent");
        var format = Choice("--format", "Output format (default markdown).", "json", "markdown", "html");
        var layers = new Option<string?>("--layers") { Description = "The modules to randomize, in order, comma-separated dotted paths (default: output to input).", HelpName = "P1,P2,..." };
        var save = new Option<string?>("--save-randomized") { Description = "Cascading: write the model after each step to DIR/NN-<layer path> (Hugging Face folder).", HelpName = "DIR" };
        var plot = new Option<string?>("--plot") { Description = "Write a plot of the median similarities per step to PATH.png and PATH.svg (a missing folder is created, saying so on standard error).", HelpName = "PATH" };

        var command = new Command("sanity", "Sanity checks (Adebayo et al.): randomize the model's modules and measure how much the explanations change.")
        {
            options.Model, options.Text, options.Input, options.Method, variant, mode, layers, save, plot, format, options.Output, options.Truncate,
            options.BatchSize, options.Verbose,
        };
        foreach (var option in options.MethodOptions)
        {
            command.Options.Add(option);
        }

        // --seed (a method option of LIME, SmoothGrad, ...) is also the seed of the re-initialization.
        command.SetAction(parse => Execute(parse, options, context, variant, mode, layers, save, plot, format));
        return command;
    }

    private static Option<string?> Choice(string name, string description, params string[] values)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = string.Join('|', values) };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && Array.IndexOf(values, value) < 0)
            {
                result.AddError($"{name}: unknown value '{value}' (use {string.Join(", ", values)})");
            }
        });
        return option;
    }

    private static int Execute(ParseResult parse, CliOptions options, CliContext context, Option<string?> variantOption, Option<string?> modeOption,
        Option<string?> layersOption, Option<string?> saveOption, Option<string?> plotOption, Option<string?> formatOption)
    {
        var settings = RunSettings.From(parse, options);
        RunSettings.CheckPathNotEmpty("--save-randomized", parse.GetValue(saveOption), "the folder the randomized models go to");
        RunSettings.CheckPathNotEmpty("--plot", parse.GetValue(plotOption), "the path the plot's .png and .svg are written to");
        var methodName = parse.GetValue(options.Method)!;
        var seed = settings.Method.Seed ?? 0;
        if (!MethodFactory.UsesOption(methodName, "--seed", settings.Method.Inner ?? "gradient"))
        {
            settings = settings with { Method = settings.Method with { Seed = null } };
        }

        MethodFactory.CheckUsage(methodName, settings.Method);
        var texts = TextInputs.Read(settings.Texts, settings.Input, context);
        var directory = context.Resolve(settings.ModelPath!);
        if (ModelSource.IsOnnxFolder(directory))
        {
            throw new UsageException("--model", $"{settings.ModelPath} holds an ONNX model, whose weights cannot be randomized here; give the safetensors folder");
        }

        using var model = ModelSource.Load(settings.ModelPath, context, out _);
        Checks.Target(model, settings.Explain.Target);
        Checks.Score(model, settings.Explain.Score);
        var method = ModelMethods.Create(methodName, settings.Method, model, "--method");
        TextChecks.CheckLengths(model, texts, settings.Explain.Truncate, settings.Input is null ? "--text" : "--input");

        var variantName = parse.GetValue(variantOption);
        SanityVariant[]? variants = variantName switch
        {
            "global" => [SanityVariant.Global],
            "local" => [SanityVariant.Local],
            "both" => [SanityVariant.Global, SanityVariant.Local],
            _ => null,
        };
        if (variants is not null && variants.Contains(SanityVariant.Local) && method is not IntegratedGradients)
        {
            throw new UsageException("--variant", $"{variantName} needs integrated-gradients (the local variant drops IG's x − x′ factor); {methodName} has only the global variant");
        }

        var layerList = parse.GetValue(layersOption) is { } layers ? Names.SplitList([layers], "--layers") : null;
        if (layerList is { Length: 0 })
        {
            throw new UsageException("--layers", "no layer given");
        }

        if (layerList is not null)
        {
            foreach (var layer in layerList)
            {
                try
                {
                    Engine.ModulePaths.Submodule(model.Module, layer);
                }
                catch (ArgumentException e)
                {
                    // ValueMessage, not UsageMessage: that names the option a "path" comes from as --layer, which
                    // read "--layers: --layer: no submodule ...".
                    throw new UsageException("--layers", CliApp.ValueMessage(e));
                }
            }

            // The library refuses a repeated layer naming options.Layers, which the command line does not have; the
            // positions here count from 1, as a user counts the list's entries.
            for (var k = 0; k < layerList.Length; k++)
            {
                var first = Array.IndexOf(layerList, layerList[k]);
                if (first < k)
                {
                    throw new UsageException("--layers", $"'{layerList[k]}' is given twice, at positions {first + 1} and {k + 1}: give each module once");
                }
            }
        }

        var randomization = parse.GetValue(modeOption) == "independent" ? RandomizationMode.Independent : RandomizationMode.Cascading;
        var save = parse.GetValue(saveOption);
        if (save is not null && randomization != RandomizationMode.Cascading)
        {
            throw new UsageException("--save-randomized", "the randomized models are saved in the cascading mode only");
        }

        // Ctrl-C's token, as the other commands pass it, to the check's explanations and the original's metrics: before,
        // the run went on through every layer.
        var explain = settings.Explain with { Cancellation = context.Cancellation };
        var sanityOptions = new SanityOptions
        {
            Mode = randomization,
            Seed = seed,
            Layers = layerList,
            Variants = variants,
            SaveRandomizedDirectory = save is null ? null : context.Resolve(save),
            Explain = explain,
        };
        var result = SanityCheck.Run(model, directory, method, texts, sanityOptions);
        var original = OriginalMetrics(model, method, texts, explain);
        var text = parse.GetValue(formatOption) switch
        {
            "json" => Json(result, original),
            "html" => Html(result, original),
            _ => Markdown(result, original),
        };
        Output.Write(text, settings.Output, context);
        if (parse.GetValue(plotOption) is { } plot)
        {
            SanityPlot.Write(result, context.Resolve(plot), context);
        }

        return ExitCodes.Ok;
    }

    private static string Name(SanityVariant variant) => variant == SanityVariant.Local ? "local" : "global";

    /// <summary>
    /// Infidelity and max-sensitivity of the original (not randomized) model's explanations, with the metrics'
    /// defaults, where the method allows them (per-dimension attributions at the word embeddings); the seed paper
    /// reports them beside the randomization curves.
    /// </summary>
    internal static Dictionary<string, double> OriginalMetrics(TextClassifier model, IAttributor method, IReadOnlyList<string> texts, ExplainOptions explain)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);

        // Decided from the method, before explaining: the texts were explained only to learn from the explanations that
        // they were at another layer (conductance at an encoder layer), which left both metrics out. Where infidelity
        // perturbs, as the scorecard decides it per explanation: "a LayerMethod with no layer" left out LRP-ε,
        // SmoothGrad and conductance at the word embeddings, whose maps are there too.
        if (!Infidelity.AtWordEmbeddings(model, method))
        {
            return metrics;
        }

        var options = explain with { KeepRawAttributions = true, Salience = explain.Salience with { KeepSpecialTokens = true } };
        var explanations = method.Explain(model, texts, options);
        if (!explanations.All(e => Infidelity.AtWordEmbeddings(model, e)))
        {
            return metrics;
        }

        // Gradient SHAP over several baselines has no one x′ to divide the perturbations by, and the raw form would
        // compare its map with the gradient: infidelity is left out, as for a method without per-dimension attributions.
        for (var t = 0; t < explanations.Count; t++)
        {
            // This command made the explanation: a non-finite attribution fails the run (exit 1), it is no usage error.
            if (Infidelity.NonFiniteFailure(explanations[t], method.Name, t, "or explain with another method") is { } failure)
            {
                throw failure;
            }
        }

        // One decision per explanation: where every form is decided, infidelity computes in that form.
        var forms = explanations.Select(e => Infidelity.TryDecide(e, null, out _)).ToList();
        if (forms.All(form => form is not null))
        {
            metrics["infidelity"] = explanations.Select((e, t) => Infidelity.Compute(model, e, settings: null, forms[t], explain.Cancellation)).Average(r => r.Value);
        }

        if (method is IntegratedGradients or Gradient or GradientXInput)
        {
            metrics["max_sensitivity"] = texts.Average(t => MaxSensitivity.Compute(model, method, t, explain).Value);
        }

        return metrics;
    }

    private static string Markdown(SanityResult result, Dictionary<string, double> original)
    {
        var builder = new StringBuilder();
        builder.AppendLine(CultureInfo.InvariantCulture, $"# Sanity check: {result.Method} on {result.Model}");
        builder.AppendLine();
        builder.AppendLine(CultureInfo.InvariantCulture, $"{(result.Mode == RandomizationMode.Cascading ? "Cascading" : "Independent")} randomization, seed {result.Seed}; medians over {result.Steps[0].Variants[0].Texts.Count} text(s).");
        builder.AppendLine();
        var variants = result.Steps[0].Variants.Select(v => Name(v.Variant)).ToList();
        builder.AppendLine("| step | layer | " + string.Join(" | ", variants.SelectMany(v => new[] { $"cosine ({v})", $"Spearman ({v})", $"Spearman of abs ({v})" })) + " |");
        builder.AppendLine("|---:|---|" + string.Join(string.Empty, variants.Select(_ => "---:|---:|---:|")));
        foreach (var step in result.Steps)
        {
            var cells = string.Join(" | ", step.Variants.SelectMany(v => new[] { F(v.CosineMedian), F(v.SpearmanMedian), F(v.SpearmanAbsoluteMedian) }));
            builder.AppendLine(CultureInfo.InvariantCulture, $"| {step.Index} | `{step.Layer}` | {cells} |");
        }

        if (UndefinedNote(result) is { } undefined)
        {
            builder.AppendLine();
            builder.AppendLine(undefined);
        }

        if (original.Count > 0)
        {
            builder.AppendLine();
            builder.AppendLine("Original model: " + string.Join(", ", original.Select(kv => $"{kv.Key.Replace('_', '-')} {F(kv.Value)}")) + " (mean over the texts; Captum's definitions, defaults).");
        }

        return builder.ToString();
    }

    private static string Html(SanityResult result, Dictionary<string, double> original)
    {
        var markdownRows = result.Steps;
        var variants = result.Steps[0].Variants.Select(v => Name(v.Variant)).ToList();
        var builder = new StringBuilder();
        builder.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
        builder.Append(CultureInfo.InvariantCulture, $"<title>Sanity check: {WebUtility.HtmlEncode(result.Method)} on {WebUtility.HtmlEncode(result.Model)}</title>");
        builder.Append("<style>body{font-family:sans-serif}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}</style></head><body>");
        builder.Append(CultureInfo.InvariantCulture, $"<h1>Sanity check: {WebUtility.HtmlEncode(result.Method)} on {WebUtility.HtmlEncode(result.Model)}</h1>");
        builder.Append(CultureInfo.InvariantCulture, $"<p>{(result.Mode == RandomizationMode.Cascading ? "Cascading" : "Independent")} randomization, seed {result.Seed}.</p><table><tr><th>step</th><th>layer</th>");
        foreach (var v in variants)
        {
            builder.Append(CultureInfo.InvariantCulture, $"<th>cosine ({v})</th><th>Spearman ({v})</th><th>Spearman of abs ({v})</th>");
        }

        builder.Append("</tr>");
        foreach (var step in markdownRows)
        {
            builder.Append(CultureInfo.InvariantCulture, $"<tr><td>{step.Index}</td><td>{WebUtility.HtmlEncode(step.Layer)}</td>");
            foreach (var v in step.Variants)
            {
                builder.Append(CultureInfo.InvariantCulture, $"<td>{F(v.CosineMedian)}</td><td>{F(v.SpearmanMedian)}</td><td>{F(v.SpearmanAbsoluteMedian)}</td>");
            }

            builder.Append("</tr>");
        }

        builder.Append("</table>");
        if (UndefinedNote(result) is { } undefined)
        {
            builder.Append("<p>" + WebUtility.HtmlEncode(undefined) + "</p>");
        }

        if (original.Count > 0)
        {
            builder.Append("<p>Original model: " + WebUtility.HtmlEncode(string.Join(", ", original.Select(kv => $"{kv.Key.Replace('_', '-')} {F(kv.Value)}"))) + "</p>");
        }

        // The plot inline, so the page stays one self-contained file.
        var svg = SanityPlot.Svg(result);
        var start = svg.IndexOf("<svg", StringComparison.Ordinal);
        // Namespace declarations are not needed inline in HTML, and a page without any URL is easy to audit.
        svg = (start >= 0 ? svg[start..] : svg)
            .Replace(" xmlns=\"http://www.w3.org/2000/svg\"", string.Empty, StringComparison.Ordinal)
            .Replace(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", string.Empty, StringComparison.Ordinal);
        builder.Append(svg);
        builder.Append("</body></html>\n");
        return builder.ToString();
    }

    /// <summary>
    /// Which medians are over fewer texts than the run explained, or null when none: a text whose cosine or ρ is
    /// undefined (constant scores, one token) is left out of the median, which must not pass as a median of all texts.
    /// </summary>
    internal static string? UndefinedNote(SanityResult result)
    {
        var total = result.Steps[0].Variants[0].Texts.Count;
        var parts = new List<string>();
        foreach (var step in result.Steps)
        {
            foreach (var variant in step.Variants)
            {
                foreach (var (measure, values) in new[]
                {
                    ("cosine", variant.Texts.Select(t => t.Cosine)), ("Spearman", variant.Texts.Select(t => t.Spearman)),
                    ("Spearman of abs", variant.Texts.Select(t => t.SpearmanAbsolute)),
                })
                {
                    var defined = values.Count(double.IsFinite);
                    if (defined < total)
                    {
                        parts.Add(string.Create(CultureInfo.InvariantCulture, $"step {step.Index} {measure} ({Name(variant.Variant)}) over {defined} of {total}"));
                    }
                }
            }
        }

        return parts.Count == 0 ? null
            : "Medians over fewer texts (the others' values are undefined: constant scores or a single token): " + string.Join("; ", parts) + ".";
    }

    private static string F(double value) => double.IsFinite(value) ? value.ToString("F4", CultureInfo.InvariantCulture) : "n/a";

    private static string Json(SanityResult result, Dictionary<string, double> original)
    {
        return CliJson.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("model", result.Model);
            writer.WriteString("method", result.Method);
            writer.StringObject("settings", result.Settings);
            writer.WriteString("mode", result.Mode == RandomizationMode.Cascading ? "cascading" : "independent");
            writer.WriteNumber("seed", result.Seed);
            writer.WriteStartObject("original");
            foreach (var (key, value) in original)
            {
                writer.NumberOrNull(key, value);
            }

            writer.WriteEndObject();
            writer.WriteString("reinitialization", $"Xavier-uniform for parameters of 2+ dimensions, U(-{SanityCheck.VectorBound.ToString(CultureInfo.InvariantCulture)}, {SanityCheck.VectorBound.ToString(CultureInfo.InvariantCulture)}) otherwise; step k seeded with seed + k");
            writer.WriteStartArray("steps");
            foreach (var step in result.Steps)
            {
                writer.WriteStartObject();
                writer.WriteNumber("step", step.Index);
                writer.WriteString("layer", step.Layer);
                writer.WriteNumber("parameters", step.Parameters.Count);
                if (step.SavedTo is { } saved)
                {
                    writer.WriteString("saved_to", saved);
                }

                foreach (var variant in step.Variants)
                {
                    writer.WriteStartObject(Name(variant.Variant));
                    writer.NumberOrNull("cosine_median", variant.CosineMedian);
                    writer.NumberOrNull("spearman_median", variant.SpearmanMedian);
                    writer.NumberOrNull("spearman_abs_median", variant.SpearmanAbsoluteMedian);
                    writer.WriteStartArray("texts");
                    foreach (var text in variant.Texts)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("text", text.Text);
                        writer.NumberOrNull("cosine", text.Cosine);
                        writer.NumberOrNull("spearman", text.Spearman);
                        writer.NumberOrNull("spearman_abs", text.SpearmanAbsolute);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }
}
