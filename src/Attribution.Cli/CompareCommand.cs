using Attribution.Pipeline;
using System.CommandLine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>
/// <c>attribution compare</c>: several methods side by side on each text, and how much they agree (Spearman's rank
/// correlation between every pair of methods, per text and averaged).
/// </summary>
internal static class CompareCommand
{
    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        var command = new Command("compare", "Run several methods on the same texts, side by side, with their agreement (Spearman's rank correlation).");
        command.Options.Add(options.Model);
        command.Options.Add(options.Text);
        command.Options.Add(options.Input);
        command.Options.Add(options.TextPair);
        command.Options.Add(options.PairColumn);
        command.Options.Add(options.Methods);
        foreach (var option in options.MethodOptions.Concat(options.OutputOptions))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => Execute(parse, options, context));
        return command;
    }

    /// <summary>The method names of <c>--methods</c> (comma-separated, repeatable), or the defaults.</summary>
    public static IReadOnlyList<string> MethodNames(IReadOnlyList<string>? given, MethodSettings settings, CliContext context)
    {
        if (given is null || given.Count == 0)
        {
            var defaults = MethodFactory.DefaultCompareMethods.ToList();
            if (settings.Neuron is not null)
            {
                defaults.Insert(defaults.IndexOf("conductance") + 1, "neuron-conductance");
            }

            if (settings.Score is { } score && score != "logit")
            {
                defaults.Remove("lrp-epsilon");
                context.Error.WriteLine($"note: lrp-epsilon is left out: it explains the logit, not the {score}");
            }

            return defaults;
        }

        var names = Names.SplitList(given, "--methods").ToList();
        if (names.Count == 0)
        {
            throw new UsageException("--methods", $"no method named (use {Names.List(CliOptions.MethodNames)})");
        }

        foreach (var name in names)
        {
            if (Array.IndexOf(CliOptions.MethodNames, name) < 0)
            {
                throw new UsageException("--methods", $"unknown method '{name}' (use {Names.List(CliOptions.MethodNames)})");
            }
        }

        var repeated = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
        {
            throw new UsageException("--methods", $"{repeated.Key} is named twice");
        }

        if (names.Contains("neuron-conductance") && settings.Neuron is null)
        {
            throw new UsageException("--neuron", "neuron-conductance needs the neuron: --neuron POS,UNIT (token position and hidden unit of --layer's output)");
        }

        if (settings.Score is { } s && s != "logit" && names.Contains("lrp-epsilon"))
        {
            throw new UsageException("--score", $"lrp-epsilon explains the logit, not the {s}: leave it out of --methods or use --score logit");
        }

        return names;
    }

    /// <summary>Refuses options that none of the compared methods uses.</summary>
    public static void CheckOptionsUsed(IReadOnlyList<string> methods, MethodSettings settings)
    {
        var inner = settings.Inner ?? "gradient";
        foreach (var option in settings.Given())
        {
            if (!methods.Any(m => MethodFactory.UsesOption(m, option, inner)))
            {
                throw new UsageException(option, $"none of the compared methods ({string.Join(", ", methods)}) uses it");
            }
        }
    }

    private static int Execute(ParseResult parse, CliOptions options, CliContext context)
    {
        var settings = RunSettings.From(parse, options);
        var names = MethodNames(parse.GetValue(options.Methods), settings.Method, context);
        CheckOptionsUsed(names, settings.Method);
        ExplainCommand.CheckTargetAndScoreUsed(names, parse, options, settings.Method);
        var (texts, pairs) = TextInputs.ReadPaired(settings, context);
        settings = settings with { Explain = settings.Explain with { Pairs = pairs } };
        var model = ModelSource.LoadAny(settings.ModelPath, context);
        using var owner = model as IDisposable;
        Checks.Target(model, settings.Explain.Target);
        Checks.Score(model, settings.Explain.Score);
        Checks.Pairs(model, pairs, settings);
        TextChecks.CheckLengths(model, texts, settings.Explain.Truncate, settings.Input is null ? "--text" : "--input", pairs);
        var defaults = parse.GetValue(options.Methods) is not { Length: > 0 };
        if (defaults && model is not ITextClassifier)
        {
            // A model without gradients: of the default set, the methods that can explain it.
            var perturbation = ModelMethods.PerturbationMethods(model);
            context.Error.WriteLine($"note: {model.Name} is an ONNX model, which only perturbation methods can explain: comparing {string.Join(", ", names.Where(perturbation.Contains))}");
            names = names.Where(perturbation.Contains).ToList();
            CheckOptionsUsed(names, settings.Method);
        }

        var methods = names.Select(n => ModelMethods.Create(n, settings.Method, model, "--methods")).ToList();
        if (defaults && model is ITextClassifier torchModel)
        {
            // The default set: leave out what cannot explain this model (an explicit --methods fails instead).
            methods = MethodProbe.Supported(methods, torchModel, context);
        }

        var results = ChunkedRun.Explain(model, texts, methods, settings.Explain, context);
        var agreement = MethodAgreement.Pairs(results, settings.Granularity);
        Output.Write(Output.Comparison(model, results, agreement, settings, context), settings.Output, context);
        return ExitCodes.Ok;
    }
}
