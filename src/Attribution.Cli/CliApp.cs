using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Cli;

/// <summary>
/// The <c>attribution</c> command line, runnable in process: <see cref="Run(string[], TextWriter, TextWriter)"/>
/// parses, runs and maps every failure to an exit code and a one-line message (0 ok, 1 runtime failure, 2 bad usage
/// naming the option, 130 Ctrl-C). Stack traces only with <c>--verbose</c>.
/// </summary>
internal static class CliApp
{
    /// <summary>Runs the command line with these writers (plain output, no terminal).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) =>
        Run(args, new CliContext { Out = output, Error = error });

    /// <summary>Runs the command line in <paramref name="context"/>.</summary>
    public static int Run(string[] args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var root = BuildRoot(context);

        // '@file' would read a response file: texts may start with '@'.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var verbose = args.Contains("--verbose");
        if (parse.Errors.Count > 0)
        {
            foreach (var message in parse.Errors.Select(e => e.Message).Distinct(StringComparer.Ordinal))
            {
                context.Error.WriteLine($"error: {message}");
            }

            var command = parse.CommandResult.Command;
            var name = command.Parents.Any() ? $"attribution {command.Name}" : "attribution";
            context.Error.WriteLine($"see '{name} --help'");
            return ExitCodes.Usage;
        }

        try
        {
            // Every command needs TorchSharp: say why it cannot load before TorchSharp's own, misleading message
            // (help and --version, the actions of options, do not need it).
            if (parse.Action is not null && ReferenceEquals(parse.Action, parse.CommandResult.Command.Action))
            {
                Output.CheckOutputIsNotInput(parse, context);
                Attribution.Engine.Loading.TorchSharpLoader.EnsureLoaded();
                Attribution.Engine.Loading.NativeHeap.EnsureValidSetting();
            }

            return parse.Invoke(new InvocationConfiguration
            {
                Output = context.Out,
                Error = context.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            });
        }
        catch (Exception e)
        {
            return Report(e, context, verbose);
        }
    }

    /// <summary>The exit code of a failure, after writing its one-line message (and, with --verbose, the stack trace).</summary>
    public static int Report(Exception exception, CliContext context, bool verbose)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(context);
        var e = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        var (code, message) = e switch
        {
            UsageException usage => (ExitCodes.Usage, usage.Message),
            RunCancelledException cancelled => (ExitCodes.Cancelled, cancelled.Message),
            OperationCanceledException => (ExitCodes.Cancelled, "cancelled by Ctrl-C; nothing was written"),
            OutputException output => (ExitCodes.Failure, output.Message),
            ModelLoadException load => (ExitCodes.Failure, $"cannot load the model: {load.Message}"),
            TokenizerException tokenizer => (ExitCodes.Failure, $"tokenizer: {tokenizer.Message}"),
            // A model LRP has no rule for is a choice of method, like attention-rollout on a model without attention: a usage error.
            LrpNotSupportedException lrp => (ExitCodes.Usage, $"--method: lrp-epsilon cannot explain this model: {lrp.Message} From the command line, explain it with another method (gradient, integrated-gradients, occlusion, ...)."),
            Attribution.Engine.Loading.TorchLoadException load => (ExitCodes.Failure, $"TorchSharp cannot be loaded: {load.Message}"),
            System.Runtime.InteropServices.ExternalException torch => (ExitCodes.Failure, $"libtorch: {torch.Message}"),
            ArgumentException argument => (ExitCodes.Usage, UsageMessage(argument)),
            InvalidOperationException invalid => (ExitCodes.Failure, invalid.Message),
            IOException io => (ExitCodes.Failure, $"I/O: {io.Message}"),
            UnauthorizedAccessException denied => (ExitCodes.Failure, $"access denied: {denied.Message}"),
            DllNotFoundException dll => (ExitCodes.Failure, $"the native library could not be loaded: {dll.Message} (the application must reference TorchSharp-cpu; set ATTRIBUTION_TORCHSHARP_COMPAT=auto, the default, on Debian 12 / Ubuntu 22.04)"),
            _ => (ExitCodes.Failure, $"{e.GetType().Name}: {e.Message}"),
        };
        context.Error.WriteLine($"error: {OneLine(message)}");
        if (verbose)
        {
            context.Error.WriteLine(e.ToString());
        }
        else if (code == ExitCodes.Failure)
        {
            context.Error.WriteLine("(run again with --verbose for the stack trace)");
        }

        return code;
    }

    /// <summary>A refused value as the command line writes it: numbers with the invariant culture ("R" for doubles).</summary>
    private static string ShownValue(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>
    /// The library's message for a bad value without .NET's "(Parameter ...)" and "Actual value was ..." suffixes, the
    /// refused value appended as the command line writes it ("(got 0.5)"); <see cref="UsageMessage"/> adds the option.
    /// </summary>
    public static string ValueMessage(ArgumentException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception.Message;
        var suffix = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (suffix >= 0)
        {
            message = message[..suffix];
        }

        var actual = message.IndexOf("Actual value was", StringComparison.Ordinal);
        if (exception is ArgumentOutOfRangeException && actual > 0)
        {
            message = message[..actual].TrimEnd();
        }

        // .NET appends "Actual value was 0,5." after the parameter (cut above), in the user's culture: the value is
        // shown as the option is written on the command line (a dot for decimals) rather than dropped with it.
        if (exception is ArgumentOutOfRangeException { ActualValue: { } value })
        {
            message += $" (got {ShownValue(value)})";
        }

        return message;
    }

    /// <summary>
    /// The library's message for a bad value, naming the option it came from where the parameter name tells
    /// (<c>Steps</c> → <c>--steps</c>), without .NET's "(Parameter ...)" suffix.
    /// </summary>
    public static string UsageMessage(ArgumentException exception)
    {
        var message = ValueMessage(exception);
        var option = exception.ParamName switch
        {
            "Steps" or "steps" or "n" => "--steps",
            "Tolerance" => "--tolerance",
            "MaxSteps" => "--max-steps",
            "TokenBudget" => "--token-budget",
            "InternalBatchSize" => "--internal-batch-size",
            "Samples" => "--samples",
            "Window" => "--window",
            "topK" => "--top-k",
            "Stride" => "--stride",
            "MaxFeatures" => "--max-features",
            "Features" => "--features",
            "Perturbation" => "--perturbation",
            "Stdev" => "--noise-stdev",
            "Baseline" or "Baselines" => "--baseline",
            "Layer" or "InputLayer" => "--layer",

            // ModulePaths.Submodule names its argument "path"; so does .NET's Path.GetFullPath for an empty file path,
            // which is no layer (an empty --plot was reported as "--layer: The value cannot be an empty string.").
            "path" when message.StartsWith("no submodule ", StringComparison.Ordinal) => "--layer",
            "Position" or "Unit" => "--neuron",
            "Target" or "target" => "--target",
            "normalization" or "Normalization" => "--normalize",
            "KernelWidth" => "--kernel-width",
            "MaskToken" => "--mask-token",
            "Epsilon" => "--epsilon",
            "BatchSize" => "--batch-size",
            "texts" or "text" => "--text",
            "pairs" or "pair" or "Pairs" => "--text-pair",
            "words" => "--words",
            "Rule" => "--integration",
            "Reduce" => "--reduce",
            "aggregation" => "--aggregate",
            "Score" => "--score",
            "inner" => "--inner",
            "options" when message.Contains("LRP", StringComparison.Ordinal) => "--score",
            _ => null,
        };
        return option is null ? message : $"{option}: {message}";
    }

    // Messages quote what users and model files supply (label names, texts): no control character or bidi override
    // reaches the terminal, and the message stays on one line.
    private static string OneLine(string message) => Output.Printable(message.Replace("\r\n", " ").Replace('\n', ' '));

    private static Command BuildRoot(CliContext context)
    {
        // A plain command named like the tool (a RootCommand would be named after the assembly, Attribution.Cli).
        var root = new Command("attribution", 
            "Attribution for text classifiers: which words pushed the prediction. Methods: gradient, gradient-x-input, "
            + "integrated-gradients, conductance, neuron-conductance, lime, lrp-epsilon, smoothgrad, gradient-shap, occlusion, "
            + "shapley, shapley-sampling, kernel-shap, attention-rollout, grad-attention-rollout; counterfactual compares edits of a text. Without --model, the "
            + "demo's default model (trained on a generated sentiment corpus) is used.")
        {
            ExplainCommand.Create(context),
            CounterfactualCommand.Create(context),
            CompareCommand.Create(context),
            PredictCommand.Create(context),
            EvaluateCommand.Create(context),
            ScorecardCommand.Create(context),
            SanityCommand.Create(context),
            ShortcutCommand.Create(context),
            DemoCommand.Create(context),
            EngineCommand.Create(context),
        };
        root.Options.Add(new System.CommandLine.Help.HelpOption());
        root.Options.Add(new VersionOption());
        return root;
    }
}
