using Attribution.Pipeline;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Attribution.Cli;

/// <summary>
/// The options of the command line, one instance per command (names are fixed: scripts rely on them). Values are
/// checked while parsing, so a bad value is a parse error naming the option (exit code 2); enumerated values are
/// kept as strings here and mapped to the library's types by <see cref="MethodFactory"/> and <see cref="RunSettings"/>.
/// </summary>
internal sealed class CliOptions
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The method names <c>--method</c> accepts.</summary>
    public static readonly string[] MethodNames =
        [
            "gradient", "gradient-x-input", "integrated-gradients", "conductance", "neuron-conductance", "lime", "lrp-epsilon", "smoothgrad",
            "occlusion", "shapley", "shapley-sampling", "kernel-shap", "gradient-shap", "attention-rollout", "grad-attention-rollout",
        ];

    /// <summary>The formats of explanations.</summary>
    public static readonly string[] Formats = ["table", "json", "html", "markdown"];

    public Option<string?> Model { get; } = new("--model")
    {
        Description = "Model folder (Hugging Face layout: config.json, model.safetensors, vocab.txt or tokenizer.json; or an ONNX export with model.onnx instead of model.safetensors, which the perturbation methods explain). Default: the demo's model, trained on the generated sentiment corpus and cached on first use.",
        HelpName = "DIR",
    };

    /// <summary>
    /// States in <see cref="Model"/>'s help that this command needs a TorchSharp model (it refuses an ONNX export) and,
    /// when <paramref name="required"/>, that there is no default model.
    /// </summary>
    /// <param name="why">Why the command needs a TorchSharp model.</param>
    /// <param name="required">Whether <c>--model</c> is required.</param>
    public void TorchSharpModelOnly(string why, bool required = false)
    {
        Model.Description = "Model folder (Hugging Face layout: config.json, model.safetensors, vocab.txt or tokenizer.json); not an ONNX export: "
            + why + "." + (required ? string.Empty : " Default: the demo's model, trained on the generated sentiment corpus and cached on first use.");
        Model.Required = required;
    }

    public Option<string[]> Text { get; } = NoOptionLikeValues(new("--text")
    {
        Description = "A text to process (repeat the option, or give several values, for several texts).",
        HelpName = "TEXT",
        AllowMultipleArgumentsPerToken = true,
    });

    public Option<string?> Input { get; } = new("--input")
    {
        Description = "A file of texts: one text a line, or a TSV whose header row has a 'sentence' column (or 'sentence1' and 'sentence2' for sentence pairs); '-' reads standard input.",
        HelpName = "FILE",
    };

    public Option<string[]> TextPair { get; } = NoOptionLikeValues(new("--text-pair")
    {
        Description = "explain, compare, evaluate: the second text of a sentence pair (NLI, paraphrase models), one per --text, in order. Transformer models only: the small CNN, LSTM and MLP classifiers (the default model) take single texts and refuse it.",
        HelpName = "TEXT",
        AllowMultipleArgumentsPerToken = true,
    });

    public Option<string?> PairColumn { get; } = new("--pair-column")
    {
        Description = "explain, compare, evaluate: the TSV column of the pairs' second texts (default 'sentence2' when the header has 'sentence1' and 'sentence2').",
        HelpName = "NAME",
    };

    public Option<string?> Method { get; } = Choice("--method", "The attribution method.", MethodNames, "M");

    public Option<string[]> Methods { get; } = NoOptionLikeValues(new("--methods")
    {
        Description = $"Comma-separated methods to compare (default: gradient, gradient-x-input, integrated-gradients, conductance, lime, lrp-epsilon, smoothgrad; also neuron-conductance with --neuron).",
        HelpName = "M1,M2,...",
        AllowMultipleArgumentsPerToken = true,
    });

    /// <summary>Names a command's own default methods in <see cref="Methods"/>' help (compare's are the description's default).</summary>
    public void DefaultMethods(IEnumerable<string> names) =>
        Methods.Description = $"Comma-separated methods to compare (default: {string.Join(", ", names)}).";

    public Option<string?> Inner { get; } = Choice("--inner", "smoothgrad: the wrapped method (default gradient).", ["gradient", "gradient-x-input", "integrated-gradients"], "M");

    public Option<string?> Target { get; } = new("--target")
    {
        Description = "The class explained: an index, a label name, or 'predicted' (default).",
        HelpName = "T",
    };

    public Option<string?> Score { get; } = Choice("--score", "The output attributed (default logit; LIME always explains the probability, LRP the logit).", ["logit", "probability", "log-probability"]);

    public Option<string?> Layer { get; } = new("--layer")
    {
        Description = "Dotted path of the layer attributed to (default: the word embeddings; conductance and neuron-conductance: the first encoder layer, or the word embeddings when the model has none).",
        HelpName = "PATH",
    };

    public Option<int?> Steps { get; } = Int("--steps", "Integration steps (integrated-gradients, conductance, neuron-conductance; at most 10000). Without it integrated-gradients and conductance integrate adaptively (see --tolerance); --steps 50 reproduces Captum's default for integrated-gradients and conductance (Gauss-Legendre) and neuron-conductance (trapezoid); --integration picks another rule; neuron-conductance takes 50 steps without --steps.", 1, Attribution.Methods.IntegrationRules.MaxSteps);

    /// <summary>Relative tolerance of adaptive integration.</summary>
    public Option<double?> Tolerance { get; } = Double("--tolerance", "Adaptive integration (integrated-gradients, conductance without --steps): relative tolerance of the completeness delta and of the scores' change between refinements (default 0.01).", positive: true);

    /// <summary>Step cap of adaptive integration.</summary>
    public Option<int?> MaxSteps { get; } = Int("--max-steps", "Adaptive integration: the step cap (default 256); a text that has not met --tolerance there gets a note.", 8, Attribution.Methods.IntegrationRules.MaxSteps);

    public Option<string?> Integration { get; } = Choice(
        "--integration", "Integration rule (default, as Captum's: gausslegendre for integrated-gradients and for conductance with --steps, riemann-trapezoid for neuron-conductance; adaptive conductance, without --steps, refines the riemann-trapezoid grid and takes no other rule).",
        ["gausslegendre", "riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid"]);

    public Option<string?> Baseline { get; } = Choice("--baseline", "Baseline of path methods (default pad); gradient-shap: the one baseline drawn from (default pad and zero).", ["pad", "zero", "unk", "mask"]);

    public Option<int?> InternalBatchSize { get; } = Int("--internal-batch-size", "Rows (texts x steps) per forward pass of path methods and gradient-shap (default 64, at most 4096).", 1, Attribution.Methods.PathMethod.MaxInternalBatchSize);

    public Option<(int Position, int Unit)?> Neuron { get; } = NeuronOption();

    public Option<int?> Samples { get; } = Int("--samples", "Samples per text: LIME's perturbed texts (default 256), shapley-sampling's feature orders (default 25), kernel-shap's coalitions (default 256), gradient-shap's draws (default 5); at most 100000.", 1, Attribution.Methods.Lime.MaxSamples);

    public Option<int?> Window { get; } = Int("--window", "occlusion: features hidden together (default 1: leave-one-out).", 1);

    public Option<int?> Stride { get; } = Int("--stride", "occlusion: features between window starts (default 1).", 1);

    public Option<int?> MaxFeatures { get; } = Int("--max-features", "shapley: the most features a text may have, at most 20 (default 12; 2^n model inputs per text).", 1, Attribution.Methods.ShapleyValues.FeatureLimit);

    public Option<string?> Features { get; } = Choice("--features", "Perturbation methods and LIME: what is switched on and off (default words).", ["words", "words-punct", "tokens"]);

    public Option<string?> Perturbation { get; } = Choice("--perturbation", "Perturbation methods and LIME: an absent feature is masked (default), removed (the model is then also asked about the text with every word removed: only its special tokens, [CLS] [SEP] for BERT and for the small CNN, LSTM and MLP classifiers, the default model among them, whose tokenizer is BERT's; shapley, shapley-sampling and kernel-shap always ask, occlusion on a one-word text), or replaced by the padding id (baseline; not LIME).", ["mask", "remove", "baseline"]);

    public Option<ulong?> Seed { get; } = Seed64();

    public Option<double?> KernelWidth { get; } = Double("--kernel-width", "LIME: kernel width (default: the preset's, LIT 256, Captum 1).", positive: true);

    public Option<string?> MaskToken { get; } = new("--mask-token")
    {
        Description = "LIME: the string that replaces a switched-off word (default: the model's mask token, [MASK] for BERT and <mask> for RoBERTa; [MASK] where the tokenizer has none).",
        HelpName = "T",
    };

    public Option<string?> LimePreset { get; } = Choice("--lime-preset", "LIME: LIT's or Captum's sampling, kernel and regression (default lit).", ["lit", "captum"]);

    public Option<double?> Epsilon { get; } = Double("--epsilon", "LRP: epsilon of the epsilon-rule (default 1e-6; 0 is LRP-0).", positive: false);

    public Option<string?> Attention { get; } = Choice("--attention", "LRP: how relevance crosses attention (default attnlrp).", ["attnlrp", "cp"]);

    public Option<int?> NoiseSamples { get; } = Int("--noise-samples", "smoothgrad: noisy samples per text (default 10, at most 10000).", 1, Attribution.Methods.NoiseTunnel.MaxSamples);

    public Option<double?> NoiseStdev { get; } = Double("--noise-stdev", "smoothgrad: absolute standard deviation of the noise (default 0.15 x the activation's range); gradient-shap: of the noise added to the input's activation (default 0).", positive: false);

    public Option<string?> Granularity { get; } = Choice("--granularity", "Show word scores (default) or token scores (counterfactual: words only).", ["words", "tokens"]);

    public Option<string?> Reduce { get; } = Choice("--reduce", "How a token's per-dimension attributions become one score (gradient: l2, others: sum).", ["sum", "l2", "l1"]);

    public Option<string?> Aggregate { get; } = Choice("--aggregate", "How a word's token scores combine (default sum).", ["sum", "mean", "absmax", "l2", "first"]);

    public Option<string?> Normalize { get; } = Choice("--normalize", "Normalization of the scores (default none).", ["none", "l1", "l2", "max-abs", "min-max"]);

    public Option<bool> KeepSpecial { get; } = new("--keep-special")
    {
        Description = "Keep [CLS], [SEP] and other added tokens in the results (not counterfactual, which shows words).",
    };

    public Option<string?> Format { get; } = Choice("--format", "Output format (default table).", Formats);

    public Option<string?> Output { get; } = new("--output")
    {
        Description = "Write the output to this file instead of standard output (an existing file is replaced; a missing folder is created, saying so on standard error).",
        HelpName = "PATH",
    };

    public Option<bool> Truncate { get; } = new("--truncate")
    {
        Description = "Truncate texts longer than the model accepts (reported in the results) instead of failing.",
    };

    public Option<int?> BatchSize { get; } = Int("--batch-size", "Texts per batch and per progress step (default 64, at most 1024; batches also stay within 2048 padded tokens).", 1, Attribution.Pipeline.ExplainOptions.MaxBatchSize);

    /// <summary>Padded tokens per model call.</summary>
    public Option<int?> TokenBudget { get; } = Int("--token-budget", "Padded tokens (rows x longest row) per model call: batches of texts for the gradient methods (default 2048), passes along the path of integrated-gradients, conductance, neuron-conductance and gradient-shap (default 2048), and batches of perturbed inputs for lime, occlusion, shapley, shapley-sampling and kernel-shap (default 4096); at most 1048576.", 1, Attribution.Methods.AttributionOptions.MaxTokenBudget);

    public Option<bool> Verbose { get; } = new("--verbose")
    {
        Description = "Show the stack trace of a failure.",
    };

    /// <summary>The options every explaining command has.</summary>
    public IEnumerable<Option> MethodOptions =>
    [
        Target, Score, Layer, Steps, Tolerance, MaxSteps, Integration, Baseline, InternalBatchSize, Neuron, Samples, Seed, KernelWidth, MaskToken,
        LimePreset, Epsilon, Attention, NoiseSamples, NoiseStdev, Inner, Reduce, Window, Stride, MaxFeatures, Features, Perturbation,
    ];

    /// <summary>The post-processing and output options of explaining commands.</summary>
    public IEnumerable<Option> OutputOptions => [Granularity, Aggregate, Normalize, KeepSpecial, Format, Output, Truncate, BatchSize, TokenBudget, Verbose];

    /// <summary>
    /// Refuses values that look like options (<c>--stepz</c>): an option this command does not have would otherwise
    /// be taken as one more value of a multi-value option.
    /// </summary>
    private static Option<string[]> NoOptionLikeValues(Option<string[]> option)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                var value = token.Value;
                if (value.Length > 2 && value.StartsWith("--", StringComparison.Ordinal) && value.Skip(2).All(c => char.IsAsciiLetterLower(c) || c == '-'))
                {
                    result.AddError($"{value}: this command has no such option (it would have been read as a value of {option.Name})");
                }
            }
        });
        return option;
    }

    private static Option<string?> Choice(string name, string description, string[] choices, string? helpName = null)
    {
        var option = new Option<string?>(name)
        {
            Description = description,
            HelpName = helpName ?? string.Join('|', choices),
        };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && Array.IndexOf(choices, value) < 0)
            {
                result.AddError($"{name}: unknown value '{value}' (use {Names.List(choices)})");
            }
        });
        return option;
    }

    /// <summary>
    /// A whole-number option read with the invariant culture, refused when outside [<paramref name="minimum"/>,
    /// <paramref name="maximum"/>]. Without a parser of its own an option was refused by System.CommandLine as
    /// "Cannot parse argument 'x' for option '--top-k' as expected type 'System.Nullable`1[System.Int32]'".
    /// </summary>
    internal static Option<int?> Int(string name, string description, int minimum, int maximum = int.MaxValue, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var token = Token(result);
            // An option bounded on both sides names both bounds whichever is crossed: "at least 1" for -5 hid the
            // cap of 1000 that the next try would meet.
            string Range(bool below) => maximum < int.MaxValue ? $"between {minimum} and {maximum}" : below ? $"at least {minimum}" : $"at most {maximum}";
            if (!int.TryParse(token, NumberStyles.Integer, Invariant, out var value))
            {
                // Digits past int's range are an integer, just too large (or small): "is not an integer" hid the cause.
                result.AddError(IsIntegerText(token)
                    ? $"{name}: must be {Range(token.TrimStart().StartsWith('-'))}, got {token.Trim()}"
                    : $"{name}: '{token}' is not an integer (give a whole number, e.g. 10)");
                return null;
            }

            if (value < minimum || value > maximum)
            {
                result.AddError($"{name}: must be {Range(value < minimum)}, got {value}");
                return null;
            }

            return value;
        },
    };

    private static Option<double?> Double(string name, string description, bool positive) => new(name)
    {
        Description = description,
        HelpName = "X",
        CustomParser = result =>
        {
            var token = Token(result);
            if (!double.TryParse(token, NumberStyles.Float, Invariant, out var value) || !double.IsFinite(value))
            {
                result.AddError($"{name}: '{token}' is not a finite number");
                return null;
            }

            if (positive ? value <= 0 : value < 0)
            {
                result.AddError($"{name}: must be {(positive ? "positive" : "zero or more")}, got {token}");
                return null;
            }

            return value;
        },
    };

    /// <summary>
    /// A number option whose range the library checks (it names the setting when refusing). Parsed with the invariant
    /// culture: System.CommandLine's own double parser reads the current culture, so under de-DE "0.2" was 2 (the dot
    /// a group separator) and the run went on with a value ten times too large.
    /// </summary>
    internal static Option<double?> Number(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var token = Token(result);
            if (!double.TryParse(token, NumberStyles.Float, Invariant, out var value))
            {
                result.AddError($"{name}: '{token}' is not a number (write decimals with a dot, e.g. 0.5)");
                return null;
            }

            return value;
        },
    };

    /// <summary>A seed option: an integer from 0 to <see cref="ulong.MaxValue"/>, read with the invariant culture.</summary>
    internal static Option<ulong?> Seed64(string name = "--seed", string description = "Seed of LIME's masks, smoothgrad's noise and the draws of shapley-sampling, kernel-shap and gradient-shap (default 0).") => new(name)
    {
        Description = description,
        HelpName = "S",
        CustomParser = result =>
        {
            var token = Token(result);
            if (!ulong.TryParse(token, NumberStyles.None, Invariant, out var value))
            {
                result.AddError(IsIntegerText(token) && !token.TrimStart().StartsWith('-')
                    ? $"{name}: {token.Trim()} is out of range: give 0 to {ulong.MaxValue}"
                    : $"{name}: '{token}' is not a non-negative integer (give a whole number from 0, e.g. 42)");
                return null;
            }

            return value;
        },
    };

    /// <summary>Whether <paramref name="token"/> is an optional sign then decimal digits (an integer, whatever its size).</summary>
    private static bool IsIntegerText(string token)
    {
        var digits = token.Trim().TrimStart('+', '-');
        return digits.Length > 0 && digits.Length >= token.Trim().Length - 1 && digits.All(char.IsAsciiDigit);
    }

    private static Option<(int Position, int Unit)?> NeuronOption() => new("--neuron")
    {
        Description = "neuron-conductance: the neuron as POS,UNIT (token position and hidden unit in the layer's output).",
        HelpName = "POS,UNIT",
        CustomParser = result =>
        {
            var token = Token(result);
            var parts = token.Split(',');
            if (parts.Length == 2
                && int.TryParse(parts[0].Trim(), NumberStyles.None, Invariant, out var position)
                && int.TryParse(parts[1].Trim(), NumberStyles.None, Invariant, out var unit))
            {
                return (position, unit);
            }

            // Digits past int's range are integers, just too large: "is not POS,UNIT" hid the cause.
            if (parts.Length == 2 && parts.Select(p => p.Trim()).All(p => p.Length > 0 && p.All(char.IsAsciiDigit)))
            {
                result.AddError($"--neuron: '{token}' is out of range: POS and UNIT are at most {int.MaxValue}");
                return null;
            }

            result.AddError($"--neuron: '{token}' is not POS,UNIT (two non-negative integers, e.g. 3,17)");
            return null;
        },
    };

    private static string Token(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
}

/// <summary>Small text helpers for messages and comma-separated option values.</summary>
internal static class Names
{
    /// <summary>
    /// The trimmed entries of comma-separated <paramref name="values"/> of <paramref name="option"/>; an empty entry
    /// (a doubled, leading or trailing comma) is refused rather than dropped, since it may stand for a name the user
    /// meant to give. No values at all give an empty list.
    /// </summary>
    public static string[] SplitList(IEnumerable<string> values, string option)
    {
        var entries = new List<string>();
        foreach (var value in values)
        {
            var parts = value.Split(',', StringSplitOptions.TrimEntries);
            if (value.Trim().Length > 0 && parts.Any(p => p.Length == 0))
            {
                throw new UsageException(option, $"'{value}' has an empty entry (a doubled, leading or trailing comma): remove the comma or give the missing name");
            }

            entries.AddRange(parts.Where(p => p.Length > 0));
        }

        return [.. entries];
    }

    /// <summary>"a, b or c".</summary>
    public static string List(IReadOnlyList<string> names) => names.Count switch
    {
        0 => string.Empty,
        1 => names[0],
        _ => string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1],
    };
}
