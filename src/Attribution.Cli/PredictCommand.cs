using System.CommandLine;

namespace Attribution.Cli;

/// <summary><c>attribution predict</c>: the model's class probabilities for each text.</summary>
internal static class PredictCommand
{
    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        var format = new Option<string?>("--format")
        {
            Description = "Output format (default table).",
            HelpName = "table|json|markdown",
        };
        format.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && value is not ("table" or "json" or "markdown"))
            {
                result.AddError($"--format: unknown value '{value}' (predict writes table, json or markdown)");
            }
        });
        var command = new Command("predict", "Classify texts: the predicted class and every class's probability.")
        {
            options.Model, options.Text, options.Input, format, options.Output, options.Truncate, options.BatchSize, options.Verbose,
        };
        command.SetAction(parse =>
        {
            RunSettings.CheckPathsNotEmpty(parse.GetValue(options.Model), parse.GetValue(options.Input), parse.GetValue(options.Output));
            var texts = TextInputs.Read(parse.GetValue(options.Text), parse.GetValue(options.Input), context);
            var truncate = parse.GetValue(options.Truncate);
            var model = ModelSource.LoadAny(parse.GetValue(options.Model), context);
            using var owner = model as IDisposable;
            TextChecks.CheckLengths(model, texts, truncate, parse.GetValue(options.Input) is null ? "--text" : "--input", predicting: true);
            var dropped = truncate ? TextChecks.TokensBeyondLimit(model, texts) : null;
            for (var i = 0; i < (dropped?.Length ?? 0); i++)
            {
                if (dropped![i] > 0)
                {
                    context.Error.WriteLine($"note: text {i + 1} was truncated: its {dropped[i]} token(s) beyond {model.Name}'s limit of {model.MaxLength} were dropped before classifying");
                }
            }

            // The default --batch-size states: that of every command (it was 16 here, under the same help text).
            var predictions = ChunkedRun.Predict(model, texts, parse.GetValue(options.BatchSize) ?? new Attribution.Pipeline.ExplainOptions().BatchSize, truncate, context);
            Output.Write(Output.Predictions(model, predictions, parse.GetValue(format) ?? "table", dropped), parse.GetValue(options.Output), context);
            return ExitCodes.Ok;
        });
        return command;
    }
}
