using Attribution.Pipeline;
using System.CommandLine;
using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>Everything an explaining command was asked for, read from the parse result.</summary>
internal sealed record RunSettings
{
    public string? ModelPath { get; init; }

    public IReadOnlyList<string>? Texts { get; init; }

    /// <summary>The <c>--text-pair</c> values (second texts of pairs), if any.</summary>
    public IReadOnlyList<string>? TextPairs { get; init; }

    /// <summary>The <c>--pair-column</c> value, if any.</summary>
    public string? PairColumn { get; init; }

    public string? Input { get; init; }

    public required MethodSettings Method { get; init; }

    public required ExplainOptions Explain { get; init; }

    public Granularity Granularity { get; init; } = Granularity.Words;

    public string Format { get; init; } = "table";

    public string? Output { get; init; }

    public bool Verbose { get; init; }

    /// <summary>Reads the options of <paramref name="options"/> from <paramref name="result"/>.</summary>
    public static RunSettings From(ParseResult result, CliOptions options)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(options);
        var method = new MethodSettings
        {
            Layer = Value(result, options.Layer),
            Steps = Value(result, options.Steps),
            Tolerance = Value(result, options.Tolerance),
            MaxSteps = Value(result, options.MaxSteps),
            TokenBudget = Value(result, options.TokenBudget),
            Integration = Value(result, options.Integration),
            Baseline = Value(result, options.Baseline),
            InternalBatchSize = Value(result, options.InternalBatchSize),
            Neuron = Value(result, options.Neuron),
            Samples = Value(result, options.Samples),
            Seed = Value(result, options.Seed),
            KernelWidth = Value(result, options.KernelWidth),
            MaskToken = Value(result, options.MaskToken),
            LimePreset = Value(result, options.LimePreset),
            Epsilon = Value(result, options.Epsilon),
            Attention = Value(result, options.Attention),
            NoiseSamples = Value(result, options.NoiseSamples),
            NoiseStdev = Value(result, options.NoiseStdev),
            Inner = Value(result, options.Inner),
            Reduce = Value(result, options.Reduce),
            Score = Value(result, options.Score),
            Window = Value(result, options.Window),
            Stride = Value(result, options.Stride),
            MaxFeatures = Value(result, options.MaxFeatures),
            Features = Value(result, options.Features),
            Perturbation = Value(result, options.Perturbation),
        };
        if (method.MaskToken is { Length: 0 })
        {
            throw new UsageException("--mask-token", "the mask token is empty; give the string that replaces a switched-off word");
        }

        CheckPathsNotEmpty(Value(result, options.Model), Value(result, options.Input), Value(result, options.Output));

        if (method.Layer is { Length: 0 })
        {
            throw new UsageException("--layer", "the layer path is empty");
        }

        Target target;
        var targetText = Value(result, options.Target);
        try
        {
            target = targetText is null ? Methods.Target.Predicted : Methods.Target.Parse(targetText);
        }
        catch (ArgumentException)
        {
            throw new UsageException("--target", "give a class index, a label name or 'predicted'");
        }

        if (target.Index is < 0)
        {
            throw new UsageException("--target", $"class index {target.Index} is negative: give an index from 0 (the model's first label), a label name or 'predicted'");
        }

        var defaults = new ExplainOptions();
        var explain = new ExplainOptions
        {
            Target = target,
            Score = method.Score is { } s ? ExplanationJson.ParseScoreOutput(s) : ScoreOutput.Logit,
            Truncate = Value(result, options.Truncate),
            BatchSize = Value(result, options.BatchSize) ?? defaults.BatchSize,
            TokenBudget = Value(result, options.TokenBudget) ?? defaults.TokenBudget,
            Salience = new SalienceOptions
            {
                KeepSpecialTokens = Value(result, options.KeepSpecial),
                Normalization = Value(result, options.Normalize) is { } n ? ResultNames.ParseNormalization(n) : Normalization.None,
                WordAggregation = Value(result, options.Aggregate) is { } a ? ResultNames.ParseWordAggregation(a) : WordAggregation.Sum,
            },
        };

        return new RunSettings
        {
            ModelPath = Value(result, options.Model),
            Texts = Value(result, options.Text),
            TextPairs = Value(result, options.TextPair),
            PairColumn = Value(result, options.PairColumn),
            Input = Value(result, options.Input),
            Method = method,
            Explain = explain,
            Granularity = Value(result, options.Granularity) == "tokens" ? Granularity.Tokens : Granularity.Words,
            Format = Value(result, options.Format) ?? "table",
            Output = Value(result, options.Output),
            Verbose = Value(result, options.Verbose),
        };
    }

    /// <summary>
    /// Refuses an empty or blank <c>--model</c>, <c>--input</c> or <c>--output</c> naming the option: such a path would
    /// otherwise reach <see cref="Path.GetFullPath(string)"/>, whose <see cref="ArgumentException"/> names its own
    /// parameter, not the option (and was reported as <c>--layer</c>).
    /// </summary>
    /// <exception cref="UsageException">One of the paths given is empty or blank.</exception>
    public static void CheckPathsNotEmpty(string? model, string? input, string? output)
    {
        foreach (var (option, value, what) in new[]
                 {
                     ("--model", model, "the model's folder"),
                     ("--input", input, "a file of texts, or - for standard input"),
                     ("--output", output, "the file to write"),
                 })
        {
            CheckPathNotEmpty(option, value, what);
        }
    }

    /// <summary>Refuses an empty or blank path given to <paramref name="option"/>, saying what to give instead (<paramref name="what"/>).</summary>
    /// <exception cref="UsageException">The path is given and is empty or blank.</exception>
    public static void CheckPathNotEmpty(string option, string? value, string what)
    {
        if (value is { } v && string.IsNullOrWhiteSpace(v))
        {
            throw new UsageException(option, $"the path is empty; give {what}");
        }
    }

    /// <summary>The value of an option when it belongs to the parsed command, else its default.</summary>
    private static T? Value<T>(ParseResult result, Option<T> option) =>
        result.CommandResult.Command.Options.Contains(option) ? result.GetValue(option) : default;
}
