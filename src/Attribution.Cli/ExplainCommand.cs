using Attribution.Pipeline;
using System.CommandLine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Cli;

/// <summary><c>attribution explain</c>: one method over one or more texts.</summary>
internal static class ExplainCommand
{
    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        options.Method.Required = true;
        var command = new Command("explain", "Explain texts with one method: which tokens or words pushed the model's score for the target class.");
        command.Options.Add(options.Model);
        command.Options.Add(options.Text);
        command.Options.Add(options.Input);
        command.Options.Add(options.TextPair);
        command.Options.Add(options.PairColumn);
        command.Options.Add(options.Method);
        foreach (var option in options.MethodOptions.Concat(options.OutputOptions))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => Execute(parse, options, context));
        return command;
    }

    private static int Execute(ParseResult parse, CliOptions options, CliContext context)
    {
        var settings = RunSettings.From(parse, options);
        var methodName = parse.GetValue(options.Method)!;
        MethodFactory.CheckUsage(methodName, settings.Method);
        CheckTargetAndScoreUsed([methodName], parse, options, settings.Method);

        var (texts, pairs) = TextInputs.ReadPaired(settings, context);
        settings = settings with { Explain = settings.Explain with { Pairs = pairs } };
        var model = ModelSource.LoadAny(settings.ModelPath, context);
        using var owner = model as IDisposable;
        Checks.Target(model, settings.Explain.Target);
        Checks.Score(model, settings.Explain.Score);
        Checks.Pairs(model, pairs, settings);
        var method = ModelMethods.Create(methodName, settings.Method, model, "--method");
        TextChecks.CheckLengths(model, texts, settings.Explain.Truncate, settings.Input is null ? "--text" : "--input", pairs);
        IReadOnlyList<Explanation> results;
        if (model is ITextClassifier { Head: OutputHead.MultiLabel } multiLabel && settings.Explain.Target.IsPredicted)
        {
            context.Error.WriteLine("note: multi-label model: explaining every label above 0.5 for each text (the top one when none is); --target picks one");
            // In chunks, as every other path: progress for long inputs, and Ctrl-C between chunks.
            results = ChunkedRun.ExplainEach(texts, settings.Explain, context, (chunk, options) => ExplainPredictedLabels(multiLabel, chunk, method, options));
        }
        else
        {
            results = ChunkedRun.Explain(model, texts, [method], settings.Explain, context)[0];
        }

        Output.Write(Output.Explanations(model, method, results, settings, context), settings.Output, context);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Refuses --target and --score when every method is plain attention rollout: rollout multiplies attention weights
    /// only, so no class or output enters it, and the results would record them as if they mattered.
    /// </summary>
    internal static void CheckTargetAndScoreUsed(IReadOnlyList<string> methods, ParseResult parse, CliOptions options, MethodSettings settings)
    {
        if (methods.Count == 0 || methods.Any(m => m != "attention-rollout"))
        {
            return;
        }

        foreach (var (option, given) in new[] { ("--target", parse.GetValue(options.Target) is not null), ("--score", settings.Score is not null) })
        {
            if (given)
            {
                throw new UsageException(option,
                    $"attention-rollout reads the attention weights only, so no class or output enters it and {option} would change nothing: leave {option} out, or use grad-attention-rollout, which weights the attention by the gradients of the target's output");
            }
        }
    }

    /// <summary>
    /// Each text explained for exactly the labels a multi-label model predicts for it (every label above 0.5, or the top
    /// one), most likely first: one logits-only pass finds them, then texts that predict the same labels are explained
    /// together for those labels only, so no label is explained that is not shown, and a method's note of what the
    /// labels shared ("explained for k classes at once") counts the labels shown.
    /// </summary>
    private static IReadOnlyList<Explanation> ExplainPredictedLabels(ITextClassifier model, IReadOnlyList<string> texts, IAttributor method, ExplainOptions options)
    {
        var sequences = texts.Select((text, i) => model.Tokenizer.Encode(
                text, options.Pairs?[i], options.Truncate ? model.MaxLength : null, TruncationSide.Right, options.TruncationStrategy))
            .Select(encoding => new TokenSequence(encoding.Ids, encoding.TypeIds))
            .ToArray();
        var predicted = TokenBatches.PredictLogits(model, sequences, options.Cancellation).Select(logits => model.Head.PredictedLabels(logits)).ToArray();
        var results = new IReadOnlyList<Explanation>[texts.Count];
        foreach (var group in Enumerable.Range(0, texts.Count).GroupBy(t => string.Join(",", predicted[t])))
        {
            var members = group.ToArray();
            var byText = Explainer.ExplainClasses(
                model, members.Select(t => texts[t]).ToArray(), [method], predicted[members[0]],
                options with { Pairs = options.Pairs is { } pairs ? members.Select(t => pairs[t]).ToArray() : null })[0];
            for (var i = 0; i < members.Length; i++)
            {
                results[members[i]] = byText[i];
            }
        }

        return results.SelectMany(perText => perText).ToList();
    }
}

/// <summary>Checks of option values against the loaded model.</summary>
internal static class Checks
{
    /// <summary>Refuses a <c>--target</c> the model does not have.</summary>
    public static void Target(ITokenClassifier model, Target target)
    {
        try
        {
            target.Resolve(model.Labels, 0);
        }
        catch (ArgumentException e)
        {
            throw new UsageException("--target", CliApp.UsageMessage(e).Replace("--target: ", string.Empty, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Refuses sentence pairs for a model that takes single texts: the small CNN, LSTM and MLP classifiers (the default
    /// model among them) are trained on single texts only, so a pair would be read as one text joined by separator
    /// tokens the model never saw, and its explanation would look like a pair's. (Transformer encoders and their ONNX
    /// exports take pairs: their tokenizers give each text its own segment.)
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="pairs">The pairs' second texts, or null for single texts.</param>
    /// <param name="settings">Where the pairs came from (<c>--text-pair</c>, <c>--pair-column</c> or the <c>--input</c> TSV).</param>
    public static void Pairs(ITokenClassifier model, IReadOnlyList<string>? pairs, RunSettings settings)
    {
        if (pairs is null || model is not ITextClassifier { Module: SmallClassifier small })
        {
            return;
        }

        var why = $"{model.Name} ({small.Config.ModelType}) takes single texts: the small classifiers are trained on single texts only, so it would read the pair as one text joined by separator tokens it never saw";
        if (settings.TextPairs is { Count: > 0 })
        {
            throw new UsageException("--text-pair", $"{why}; leave --text-pair out, or give --model a transformer trained on sentence pairs (BERT, DistilBERT or RoBERTa)");
        }

        throw new UsageException(settings.PairColumn is null ? "--input" : "--pair-column",
            $"{settings.Input} holds sentence pairs, but {why}; give a file of single texts (a 'sentence' column), or --model a transformer trained on sentence pairs");
    }

    /// <summary>Refuses a <c>--score</c> the model's head has no value for (a regression model has only its output).</summary>
    public static void Score(ITokenClassifier model, ScoreOutput score)
    {
        if (model.Head == OutputHead.Regression && score != ScoreOutput.Logit)
        {
            throw new UsageException("--score",
                $"{model.Name} is a regression model (one real-valued output), which has no {score.Name()}: leave --score out, or give --score logit (the output itself)");
        }
    }
}
