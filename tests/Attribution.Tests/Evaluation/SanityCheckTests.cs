using Attribution.Engine;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Models.Small;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// Sanity checks (cascading and independent parameter randomization): step order, the caller's model untouched,
/// exactly the randomized module changed, similarities recomputed from the explanations, saved folders reproducing
/// the randomized model, typed errors.
/// </summary>
public sealed class SanityCheckTests : IDisposable
{
    private static readonly string[] Texts = ["a sometimes tedious film", "i loved this movie"];
    private readonly string root = SmallModelKit.TempRoot("sanity-");

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData(SmallClassifierConfig.CnnType, new[] { "classifier", "convs.2", "convs.1", "convs.0", "embeddings" })]
    [InlineData(SmallClassifierConfig.LstmType, new[] { "classifier", "lstm", "embeddings" })]
    [InlineData(SmallClassifierConfig.MlpType, new[] { "classifier", "hidden", "embeddings" })]
    public void Default_order_of_the_small_classifiers_runs_from_output_to_input(string type, string[] expected)
    {
        using var model = ClassifierLoader.Load(SmallModelKit.SaveRandom(root, type));
        SanityCheck.DefaultOrder(model).Should().Equal(expected);
    }

    [SkippableTheory]
    [InlineData("models/sst2-bert-tiny", new[] { "classifier", "bert.pooler", "bert.encoder.layer.1", "bert.encoder.layer.0", "bert.embeddings" })]
    [InlineData("models/distilbert-random", new[] { "classifier", "pre_classifier", "distilbert.transformer.layer.1", "distilbert.transformer.layer.0", "distilbert.embeddings" })]
    [InlineData("models/roberta-random", new[] { "classifier", "roberta.encoder.layer.1", "roberta.encoder.layer.0", "roberta.embeddings" })]
    public void Default_order_of_the_transformers_runs_from_output_to_input(string folder, string[] expected)
    {
        var path = SharedData.Require(folder);
        using var model = ClassifierLoader.Load(path);
        SanityCheck.DefaultOrder(model).Should().Equal(expected);

        // The saved folders of every architecture load back (RoBERTa has no pooler, DistilBERT no token types).
        var saved = Path.Combine(root, "saved");
        var result = SanityCheck.Run(model, path, new Gradient(), [Texts[0]], new SanityOptions { Seed = 2, SaveRandomizedDirectory = saved });
        using var replay = ClassifierLoader.Load(path);
        foreach (var step in result.Steps)
        {
            SanityCheck.Randomize(replay.Module.Submodule(step.Layer), step.Layer, 2 + (ulong)step.Index);
        }

        using var last = ClassifierLoader.Load(result.Steps[^1].SavedTo!);
        Logits(last).Should().Equal(Logits(replay));
    }

    [Fact]
    public void Cascading_run_on_a_small_model_leaves_the_callers_model_alone_and_its_saved_folders_reproduce_each_step()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType);
        using var model = ClassifierLoader.Load(folder);
        var before = Logits(model);
        var saved = Path.Combine(root, "randomized");
        var ig = new IntegratedGradients { Steps = 8 };

        var result = SanityCheck.Run(model, folder, ig, SmallModelKit.Texts[..3], new SanityOptions { Seed = 5, SaveRandomizedDirectory = saved });

        // The caller's model: same outputs, same weights as its folder.
        Logits(model).Should().Equal(before);
        using (var fresh = ClassifierLoader.Load(folder))
        {
            SanityCheck.SameWeights(model.Module, fresh.Module).Should().BeTrue();
        }

        result.Steps.Select(s => s.Layer).Should().Equal("classifier", "convs.2", "convs.1", "convs.0", "embeddings");
        result.Steps.Select(s => s.Index).Should().Equal(0, 1, 2, 3, 4);
        Directory.GetDirectories(saved).Select(Path.GetFileName).Order(StringComparer.Ordinal).Should()
            .Equal("00-classifier", "01-convs.2", "02-convs.1", "03-convs.0", "04-embeddings");
        CheckSimilarities(result);
        result.Steps.Should().AllSatisfy(s => s.Variants.Select(v => v.Variant).Should().Equal(SanityVariant.Global, SanityVariant.Local));

        // Every saved folder loads and gives the logits of the original with steps 0..k re-initialized here.
        using var replay = ClassifierLoader.Load(folder);
        foreach (var step in result.Steps)
        {
            SanityCheck.Randomize(replay.Module.Submodule(step.Layer), step.Layer, 5 + (ulong)step.Index);
            using var loaded = ClassifierLoader.Load(step.SavedTo!);
            Logits(loaded).Should().Equal(Logits(replay), step.Layer);
            Logits(loaded).Should().NotEqual(before);
        }
    }

    /// <summary>
    /// A randomized copy whose writing fails midway (here a file of the source folder that cannot be copied: a symbolic
    /// link to nothing) used to leave its folder with the files copied so far, config.json among them, which a later
    /// run took for a model. Now the files are staged and moved in once all are written: no step folder appears and no
    /// staging folder is left.
    /// </summary>
    [SkippableFact]
    public void A_randomized_copy_that_fails_midway_leaves_no_half_folder()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.MlpType);
        try
        {
            File.CreateSymbolicLink(Path.Combine(folder, "notes.md"), Path.Combine(root, "no-such-file"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Skip.If(true, $"symbolic links cannot be made here: {e.Message}");
        }

        using var model = ClassifierLoader.Load(folder);
        var saved = Path.Combine(root, "randomized");

        var act = () => SanityCheck.Run(model, folder, new Gradient(), [Texts[0]], new SanityOptions { Seed = 5, SaveRandomizedDirectory = saved });

        act.Should().Throw<IOException>();
        Directory.GetFileSystemEntries(saved).Should().BeEmpty("neither a half-written step folder nor a staging folder may remain");
    }

    [Fact]
    public void A_step_that_randomizes_nothing_keeps_the_explanations_and_independent_steps_do_not_accumulate()
    {
        // activation (ReLU, no parameters) after classifier, independently: its step starts from a fresh copy, so the
        // classifier's randomization is gone and the explanations are the original's (a cascading step would keep it).
        // It listed activation twice (before and after classifier); a layer given twice is now refused.
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType);
        using var model = ClassifierLoader.Load(folder);
        var options = new SanityOptions { Mode = RandomizationMode.Independent, Layers = ["classifier", "activation"] };

        var result = SanityCheck.Run(model, folder, new GradientXInput(), SmallModelKit.Texts[1..4], options);

        result.Steps.Select(s => s.Layer).Should().Equal("classifier", "activation");
        result.Steps[1].Parameters.Should().BeEmpty();
        var variant = result.Steps[1].Variants.Single();
        variant.Variant.Should().Be(SanityVariant.Global);
        variant.Texts.Should().AllSatisfy(t => t.Cosine.Should().BeApproximately(1, 1e-12));
        variant.Texts.Should().AllSatisfy(t => t.Spearman.Should().BeApproximately(1, 1e-12));
        variant.Randomized.Select(e => e.Scores).Should().BeEquivalentTo(variant.Original.Select(e => e.Scores), o => o.WithStrictOrdering());

        result.Steps[0].Parameters.Should().Equal("classifier.weight", "classifier.bias");
        result.Steps[0].Variants[0].CosineMedian.Should().BeLessThan(0.999);
        CheckSimilarities(result);
    }

    [Fact]
    public void Randomizing_a_module_changes_exactly_its_parameters_within_the_bounds()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.CnnType);
        var before = Snapshot(model.Module);

        var names = SanityCheck.Randomize(model.Module.Submodule("convs.1"), "convs.1", 3);

        names.Should().Equal("convs.1.weight", "convs.1.bias");
        var after = Snapshot(model.Module);
        foreach (var (name, values) in before)
        {
            if (names.Contains(name))
            {
                after[name].Should().NotEqual(values, name);
            }
            else
            {
                after[name].Should().Equal(values, name);
            }
        }

        var weight = model.Module.Submodule("convs.1").named_parameters().First().parameter;
        var bound = Math.Sqrt(6.0 / ((weight.size(0) + weight.size(1)) * weight.size(2)));
        after["convs.1.weight"].Max(x => (double)Math.Abs(x)).Should().BeLessThanOrEqualTo(bound);
        after["convs.1.bias"].Max(x => (double)Math.Abs(x)).Should().BeLessThanOrEqualTo(SanityCheck.VectorBound);

        // Seeded: the same seed draws the same weights.
        using var other = SmallModelKit.Random(root, SmallClassifierConfig.CnnType);
        SanityCheck.Randomize(other.Module.Submodule("convs.1"), "convs.1", 3);
        Snapshot(other.Module)["convs.1.weight"].Should().Equal(after["convs.1.weight"]);
    }

    [Fact]
    public void Local_integrated_gradients_drop_the_input_factor_and_the_delta()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var global = new IntegratedGradients { Steps = 8 };
        var local = global.WithMultiplyByInputs(false);
        var options = new ExplainOptions { KeepRawAttributions = true };

        var g = global.Explain(model, Texts[0], options);
        var l = local.Explain(model, Texts[0], options);

        global.MultiplyByInputs.Should().BeTrue();
        local.MultiplyByInputs.Should().BeFalse();
        local.Steps.Should().Be(8);
        local.Settings.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", "false"));
        global.Settings.Select(kv => kv.Key).Should().NotContain("multiply-by-inputs");
        g.ConvergenceDelta.Should().NotBeNull();
        l.ConvergenceDelta.Should().BeNull();
        l.Scores.Should().NotEqual(g.Scores);

        // Global = local × (x − x′), per dimension: the pad baseline's embedding row is zero in this model.
        var embedding = model.Module.Submodule(model.WordEmbeddingPath).named_parameters().First().parameter;
        for (var t = 0; t < g.TokenIds.Length; t++)
        {
            using var row = embedding[g.TokenIds[t]];
            using var pad = embedding[model.Tokenizer.PadId];
            var x = row.data<float>().ToArray();
            var x0 = pad.data<float>().ToArray();
            for (var d = 0; d < x.Length; d++)
            {
                ((double)g.RawAttributions![t][d]).Should().BeApproximately(l.RawAttributions![t][d] * (x[d] - x0[d]), 1e-5);
            }
        }
    }

    [SkippableFact]
    public void Cascading_run_on_sst2_bert_tiny()
    {
        var folder = SharedData.Require("models/sst2-bert-tiny");
        using var model = ClassifierLoader.Load(folder);
        var before = Logits(model);
        var saved = Path.Combine(root, "bert");

        var result = SanityCheck.Run(model, folder, new IntegratedGradients { Steps = 8 }, Texts, new SanityOptions { Seed = 1, SaveRandomizedDirectory = saved });

        Logits(model).Should().Equal(before);
        result.Steps.Select(s => s.Layer).Should().Equal("classifier", "bert.pooler", "bert.encoder.layer.1", "bert.encoder.layer.0", "bert.embeddings");
        CheckSimilarities(result);
        result.Steps.Should().AllSatisfy(s => s.Variants.Should().AllSatisfy(v => double.IsFinite(v.CosineMedian).Should().BeTrue()));

        using var replay = ClassifierLoader.Load(folder);
        foreach (var step in result.Steps.Take(3))
        {
            SanityCheck.Randomize(replay.Module.Submodule(step.Layer), step.Layer, 1 + (ulong)step.Index);
        }

        using var loaded = ClassifierLoader.Load(result.Steps[2].SavedTo!);
        Logits(loaded).Should().Equal(Logits(replay));
    }

    /// <summary>
    /// At a transformer's word embeddings, which feed a LayerNorm (whose input gradients sum to zero over the hidden
    /// dimension), the path-averaged gradients' signed sum per token is rounding noise next to their size; the local
    /// variant's maps are therefore each token's L2 norm of them, computed here from the raw attributions.
    /// </summary>
    [SkippableFact]
    public void Local_maps_are_l2_norms_because_signed_sums_vanish_ahead_of_a_layer_norm()
    {
        var folder = SharedData.Require("models/sst2-bert-tiny");
        using var model = ClassifierLoader.Load(folder);
        var raw = new ExplainOptions { KeepRawAttributions = true };
        var local = new IntegratedGradients { Steps = 8, MultiplyByInputs = false }.Explain(model, Texts[0], raw);
        for (var t = 0; t < local.Tokens.Length; t++)
        {
            var row = local.RawAttributions![t];
            var norm = Math.Sqrt(row.Sum(v => (double)v * v));
            norm.Should().BeGreaterThan(0);
            Math.Abs(row.Sum(v => (double)v)).Should().BeLessThan(1e-4 * norm, $"token {local.Tokens[t]}: a LayerNorm's input gradients sum to zero");
        }

        var result = SanityCheck.Run(model, folder, new IntegratedGradients { Steps = 8 }, [Texts[0]],
            new SanityOptions { Seed = 1, Layers = ["classifier"], Variants = [SanityVariant.Local] });
        var original = result.Steps[0].Variants.Single().Original[0];
        original.Reduction.Should().Be(ScoreReduction.L2);
        // 1e-5 relative: the same float32 gradients, reduced in another order.
        original.Scores.Should().Equal(local.RawAttributions!.Select(row => Math.Sqrt(row.Sum(v => (double)v * v))).ToArray(),
            (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b));
    }

    [Fact]
    public void Bad_input_throws_typed_errors()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
        using var model = ClassifierLoader.Load(folder);

        var unknown = () => SanityCheck.Run(model, folder, new Gradient(), Texts, new SanityOptions { Layers = ["encoder.layer.9"] });
        unknown.Should().Throw<ArgumentException>().Where(e => e.ParamName == "options" && e.Message.Contains("encoder.layer.9"));

        var local = () => SanityCheck.Run(model, folder, new Gradient(), Texts, new SanityOptions { Variants = [SanityVariant.Local] });
        local.Should().Throw<ArgumentException>().Where(e => e.ParamName == "options" && e.Message.Contains("integrated-gradients"));

        var otherFolder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType, seed: 8);
        var mismatch = () => SanityCheck.Run(model, otherFolder, new Gradient(), Texts);
        mismatch.Should().Throw<ArgumentException>().Where(e => e.ParamName == "modelDirectory");

        var empty = () => SanityCheck.Run(model, folder, new Gradient(), []);
        empty.Should().Throw<ArgumentException>().Where(e => e.ParamName == "texts");

        // The other refusals the exception doc lists, all before any explanation.
        FluentActions.Invoking(() => SanityCheck.Run(model, folder, new Gradient(), Texts, new SanityOptions { Variants = [] }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "options").WithMessage("give each variant once, at least one*");
        FluentActions.Invoking(() => SanityCheck.Run(model, folder, new Gradient(), Texts, new SanityOptions { Variants = [SanityVariant.Global, SanityVariant.Global] }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "options").WithMessage("give each variant once, at least one*");
        FluentActions.Invoking(() => SanityCheck.Run(model, folder, new Gradient(), Texts, new SanityOptions { Layers = [] }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "options").WithMessage("no layer to randomize*");
        FluentActions.Invoking(() => SanityCheck.Run(model, folder, new Gradient(), Texts,
                new SanityOptions { Mode = RandomizationMode.Independent, SaveRandomizedDirectory = Path.Combine(root, "saved") }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "options").WithMessage("saving the randomized models is for the cascading mode*");
        FluentActions.Invoking(() => SanityCheck.Run(model, "", new Gradient(), Texts)).Should().Throw<ArgumentException>().Where(e => e.ParamName == "modelDirectory");
    }

    /// <summary>
    /// A layer listed twice ran as two steps (the second redrawing the same module with the next seed), reported as if
    /// two modules had been randomized; it is refused naming options.Layers, the layer and both 0-based positions.
    /// </summary>
    [Fact]
    public void A_layer_given_twice_is_refused_naming_the_layer_and_its_two_positions()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType);
        using var model = ClassifierLoader.Load(folder);
        var layers = new[] { "classifier", "convs.1", "embeddings", "convs.1" };

        var run = () => SanityCheck.Run(model, folder, new Gradient(), Texts, new SanityOptions { Layers = layers });

        run.Should().Throw<ArgumentException>().Where(e => e.ParamName == "options")
            .WithMessage("options.Layers holds 'convs.1' twice, at positions 1 and 3 (0-based): give each module once*");
    }

    [Fact]
    public void Spearman_is_reported_signed_and_of_absolute_values()
    {
        // A sign flip that keeps every magnitude: signed ρ = −1, but the importance ranking is unchanged (ρ of |.| = 1).
        var flipped = SanityCheck.Similarity("t", [1, -2, 3, -4], [-1, 2, -3, 4]);
        flipped.Spearman.Should().Be(-1);
        flipped.SpearmanAbsolute.Should().Be(1);

        // No ties: ρ = 1 − 6Σd² / (n(n² − 1)), n = 3. Signed ranks (2, 1, 3) against (3, 2, 1): Σd² = 6, ρ = −1/2.
        // Absolute values (0.5, 1, 2) and (1, 0.2, 3), ranks (1, 2, 3) against (2, 1, 3): Σd² = 2, ρ = 1/2.
        // 1e-12: exact fractions, off only by rounding.
        var mixed = SanityCheck.Similarity("t", [0.5, -1, 2], [1, 0.2, -3]);
        mixed.Spearman.Should().BeApproximately(-0.5, 1e-12);
        mixed.SpearmanAbsolute.Should().BeApproximately(0.5, 1e-12);

        // Constant magnitudes have no order: NaN, left out of the medians.
        SanityCheck.Similarity("t", [1, -1, 1], [0.1, 0.2, 0.3]).SpearmanAbsolute.Should().Be(double.NaN);
    }

    /// <summary>Every per-text cosine and Spearman recomputed here from the two explanations; medians from those.</summary>
    private static void CheckSimilarities(SanityResult result)
    {
        foreach (var step in result.Steps)
        {
            foreach (var variant in step.Variants)
            {
                var cosines = new List<double>();
                var spearmans = new List<double>();
                var absolutes = new List<double>();
                for (var i = 0; i < variant.Texts.Count; i++)
                {
                    var a = variant.Original[i].Scores;
                    var b = variant.Randomized[i].Scores;
                    variant.Randomized[i].Target.Should().Be(variant.Original[i].Target);
                    var cosine = a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(y => y * y));
                    var spearman = MethodAgreement.Spearman(a, b);
                    variant.Texts[i].Cosine.Should().BeApproximately(cosine, 1e-9);
                    variant.Texts[i].Spearman.Should().Be(spearman);
                    var absolute = MethodAgreement.Spearman(a.Select(Math.Abs).ToArray(), b.Select(Math.Abs).ToArray());
                    variant.Texts[i].SpearmanAbsolute.Should().Be(absolute);
                    cosines.Add(cosine);
                    spearmans.Add(spearman);
                    absolutes.Add(absolute);
                }

                variant.CosineMedian.Should().BeApproximately(Median(cosines), 1e-9);
                variant.SpearmanMedian.Should().Be(Median(spearmans));
                variant.SpearmanAbsoluteMedian.Should().Be(Median(absolutes));
            }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double[] Logits(TextClassifier model) => model.Predict(SmallModelKit.Texts).SelectMany(p => p.Logits).ToArray();

    private static Dictionary<string, float[]> Snapshot(nn.Module module)
    {
        var result = new Dictionary<string, float[]>();
        foreach (var (name, tensor) in module.state_dict())
        {
            if (tensor.dtype == ScalarType.Float32)
            {
                result[name] = tensor.data<float>().ToArray();
            }
        }

        return result;
    }

    [SkippableFact]
    public void Sentence_pairs_stay_with_their_texts_when_the_targets_differ()
    {
        // bert-pair-random predicts class 0 for every pair (its bias dominates). Raising class 1's bias by the median
        // margin logit0 − logit1 over the candidates makes about half of them class 1, so texts get different targets
        // and are explained in groups.
        var source = SharedData.Require("models/bert-pair-random");
        var folder = Path.Combine(root, "pair-split");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        string[] candidates = ["a", "b", "good film", "dull plot", "it rains", "terrible", "wonderful", "the cat sat", "yes", "no"];
        string[] seconds = ["x", "we stay in", "on the mat", "no", "fine", "bad", "great", "z", "maybe", "never"];
        using (var original = ClassifierLoader.Load(source))
        {
            var margins = new GradientXInput().Explain(original, candidates, new ExplainOptions { Pairs = seconds })
                .Select(e => e.Logits[0] - e.Logits[1]).Order().ToArray();
            var shift = (margins[(margins.Length / 2) - 1] + margins[margins.Length / 2]) / 2;
            using (no_grad())
            {
                var bias = original.Module.named_parameters().Single(p => p.name == "classifier.bias").parameter;
                bias[1] = bias[1].Plus(shift);
            }

            SafeTensors.Save(Path.Combine(folder, "model.safetensors"), original.Module.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        }

        using var model = ClassifierLoader.Load(folder);
        var targets = new GradientXInput().Explain(model, candidates, new ExplainOptions { Pairs = seconds }).Select(e => e.Target).ToArray();
        var other = Array.FindIndex(targets, t => t != targets[0]);
        other.Should().BePositive("the test needs two pairs with different predicted classes");
        string[] texts = [candidates[0], candidates[other]];
        string[] pairs = [seconds[0], seconds[other]];

        var result = SanityCheck.Run(model, folder, new GradientXInput(), texts,
            new SanityOptions { Layers = ["classifier"], Explain = new ExplainOptions { Pairs = pairs } });
        var randomized = result.Steps[0].Variants[0].Randomized;
        randomized.Select(e => e.TextPair).Should().Equal(pairs);
        randomized.Select(e => e.Target).Should().Equal(targets[0], targets[other]);
    }

    [Fact]
    public void Cosine_is_the_textbook_definition_and_refuses_vectors_of_different_lengths()
    {
        // (1, 2, 2) · (2, 0, 1) = 4; norms 3 and √5. Tolerance 1e-15: three products, two square roots.
        SanityCheck.Cosine([1, 2, 2], [2, 0, 1]).Should().BeApproximately(4 / (3 * Math.Sqrt(5)), 1e-15);
        SanityCheck.Cosine([0, 0], [1, 2]).Should().Be(double.NaN, "a zero vector has no direction");

        // Scores of different tokens: the NaN it returned said nothing of the mismatch (Spearman refuses them).
        FluentActions.Invoking(() => SanityCheck.Cosine([1, 2, 3], [1, 2])).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "b").WithMessage("the score vectors have 3 and 2 values*");
    }

    [Fact]
    public void Cosine_of_huge_and_tiny_scores_is_their_direction_s_not_NaN()
    {
        // Cosine ignores a positive scale, so (1, 2, 2)·s and (2, 0, 1)·t have the cosine of the test above,
        // 4 / (3√5), for any s, t > 0. With s = t = 1e200 the squares (1e400) overflowed to ∞ and ∞ / ∞ gave NaN; with
        // 1e-200 they (1e-400) underflowed to 0 and the vectors read as zero. Tolerance 1e-15 as above: the scaling
        // divides by the largest magnitude (2e200 = 2 · 1e200 exactly, so the scaled values are 0.5, 1, 1 exactly).
        var expected = 4 / (3 * Math.Sqrt(5));
        SanityCheck.Cosine([1e200, 2e200, 2e200], [2e200, 0, 1e200]).Should().BeApproximately(expected, 1e-15);
        SanityCheck.Cosine([1e-200, 2e-200, 2e-200], [2e-200, 0, 1e-200]).Should().BeApproximately(expected, 1e-15);
        SanityCheck.Cosine([1e300, 2e300, 2e300], [2e-300, 0, 1e-300]).Should().BeApproximately(expected, 1e-15);

        // (1e200, 1) · (1, 1e200) = 2e200, both norms √(1e400 + 1), so the cosine is 2e200 / (1e400 + 1) = 2e-200 to
        // double precision (the 1 is 1e-400 of the norm's square). Relative tolerance 1e-15.
        SanityCheck.Cosine([1e200, 1], [1, 1e200]).Should().BeApproximately(2e-200, 2e-215);

        // Opposite directions stay −1; a non-finite score still gives no cosine.
        SanityCheck.Cosine([-3e250, 4e250], [3e250, -4e250]).Should().BeApproximately(-1, 1e-15);
        SanityCheck.Cosine([double.PositiveInfinity, 1], [1, 1]).Should().Be(double.NaN);
        SanityCheck.Cosine([double.NaN, 1], [1, 1]).Should().Be(double.NaN);
    }

    [Fact]
    public void The_median_of_huge_finite_values_is_finite()
    {
        // The median of the finite values: 1e308 and 1.6e308 summed to ∞, and ∞ / 2 was the median of two finite values.
        // Expected by hand, 1.3e308; relative tolerance 1e-15 (each half is exact, one rounding in the sum).
        SanityCheck.Median([1.6e308, 1e308]).Should().BeApproximately(1.3e308, 1.3e293);
        SanityCheck.Median([-1e308, -1.6e308, double.NaN]).Should().BeApproximately(-1.3e308, 1.3e293);

        // Small values keep the exact (a + b) / 2: halving ε first would round it to 0.
        SanityCheck.Median([double.Epsilon, double.Epsilon]).Should().Be(double.Epsilon);
        SanityCheck.Median([1, 2, 4, 8]).Should().Be(3);
    }
}
