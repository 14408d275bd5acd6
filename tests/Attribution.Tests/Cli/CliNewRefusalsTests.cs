using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Attribution.Cli;
using Attribution.Engine.Loading;
using Attribution.Salience;
using Attribution.Tests.Engine.Loading;

namespace Attribution.Tests.Cli;

/// <summary>
/// The refusals and notes the library gained on 2026-12-05, as the command line shows them: a RoBERTa folder whose
/// config.json pad_token_id is not the tokenizer's, a native cache folder owned by another user or below a folder
/// others may write to, LIME's note on a word without tokens, the conductance layer's default on DistilBERT and
/// RoBERTa, and the help of --layer and --perturbation. A refusal must be one line (two for a runtime failure, the
/// second pointing at --verbose) with the documented exit code and no stack trace; a note must reach every format.
/// </summary>
public sealed class CliNewRefusalsTests
{
    /// <summary>
    /// Checks a clean refusal: the exit code, nothing on standard output, and standard error exactly the message line
    /// (plus, for a runtime failure, the line pointing at --verbose), no stack-trace frame.
    /// </summary>
    private static string CleanRefusal(CliResult run, int code)
    {
        run.Code.Should().Be(code, run.ToString());
        run.Out.Should().BeEmpty(run.ToString());
        run.Error.Should().NotContain("   at ", "no stack trace without --verbose: {0}", run);
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        lines.Should().HaveCount(code == ExitCodes.Failure ? 2 : 1, run.ToString());
        lines[0].Should().StartWith("error: ");
        if (code == ExitCodes.Failure)
        {
            lines[1].Should().Be("(run again with --verbose for the stack trace)");
        }

        return lines[0];
    }

    /// <summary>
    /// shared/models/roberta-random with config.json's pad_token_id set to 0 while its roberta-base tokenizer pads with
    /// &lt;pad&gt; = id 1 (roberta-base's vocab.json, shared/README.md): every command that loads --model refuses it as bad
    /// usage of --model (exit 2), naming both ids; the unedited copy loads.
    /// </summary>
    [SkippableTheory]
    [InlineData("predict")]
    [InlineData("explain", "--method", "gradient")]
    [InlineData("compare", "--methods", "gradient,lime", "--samples", "8")]
    [InlineData("evaluate", "--method", "gradient", "--metric", "comprehensiveness")]
    public void A_roberta_folder_whose_config_pad_id_is_not_the_tokenizer_s_is_a_usage_error_of_model(string command, params string[] rest)
    {
        var source = SharedData.Require("models/roberta-random");
        var root = Directory.CreateTempSubdirectory("attribution-cli-roberta-pad-").FullName;
        try
        {
            var folder = Path.Combine(root, "model");
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.EnumerateFiles(source))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            var good = CliHarness.Run([command, "--model", folder, "--text", "a fine film", .. rest]);
            good.Code.Should().Be(ExitCodes.Ok, "the unedited copy loads: {0}", good);

            var configPath = Path.Combine(folder, "config.json");
            var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
            ((int)config["pad_token_id"]!).Should().Be(1, "the shared model pads with roberta-base's <pad>");
            config["pad_token_id"] = 0;
            File.WriteAllText(configPath, config.ToJsonString());

            var run = CliHarness.Run([command, "--model", folder, "--text", "a fine film", .. rest]);

            CleanRefusal(run, ExitCodes.Usage).Should().StartWith("error: --model: cannot load the model: ")
                .And.Contain($"{configPath} says pad_token_id = 0").And.Contain("pads with id 1").And.Contain("set pad_token_id in config.json");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// A --baseline the model's vocabulary cannot give (mask, for a copy of the tiny BERT whose [MASK] entry is renamed
    /// to an ordinary token and dropped from tokenizer_config.json) was refused with the library's message alone, which
    /// named no option (its parameter, Baseline or Baselines, was not mapped): it now names --baseline, for the path
    /// methods, gradient-shap and compare alike, as a usage error (exit 2) of one line.
    /// </summary>
    [SkippableTheory]
    [InlineData("explain", "--method", "integrated-gradients", "--steps", "4")]
    [InlineData("explain", "--method", "gradient-shap", "--samples", "2")]
    [InlineData("compare", "--methods", "gradient,conductance", "--steps", "4")]
    public void A_baseline_token_the_vocabulary_lacks_is_a_usage_error_of_baseline(string command, params string[] rest)
    {
        var source = CliHarness.TinyBert;
        var root = Directory.CreateTempSubdirectory("attribution-cli-nomask-").FullName;
        try
        {
            var folder = Path.Combine(root, "nomask");
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.EnumerateFiles(source))
            {
                var text = Path.GetExtension(file) is ".json" or ".txt" ? File.ReadAllText(file) : null;
                var target = Path.Combine(folder, Path.GetFileName(file));
                if (text is null)
                {
                    File.Copy(file, target);
                }
                else if (Path.GetFileName(file) == "tokenizer_config.json")
                {
                    var config = JsonNode.Parse(text)!.AsObject();
                    config.Remove("mask_token");
                    File.WriteAllText(target, config.ToJsonString());
                }
                else
                {
                    // Same id, an ordinary token's name: the vocabulary keeps its size, and no token is the mask.
                    File.WriteAllText(target, text.Replace("[MASK]", "maskxq", StringComparison.Ordinal));
                }
            }

            var good = CliHarness.Run([command, "--model", folder, "--text", "a fine film", "--baseline", "pad", .. rest]);
            good.Code.Should().Be(ExitCodes.Ok, "the pad baseline needs no mask token: {0}", good);

            var run = CliHarness.Run([command, "--model", folder, "--text", "a fine film", "--baseline", "mask", .. rest]);

            CleanRefusal(run, ExitCodes.Usage).Should().StartWith("error: --baseline: ").And.Contain("has no mask token, which a mask baseline needs")
                .And.Contain("use the pad or zero baseline");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// LIME on a text with a word of one zero-width space (U+200B, Unicode category Cf, which BERT's basic tokenizer
    /// strips as a control character): the word (characters 2-3) has no token, so it is no feature, and the note naming it reaches the
    /// table, Markdown, HTML and JSON of explain and compare, where the other notes of a result go.
    /// </summary>
    [SkippableTheory]
    [InlineData("explain", "table")]
    [InlineData("explain", "markdown")]
    [InlineData("explain", "html")]
    [InlineData("explain", "json")]
    [InlineData("compare", "table")]
    [InlineData("compare", "markdown")]
    [InlineData("compare", "html")]
    [InlineData("compare", "json")]
    public void Lime_s_note_on_a_word_without_tokens_reaches_every_format(string command, string format)
    {
        string[] method = command == "explain" ? ["--method", "lime"] : ["--methods", "lime,gradient"];
        var run = CliHarness.Run([command, "--model", CliHarness.TinyBert, "--text", "a \u200B fine film", .. method, "--samples", "20", "--format", format]);

        run.Code.Should().Be(ExitCodes.Ok, run.ToString());
        run.Error.Should().NotContain("   at ");
        const string Note = "(text, characters 2-3) has no token in sst2-bert-tiny's encoding";
        if (format == "json")
        {
            using var document = JsonDocument.Parse(run.Out);
            var lime = document.RootElement.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("kind").GetString()!.StartsWith("lime", StringComparison.Ordinal));
            lime.GetProperty("notes").EnumerateArray().Select(n => n.GetString()).Should()
                .ContainSingle(n => n!.StartsWith("'\\u200B' " + Note, StringComparison.Ordinal), run.Out);
        }
        else
        {
            // Markdown escapes punctuation with a backslash and HTML with character references: compare without them.
            var plain = format switch
            {
                "html" => System.Net.WebUtility.HtmlDecode(run.Out),
                "markdown" => Regex.Replace(run.Out, @"\\(?=\p{P})", string.Empty),
                _ => run.Out,
            };
            Regex.Matches(plain, Regex.Escape(Note)).Should().ContainSingle(run.Out);
        }
    }

    /// <summary>
    /// Without --layer, conductance and neuron-conductance attribute to the first encoder layer, by Hugging Face's module
    /// names: distilbert.transformer.layer.0 and roberta.encoder.layer.0 (not BERT's bert.encoder.layer.0, which the
    /// refusal used to suggest whatever the model).
    /// </summary>
    [SkippableTheory]
    [InlineData("distilbert-random", "conductance", "distilbert.transformer.layer.0")]
    [InlineData("roberta-random", "conductance", "roberta.encoder.layer.0")]
    [InlineData("roberta-random", "neuron-conductance", "roberta.encoder.layer.0")]
    public void Conductance_defaults_to_the_model_s_first_encoder_layer(string model, string method, string layer)
    {
        string[] neuron = method == "neuron-conductance" ? ["--neuron", "1,2"] : [];
        var run = CliHarness.Run(["explain", "--model", SharedData.Require($"models/{model}"), "--text", "a fine film", "--method", method,
            "--steps", "4", .. neuron, "--format", "json"]);

        run.Code.Should().Be(ExitCodes.Ok, run.ToString());
        ExplanationJson.Parse(run.Out).Results[0].Setting("layer").Should().Be(layer);
    }

    /// <summary>
    /// The help of explain, compare and evaluate says that neuron-conductance shares conductance's layer default and
    /// what --perturbation remove asks the model about (the text with every word removed).
    /// </summary>
    [Theory]
    [InlineData("explain")]
    [InlineData("compare")]
    [InlineData("evaluate")]
    public void Help_says_the_layer_default_and_what_removal_asks(string command)
    {
        var help = CliHarness.Run(command, "--help");

        help.Code.Should().Be(ExitCodes.Ok);
        var text = Regex.Replace(help.Out, @"\s+", " ");
        text.Should().Contain("conductance and neuron-conductance: the first encoder layer, or the word embeddings when the model has none")
            .And.Contain("removed (the model is then also asked about the text with every word removed: only its special tokens")
            // The small classifiers' tokenizer is BERT's: their coalition of no words is [CLS] [SEP] (RemovedEmptyCoalitionTests), not "none".
            .And.Contain("[CLS] [SEP] for BERT and for the small CNN, LSTM and MLP classifiers")
            .And.NotContain("none for the small");
    }

    /// <summary>
    /// The native cache's ownership checks, through the command line in a child process (the loader runs once per
    /// process): a cache folder owned by another user, and a folder above the cache that others may write to without
    /// the sticky bit, stop every command with one line naming the folder and the fix (exit 1, no stack trace).
    /// </summary>
    [SkippableTheory]
    [InlineData("owned-by-another")]
    [InlineData("open-folder-above")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void An_unsafe_native_cache_stops_the_command_with_one_line(string variant)
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        Skip.If(variant == "owned-by-another" && FolderOwnership.CurrentUser != 0, "giving a folder to another user needs root");
        NativeLibraryFiles.RequireLibrary();
        using var work = new TorchSharpLoaderTests.TempFolder();
        var above = Path.Combine(work.Path, "above");
        var cache = Path.Combine(above, "cache");
        Directory.CreateDirectory(cache);
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        File.SetUnixFileMode(cache, Private);
        string expected;
        if (variant == "owned-by-another")
        {
            File.SetUnixFileMode(above, Private);
            using var chown = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("chown", ["54321", cache]))!;
            chown.WaitForExit();
            chown.ExitCode.Should().Be(0);
            expected = $"the native cache folder {cache} is owned by user 54321, not by this process's user 0";
        }
        else
        {
            File.SetUnixFileMode(above, Private | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
            expected = $"the folder {above}, above the native cache folder {cache}, is writable by other users";
        }

        // force: the patched path, which the default takes on an old libstdc++, on any system.
        var run = TorchSharpLoaderTests.Engine(TorchSharpLoaderTests.TestOutput, work, cache, "force", new Dictionary<string, string>(),
            "predict", "--model", CliHarness.TinyBert, "--text", "a fine film");

        CleanRefusal(run, ExitCodes.Failure).Should().StartWith("error: TorchSharp cannot be loaded: ").And.Contain(expected)
            .And.Contain("ATTRIBUTION_NATIVE_CACHE");
        Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Should().BeEmpty("nothing is written into an unsafe folder");
    }
}
