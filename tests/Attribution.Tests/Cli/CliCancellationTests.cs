using Attribution.Cli;

namespace Attribution.Tests.Cli;

/// <summary>
/// Commands that passed no Ctrl-C token to the library: run with a token cancelled before they start, each now stops at
/// its first model pass with exit code 130 and writes nothing. Before, counterfactual and sanity ran to the end (exit 0),
/// and shortcut trained its model and predicted every contradicting sentence before the explanations' chunk check
/// stopped it.
/// </summary>
public sealed class CliCancellationTests
{
    private static CliResult RunCancelled(params string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        return CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, Cancellation = cancellation.Token }, args);
    }

    [SkippableFact]
    public void Counterfactual_with_ctrl_c_pressed_stops_with_exit_code_130()
    {
        var run = RunCancelled("counterfactual", "--model", CliHarness.TinyBert, "--text", "a good film", "--edit", "a bad film", "--methods", "gradient");
        run.Code.Should().Be(130, run.ToString());
        run.Error.Should().Contain("cancelled by Ctrl-C; nothing was written");
        run.Out.Should().BeEmpty();
    }

    [SkippableFact]
    public void Sanity_with_ctrl_c_pressed_stops_with_exit_code_130()
    {
        var run = RunCancelled("sanity", "--model", CliHarness.TinyBert, "--text", "a good film", "--method", "gradient", "--layers", "classifier");
        run.Code.Should().Be(130, run.ToString());
        run.Error.Should().Contain("cancelled by Ctrl-C; nothing was written");
        run.Out.Should().BeEmpty();
    }

    /// <summary>Training checks the token before each pass: nothing is trained (no epoch line) and nothing saved.</summary>
    [Fact]
    public void Shortcut_with_ctrl_c_pressed_trains_nothing()
    {
        var saved = Directory.CreateTempSubdirectory("attribution-shortcut-cancel-").FullName;
        try
        {
            var run = RunCancelled("shortcut", "--demo", "--epochs", "1", "--max-sentences", "5", "--methods", "gradient", "--save", Path.Combine(saved, "model"));
            run.Code.Should().Be(130, run.ToString());
            run.Error.Should().Contain("cancelled by Ctrl-C; nothing was written").And.NotContain("epoch 1");
            run.Out.Should().BeEmpty();
            Directory.Exists(Path.Combine(saved, "model")).Should().BeFalse("no model is saved");
        }
        finally
        {
            Directory.Delete(saved, recursive: true);
        }
    }

    /// <summary>
    /// A command on the default model with an empty cache trains it first; Ctrl-C now stops that training before its first
    /// batch (exit 130, no model cached). Before, the whole model trained (its epoch lines on standard error) and only then
    /// did the chunk check stop the run: here the error writer refuses an epoch line, so that fails at once.
    /// </summary>
    [Fact]
    public void Predict_on_the_default_model_with_ctrl_c_pressed_trains_nothing()
    {
        var cache = Directory.CreateTempSubdirectory("attribution-default-cancel-").FullName;
        try
        {
            using var cancellation = new CancellationTokenSource();
            cancellation.Cancel();
            using var error = new RefuseEpochLines();
            var code = CliApp.Run(["predict", "--text", "a good film"],
                new CliContext { Out = TextWriter.Null, Error = error, Cancellation = cancellation.Token, DefaultModelCache = cache });
            code.Should().Be(130, error.ToString());
            error.ToString().Should().Contain("cancelled by Ctrl-C; nothing was written");
            Directory.Exists(Path.Combine(cache, Attribution.Training.DefaultModel.Version)).Should().BeFalse("no model is cached");
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>Standard error that throws at a training epoch's progress line: the test fails rather than training on.</summary>
    private sealed class RefuseEpochLines : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.StartsWith("default model: epoch", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"an epoch was trained after Ctrl-C: {value}");
            }
        }
    }

    /// <summary>
    /// Ctrl-C at the end of training (its one epoch's line): the contradicting sentences' predictions stop the run. Before,
    /// they ran and the explanations' chunk check stopped it ("cancelled: explained 0/n texts").
    /// </summary>
    [Fact]
    public void Shortcut_cancelled_after_training_predicts_no_sentence()
    {
        var root = Directory.CreateTempSubdirectory("attribution-shortcut-cancel-").FullName;
        try
        {
            string[] positive = ["good", "great", "superb", "lovely"], negative = ["bad", "dull", "awful", "weak"];
            var train = Path.Combine(root, "train.tsv");
            File.WriteAllLines(train, ["sentence\tlabel", .. Enumerable.Range(0, 40).Select(i =>
                $"{string.Join(' ', Enumerable.Range(0, 4).Select(k => (i % 2 == 1 ? positive : negative)[(i + k) % 4]))} film\t{i % 2}")]);
            using var cancellation = new CancellationTokenSource();
            using var error = new CancelOnWrite("epoch 1", cancellation);
            var code = CliApp.Run(["shortcut", "--train", train, "--words", "zorblax", "--epochs", "1", "--methods", "gradient"],
                new CliContext { Out = TextWriter.Null, Error = error, Cancellation = cancellation.Token });
            code.Should().Be(130, error.ToString());
            error.ToString().Should().Contain("cancelled by Ctrl-C; nothing was written").And.NotContain("the model follows the shortcut");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
