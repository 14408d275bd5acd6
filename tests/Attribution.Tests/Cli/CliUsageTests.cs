using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Attribution.Cli;
using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Cli;

/// <summary>
/// Bad usage exits with code 2 and a message naming the option, before any model is loaded; runtime failures exit 1
/// with a one-line typed message and no stack trace unless --verbose.
/// </summary>
public sealed class CliUsageTests
{
    public static TheoryData<string[], string> BadUsage() => new()
    {
        { ["explain", "--text", "a film", "--method", "nope"], "--method" },
        { ["explain", "--text", "a film"], "--method" },
        { ["explain", "--method", "gradient"], "--text" },
        { ["explain", "--text", "", "--method", "gradient"], "--text" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--steps", "0"], "--steps" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--steps", "many"], "--steps" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--steps", "8", "--tolerance", "0.05"], "--tolerance" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--steps", "8", "--max-steps", "64"], "--max-steps" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--tolerance", "0.9"], "--tolerance" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--tolerance", "0"], "--tolerance" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--max-steps", "4"], "--max-steps" },
        { ["explain", "--text", "a film", "--method", "conductance", "--integration", "riemann-left"], "--integration" },
        { ["explain", "--text", "a film", "--method", "conductance", "--integration", "gausslegendre"], "--integration" },
        { ["explain", "--text", "a film", "--method", "neuron-conductance", "--neuron", "1,2", "--steps", "1"], "--steps" },
        { ["explain", "--text", "a film", "--method", "neuron-conductance", "--neuron", "1,2", "--tolerance", "0.1"], "--tolerance" },
        { ["explain", "--text", "a film", "--method", "gradient", "--max-steps", "64"], "--max-steps" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--token-budget", "0"], "--token-budget" },
        { ["explain", "--text", "a film", "--method", "gradient", "--token-budget", "2000000"], "--token-budget" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--integration", "simpson"], "--integration" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--integration", "riemann-left", "--steps", "1"], "--steps" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--baseline", "random"], "--baseline" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--internal-batch-size", "0"], "--internal-batch-size" },
        { ["explain", "--text", "a film", "--method", "gradient", "--score", "softmax"], "--score" },
        { ["explain", "--text", "a film", "--method", "gradient", "--format", "pdf"], "--format" },
        { ["explain", "--text", "a film", "--method", "gradient", "--granularity", "letters"], "--granularity" },
        { ["explain", "--text", "a film", "--method", "gradient", "--reduce", "max"], "--reduce" },
        { ["explain", "--text", "a film", "--method", "gradient", "--aggregate", "median"], "--aggregate" },
        { ["explain", "--text", "a film", "--method", "gradient", "--normalize", "softmax"], "--normalize" },
        { ["explain", "--text", "a film", "--method", "gradient", "--batch-size", "0"], "--batch-size" },
        { ["explain", "--text", "a film", "--method", "gradient", "--steps", "5"], "--steps" },
        { ["explain", "--text", "a film", "--method", "gradient", "--samples", "5"], "--samples" },
        { ["explain", "--text", "a film", "--method", "gradient", "--bogus"], "--bogus" },
        { ["explain", "--text", "a film", "--method", "gradient", "--target", "-1"], "--target" },
        { ["explain", "--text", "a film", "--method", "neuron-conductance"], "--neuron" },
        { ["explain", "--text", "a film", "--method", "neuron-conductance", "--neuron", "3"], "--neuron" },
        { ["explain", "--text", "a film", "--method", "neuron-conductance", "--neuron", "a,b"], "--neuron" },
        { ["explain", "--text", "a film", "--method", "lime", "--samples", "0"], "--samples" },
        { ["explain", "--text", "a film", "--method", "lime", "--seed", "-3"], "--seed" },
        { ["explain", "--text", "a film", "--method", "lime", "--kernel-width", "0"], "--kernel-width" },
        { ["explain", "--text", "a film", "--method", "lime", "--lime-preset", "shap"], "--lime-preset" },
        { ["explain", "--text", "a film", "--method", "lime", "--mask-token", ""], "--mask-token" },
        { ["explain", "--text", "a film", "--method", "lime", "--score", "logit"], "--score" },
        { ["explain", "--text", "a film", "--method", "lime", "--epsilon", "0.1"], "--epsilon" },
        { ["explain", "--text", "a film", "--method", "lrp-epsilon", "--epsilon", "-1"], "--epsilon" },
        { ["explain", "--text", "a film", "--method", "lrp-epsilon", "--epsilon", "NaN"], "--epsilon" },
        { ["explain", "--text", "a film", "--method", "lrp-epsilon", "--attention", "full"], "--attention" },
        { ["explain", "--text", "a film", "--method", "lrp-epsilon", "--score", "probability"], "--score" },
        { ["explain", "--text", "a film", "--method", "smoothgrad", "--noise-samples", "0"], "--noise-samples" },
        { ["explain", "--text", "a film", "--method", "smoothgrad", "--noise-stdev", "-0.1"], "--noise-stdev" },
        { ["explain", "--text", "a film", "--method", "smoothgrad", "--inner", "lime"], "--inner" },
        { ["explain", "--text", "a film", "--method", "smoothgrad", "--steps", "4"], "--steps" },
        { ["explain", "--text", "a film", "--method", "gradient", "--inner", "gradient"], "--inner" },
        { ["explain", "--text", "a film", "--method", "lime", "--window", "2"], "--window" },
        { ["explain", "--text", "a film", "--method", "lime", "--perturbation", "baseline"], "--perturbation" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--window", "0"], "--window" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--stride", "-1"], "--stride" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--samples", "5"], "--samples" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--features", "letters"], "--features" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--perturbation", "blank"], "--perturbation" },
        { ["explain", "--text", "a film", "--method", "shapley", "--max-features", "21"], "--max-features" },
        { ["explain", "--text", "a film", "--method", "shapley", "--seed", "3"], "--seed" },
        { ["explain", "--text", "a film", "--method", "shapley-sampling", "--samples", "0"], "--samples" },
        { ["explain", "--text", "a film", "--method", "kernel-shap", "--samples", "100001"], "--samples" },
        { ["explain", "--text", "a film", "--method", "kernel-shap", "--window", "2"], "--window" },
        { ["explain", "--text", "a film", "--method", "gradient-shap", "--noise-stdev", "-1"], "--noise-stdev" },
        { ["explain", "--text", "a film", "--method", "gradient-shap", "--features", "tokens"], "--features" },
        { ["explain", "--input", "/no/such/file.txt", "--method", "gradient"], "--input" },
        { ["explain", "--text", "a film", "--method", "gradient", "--model", "/no/such/model"], "--model" },
        { ["compare", "--text", "a film", "--methods", "gradient,shap"], "--methods" },
        { ["compare", "--text", "a film", "--methods", "gradient,gradient"], "--methods" },
        { ["compare", "--text", "a film", "--methods", "gradient", "--samples", "8"], "--samples" },
        { ["compare", "--text", "a film", "--methods", "gradient,neuron-conductance"], "--neuron" },
        { ["compare", "--text", "a film", "--methods", "lrp-epsilon", "--score", "probability"], "--score" },
        { ["compare", "--methods", "gradient"], "--text" },
        { ["predict", "--text", "a film", "--format", "html"], "--format" },
        { ["predict"], "--text" },
        { ["predict", "--text", "a film", "--method", "gradient"], "--method" },
        { ["demo", "--text", "a film"], "--text" },
    };

    [Theory]
    [MemberData(nameof(BadUsage))]
    public void Bad_usage_exits_2_with_a_message_naming_the_option(string[] args, string option)
    {
        var run = CliHarness.Run(args);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain(option, run.ToString());
        run.Error.Should().Contain("error:");
        run.Error.Should().NotContain("   at ", "no stack trace");
        run.Out.Should().BeEmpty();
    }

    /// <summary>
    /// An empty path given to sanity's --plot or --save-randomized, or to shortcut's --train or --save, reached
    /// Path.GetFullPath, whose ArgumentException (parameter 'path') the CLI reported as "--layer: The value cannot be an
    /// empty string." (for --plot only after the whole run had been printed). Now refused first, naming the option.
    /// </summary>
    [SkippableTheory]
    [InlineData("--plot", new[] { "sanity", "--text", "a fine film", "--method", "gradient", "--plot", "" })]
    [InlineData("--save-randomized", new[] { "sanity", "--text", "a fine film", "--method", "gradient", "--save-randomized", " " })]
    [InlineData("--train", new[] { "shortcut", "--train", "", "--words", "zorblax,quibbit" })]
    [InlineData("--save", new[] { "shortcut", "--demo", "--save", "" })]
    public void An_empty_output_or_training_path_is_refused_naming_its_option(string option, string[] args)
    {
        var full = args[0] == "sanity" ? [.. args, "--model", CliHarness.TinyBert] : args;
        var run = CliHarness.Run(full);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain($"{option}: the path is empty").And.NotContain("--layer");
        run.Out.Should().BeEmpty("the check comes before any work");
    }

    /// <summary>
    /// A doubled, leading or trailing comma in a list option was dropped silently (`gradient,,lime` explained two
    /// methods); the empty entry may stand for a name the user meant, so it is refused, naming the option.
    /// </summary>
    [Theory]
    [InlineData("--methods", new[] { "compare", "--text", "a film", "--methods", "gradient,,occlusion" })]
    [InlineData("--metric", new[] { "evaluate", "--text", "a film", "--method", "gradient", "--metric", "sufficiency," })]
    [InlineData("--highlight", new[] { "evaluate", "--text", "a film", "--method", "gradient", "--metric", "plausibility", "--highlight", ",film" })]
    public void An_empty_entry_in_a_comma_separated_list_is_refused_naming_the_option(string option, string[] args)
    {
        var run = CliHarness.Run(args);
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain($"{option}: '").And.Contain("has an empty entry (a doubled, leading or trailing comma)");
        run.Out.Should().BeEmpty();
    }

    [Fact]
    public void No_command_is_bad_usage_and_help_is_not()
    {
        CliHarness.Run().Code.Should().Be(2);
        var help = CliHarness.Run("--help");
        help.Code.Should().Be(0);
        help.Out.Should().Contain("explain").And.Contain("compare").And.Contain("predict").And.Contain("demo").And.Contain("engine");
        var explainHelp = CliHarness.Run("explain", "--help");
        explainHelp.Code.Should().Be(0);
        foreach (var option in new[]
                 {
                     "--model", "--text", "--input", "--method", "--target", "--score", "--layer", "--steps", "--integration", "--baseline",
                     "--internal-batch-size", "--neuron", "--samples", "--seed", "--kernel-width", "--mask-token", "--lime-preset", "--epsilon",
                     "--attention", "--noise-samples", "--noise-stdev", "--inner", "--granularity", "--reduce", "--aggregate", "--normalize",
                     "--keep-special", "--format", "--output", "--truncate", "--batch-size", "--verbose",
                 })
        {
            explainHelp.Out.Should().Contain(option);
        }
    }

    /// <summary>
    /// The command list described evaluate as scoring comprehensiveness, sufficiency, leave-one-out correlation and
    /// plausibility, leaving out infidelity and max-sensitivity, which its --metric takes (README, evaluation.md).
    /// </summary>
    [Fact]
    public void The_command_list_names_every_metric_evaluate_takes()
    {
        var help = CliHarness.Run("--help");
        help.Code.Should().Be(0);
        var evaluate = System.Text.RegularExpressions.Regex.Replace(help.Out, @"\s+", " ");
        evaluate = evaluate[evaluate.IndexOf(" evaluate ", StringComparison.Ordinal)..];
        evaluate = evaluate[..evaluate.IndexOf(" scorecard ", StringComparison.Ordinal)];
        foreach (var metric in new[] { "comprehensiveness", "sufficiency", "leave-one-out correlation", "plausibility", "infidelity", "max-sensitivity" })
        {
            evaluate.Should().Contain(metric);
        }
    }

    /// <summary>
    /// Each command's help names its own default methods (the option is shared, and showed compare's list everywhere);
    /// help wraps long lines, so the check joins them.
    /// </summary>
    [Theory]
    [InlineData("compare", "gradient, gradient-x-input, integrated-gradients, conductance, lime, lrp-epsilon, smoothgrad")]
    [InlineData("scorecard", "gradient, gradient-x-input, integrated-gradients, lrp-epsilon, smoothgrad, gradient-shap, lime, occlusion, kernel-shap")]
    [InlineData("shortcut", "gradient, gradient-x-input, integrated-gradients, conductance, lrp-epsilon, lime, smoothgrad, gradient-shap, occlusion, shapley-sampling, kernel-shap")]
    [InlineData("counterfactual", "gradient-x-input, integrated-gradients, occlusion")]
    public void Each_commands_help_names_its_own_default_methods(string command, string defaults)
    {
        var help = CliHarness.Run(command, "--help");
        help.Code.Should().Be(0);
        System.Text.RegularExpressions.Regex.Replace(help.Out, @"\s+", " ").Should().Contain($"(default: {defaults}");
    }

    [Fact]
    public void A_model_folder_that_does_not_load_is_a_usage_error_naming_model_and_the_file()
    {
        // The folder is the user's input, like a folder that does not exist (exit 2): each damage is made here on a copy
        // of a small random model, and the message must name --model and the file at fault.
        var root = SmallModelKit.TempRoot("attribution-cli-badmodel-");
        try
        {
            var good = SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType, name: "good");
            string Copy(string name, Action<string> damage)
            {
                var dir = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
                foreach (var file in Directory.EnumerateFiles(good))
                {
                    File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
                }

                damage(dir);
                return dir;
            }

            var weights = "model.safetensors";
            var truncated = Copy("truncated", dir => File.WriteAllBytes(Path.Combine(dir, weights), File.ReadAllBytes(Path.Combine(dir, weights))[..4000]));
            var noKey = Copy("no-model-type", dir =>
            {
                var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
                config.Remove("model_type").Should().BeTrue();
                File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            });
            var wrongShape = Copy("wrong-shape", dir =>
            {
                // classifier.weight [labels, features] declared as [features, labels]: same bytes, a shape the model cannot take.
                var bytes = File.ReadAllBytes(Path.Combine(dir, weights));
                var n = (int)BitConverter.ToUInt64(bytes, 0);
                var header = Encoding.UTF8.GetString(bytes, 8, n);
                var swapped = Regex.Replace(header, "(\"classifier\\.weight\":\\{[^}]*\"shape\":\\[)(\\d+),(\\d+)\\]", m => $"{m.Groups[1].Value}{m.Groups[3].Value},{m.Groups[2].Value}]");
                swapped.Should().NotBe(header, "the test must change the shape");
                File.WriteAllBytes(Path.Combine(dir, weights), [.. bytes[..8], .. Encoding.UTF8.GetBytes(swapped), .. bytes[(8 + n)..]]);
            });
            var empty = Directory.CreateDirectory(Path.Combine(root, "empty")).FullName;
            foreach (var (folder, named) in new[]
                     {
                         (truncated, Path.Combine(truncated, weights)), (noKey, Path.Combine(noKey, "config.json")),
                         (wrongShape, "classifier.weight"), (empty, Path.Combine(empty, "config.json")),
                     })
            {
                foreach (var command in new[] { "predict", "explain" })
                {
                    string[] method = command == "explain" ? ["--method", "gradient"] : [];
                    var run = CliHarness.Run([command, "--model", folder, "--text", "a film", .. method]);

                    run.Code.Should().Be(ExitCodes.Usage, run.ToString());
                    run.Error.Should().StartWith("error: --model: cannot load the model:").And.Contain(folder).And.Contain(named);
                    run.Error.Should().NotContain("   at ").And.NotContain("--verbose", "a usage error needs no stack trace");
                }
            }

            var verbose = CliHarness.Run("predict", "--model", truncated, "--text", "a film", "--verbose");
            verbose.Code.Should().Be(ExitCodes.Usage);
            verbose.Error.Should().Contain("   at ", "--verbose shows the stack trace").And.Contain("ModelLoadException", "with the loader's failure inside");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Texts_starting_with_at_are_texts_not_response_files()
    {
        var run = CliHarness.Run("explain", "--text", "@nobody", "--method", "gradient", "--steps", "2");
        run.Code.Should().Be(2);
        run.Error.Should().Contain("--steps", "the text was taken as a text and the usage check ran");
    }

    [Fact]
    public void Input_files_are_lines_or_a_tsv_sentence_column()
    {
        TextInputs.Parse(["a film", "", "  ", "another film\r"], "x").Should().Equal("a film", "another film");
        TextInputs.Parse(["\uFEFFsentence\tlabel", "good\t1", "bad\t0"], "x").Should().Equal("good", "bad");
        TextInputs.Parse(["idx\tSentence", "0\tgood", "1\tbad"], "x").Should().Equal("good", "bad");
        // Tabs in the first line without a 'sentence' column: a TSV whose text column cannot be found, not texts.
        FluentActions.Invoking(() => TextInputs.Parse(["a\tb", "c\td"], "x")).Should().Throw<UsageException>()
            .Which.Message.Should().Contain("--input").And.Contain("'sentence'").And.Contain("'a', 'b'");
        var missing = () => TextInputs.Parse(["label\tsentence", "1"], "f.tsv");
        missing.Should().Throw<UsageException>().Which.Message.Should().Contain("--input").And.Contain("line 2");
    }

    [Fact]
    public void Standard_input_is_read_for_a_dash()
    {
        var context = new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader("one\ntwo\n") };
        TextInputs.Read(["zero"], "-", context).Should().Equal("zero", "one", "two");
    }

    /// <summary>
    /// Attention rollout on a model without attention (the default CNN) was refused with the library's message about
    /// its model argument, naming no option and no other method; it is now a usage error of the option that named it.
    /// </summary>
    [Theory]
    [InlineData("explain", "--method", "attention-rollout")]
    [InlineData("explain", "--method", "grad-attention-rollout")]
    [InlineData("compare", "--methods", "gradient,attention-rollout")]
    public void Attention_rollout_on_a_model_without_attention_names_the_option_and_another_method(string command, string option, string methods)
    {
        var run = CliHarness.Run(command, "--text", "a sometimes tedious film", option, methods);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith($"error: {option}: ").And.Contain("reads attention probabilities from AttentionSoftmax modules")
            .And.Contain("with another method (gradient, integrated-gradients, occlusion");
        run.Out.Should().BeEmpty();
    }

    /// <summary>
    /// Every command's --model help said an ONNX export works, but sanity, counterfactual and demo refuse one (they
    /// need the TorchSharp modules): their help now says so, and the commands that take one still say they do.
    /// </summary>
    [Theory]
    [InlineData("sanity", false)]
    [InlineData("counterfactual", false)]
    [InlineData("demo", false)]
    [InlineData("explain", true)]
    [InlineData("predict", true)]
    [InlineData("compare", true)]
    [InlineData("evaluate", true)]
    [InlineData("scorecard", true)]
    [InlineData("shortcut", true)]
    public void The_model_help_says_whether_the_command_takes_an_onnx_export(string command, bool takesOnnx)
    {
        var help = CliHarness.Run(command, "--help");
        help.Code.Should().Be(0);
        var line = help.Out.Split('\n').Single(l => l.TrimStart().StartsWith("--model", StringComparison.Ordinal));
        if (takesOnnx)
        {
            line.Should().Contain("or an ONNX export with model.onnx");
        }
        else
        {
            line.Should().NotContain("or an ONNX export with model.onnx").And.Contain("not an ONNX export");
        }

        // sanity has no default model: its help does not promise one.
        if (command == "sanity")
        {
            line.Should().Contain("(REQUIRED)").And.NotContain("Default: the demo's model");
        }

        // Nor has shortcut (scoring --input needs the model that learned the shortcut; --train and --demo refuse
        // --model): its help promised the demo's model, and the command answered "error: --model: give the model".
        if (command == "shortcut")
        {
            line.Should().NotContain("Default: the demo's model").And.Contain("--input, which needs it").And.Contain("Not with --train or --demo");
        }
    }

    /// <summary>Standard input was named "-" in messages ("--input: - holds no texts"); it is now "standard input".</summary>
    [Fact]
    public void Messages_about_standard_input_name_it()
    {
        var empty = CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader("\n\n") }, "predict", "--input", "-");
        empty.Code.Should().Be(2, empty.ToString());
        empty.Error.Should().StartWith("error: --input: standard input (--input -) holds no texts");

        var blank = CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader("a good film\n\nbad\n") }, "predict", "--input", "-");
        blank.Code.Should().Be(0, blank.ToString());
        blank.Error.Should().Contain("note: standard input (--input -): 1 blank line(s) skipped (line 2)");
    }
}
