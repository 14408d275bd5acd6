using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Salience;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>Batching, padding, internal batch sizes, completeness, leaks and errors of the gradient attributors on sst2-bert-tiny.</summary>
public sealed class AttributorPipelineTests(SstBertTinyFixture fixture, ITestOutputHelper output) : IClassFixture<SstBertTinyFixture>
{
    private static readonly ExplainOptions AllTokens = new() { Salience = new SalienceOptions { KeepSpecialTokens = true } };

    public static TheoryData<string> Methods() => new() { "gradient", "gradient-x-input", "integrated-gradients", "conductance" };

    internal static IAttributor Create(string name) => name switch
    {
        "gradient" => new Gradient(),
        "gradient-x-input" => new GradientXInput(),
        "integrated-gradients" => new IntegratedGradients { Steps = 16 },
        "conductance" => new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 16 },
        _ => throw new ArgumentException(name),
    };

    /// <summary>
    /// 64 dev sentences of mixed length in padded batches of 16 give the same scores as one at a time. Tolerance
    /// 1e-5 relative L2: padding is masked with −10000 before softmax (exactly zero weight in float32), so only
    /// the order of floating-point sums inside the batched matrix products differs.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void Batched_results_equal_one_at_a_time(string method)
    {
        var texts = Sst2Dev.Load().Take(64).Select(s => s.Sentence).ToArray();
        texts.Select(t => t.Length).Distinct().Count().Should().BeGreaterThan(30, "the sentences have mixed lengths");
        var attributor = Create(method);
        var batched = attributor.Explain(fixture.Model, texts, AllTokens with { BatchSize = 16 });
        var single = attributor.Explain(fixture.Model, texts, AllTokens with { BatchSize = 1 });
        for (var i = 0; i < texts.Length; i++)
        {
            batched[i].Text.Should().Be(texts[i]);
            batched[i].Tokens.Should().Equal(single[i].Tokens);
            Golden.RelativeL2(batched[i].Scores, single[i].Scores).Should().BeLessThan(1e-5, $"text {i}");
            if (single[i].ConvergenceDelta is { } delta)
            {
                batched[i].ConvergenceDelta!.Value.Should().BeApproximately(delta, 1e-5);
            }
        }
    }

    /// <summary>Padded positions of a batch receive exactly zero, whatever the method computed there.</summary>
    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void Padded_positions_get_exactly_zero(string method)
    {
        var texts = new[] { "a film", "a sometimes tedious film that never quite finds its footing" };
        using var scope = torch.NewDisposeScope();
        var batch = fixture.Model.Encode(texts);
        var context = new AttributionContext(fixture.Model, batch, AllTokens);
        var (scores, _, _) = ((TextAttributor)Create(method)).ScoreBatch(context);
        batch.Lengths[0].Should().BeLessThan(batch.Lengths[1]);
        scores[0][batch.Lengths[0]..].Should().OnlyContain(s => s == 0.0);
        scores[0][..batch.Lengths[0]].Should().Contain(s => s != 0.0);
    }

    /// <summary>
    /// Internal batch sizes 1, 7 and 50 give the same IG: steps are accumulated one by one in order whatever the
    /// split, so only matrix-product blocking differs between pass sizes (tolerance 1e-6 relative L2).
    /// </summary>
    [SkippableFact]
    public void Internal_batch_size_does_not_change_integrated_gradients()
    {
        var texts = Sst2Dev.Load().Skip(100).Take(3).Select(s => s.Sentence).ToArray();
        var reference = new IntegratedGradients { InternalBatchSize = 50 }.Explain(fixture.Model, texts, AllTokens);
        foreach (var size in new[] { 1, 7 })
        {
            var other = new IntegratedGradients { InternalBatchSize = size }.Explain(fixture.Model, texts, AllTokens);
            for (var i = 0; i < texts.Length; i++)
            {
                Golden.RelativeL2(other[i].Scores, reference[i].Scores).Should().BeLessThan(1e-6, $"internal batch size {size}, text {i}");
                other[i].ConvergenceDelta!.Value.Should().BeApproximately(reference[i].ConvergenceDelta!.Value, 1e-6);
            }
        }
    }

    /// <summary>
    /// IG completeness at the defaults (Gauss–Legendre, 50 steps, [CLS] [PAD]… [SEP]) on every SST-2 dev sentence:
    /// |delta| ≤ 1% of |F(x) − F(baseline)| on at least 95% of them. F(x) − F(baseline) = Σ scores − delta.
    /// </summary>
    [SkippableFact]
    public void Integrated_gradients_is_complete_on_the_dev_set()
    {
        var texts = Sst2Dev.Load().Select(s => s.Sentence).ToArray();
        var results = new IntegratedGradients().Explain(fixture.Model, texts, AllTokens with { BatchSize = 32 });
        var ratios = results.Select(r =>
        {
            var delta = r.ConvergenceDelta!.Value;
            var change = r.Scores.Sum() - delta;
            return Math.Abs(delta) / Math.Max(Math.Abs(change), 1e-12);
        }).OrderBy(x => x).ToArray();
        double Percentile(double p) => ratios[(int)Math.Min(ratios.Length - 1, Math.Floor(p * ratios.Length))];
        output.WriteLine($"IG |delta| / |F(x) - F(b)| over {ratios.Length} dev sentences: median {Percentile(0.5):E2}, p90 {Percentile(0.9):E2}, p95 {Percentile(0.95):E2}, p99 {Percentile(0.99):E2}, max {ratios[^1]:E2}; share within 1%: {ratios.Count(r => r <= 0.01) / (double)ratios.Length:P2}");
        ratios.Count(r => r <= 0.01).Should().BeGreaterThanOrEqualTo((int)Math.Ceiling(0.95 * ratios.Length));
    }

    [SkippableFact]
    public void Gradient_and_gradient_x_input_share_one_pass_and_agree_with_separate_runs()
    {
        var texts = new[] { "a sometimes tedious film", "a gorgeous , witty , seductive movie ." };
        var both = Explainer.ExplainAll(fixture.Model, texts, [new Gradient(), new GradientXInput()], AllTokens);
        var gradient = new Gradient().Explain(fixture.Model, texts, AllTokens);
        var gxi = new GradientXInput().Explain(fixture.Model, texts, AllTokens);
        for (var i = 0; i < texts.Length; i++)
        {
            both[0][i].Scores.Should().Equal(gradient[i].Scores);
            both[1][i].Scores.Should().Equal(gxi[i].Scores);
        }
    }

    /// <summary>Words group WordPiece tokens by offsets; word scores are the chosen reduction of their tokens.</summary>
    [SkippableFact]
    public void Word_scores_aggregate_their_subword_tokens()
    {
        const string text = "An unbelievably overwrought, easygoing blend";
        foreach (var aggregation in Enum.GetValues<WordAggregation>())
        {
            var e = new IntegratedGradients { Steps = 8 }.Explain(fixture.Model, text, new ExplainOptions
            {
                Salience = new SalienceOptions { WordAggregation = aggregation },
            });
            e.Tokens.Should().NotContain("[CLS]").And.NotContain("[SEP]");
            e.Words.Select(w => w.Text).Should().Equal("An", "unbelievably", "overwrought,", "easygoing", "blend");
            e.Words.Should().Contain(w => w.TokenIndices.Length > 1, "some words split into several WordPiece tokens");
            foreach (var word in e.Words)
            {
                var tokens = word.TokenIndices.Select(i => e.Scores[i]).ToArray();
                word.Score.Should().BeApproximately(SalienceLayer.Aggregate(tokens, aggregation), 1e-12);
                foreach (var i in word.TokenIndices)
                {
                    var (start, end) = e.Offsets[i]!.Value;
                    start.Should().BeGreaterThanOrEqualTo(word.Start);
                    end.Should().BeLessThanOrEqualTo(word.End);
                    text[start..end].ToLowerInvariant().Should().Be(e.Tokens[i].Replace("##", string.Empty, StringComparison.Ordinal));
                }
            }
        }
    }

    /// <summary>
    /// Gradients alone at BERT's word embeddings, which feed a LayerNorm, sum to zero over the hidden dimension: a signed
    /// sum of them is rounding noise, and the explanation says so. Gradient × Input's sums are real scores.
    /// </summary>
    [SkippableFact]
    public void A_signed_sum_of_gradients_that_cancels_is_noted()
    {
        var model = fixture.Model;
        string[] texts = ["a gripping and moving film", "dull"];
        var raw = new ExplainOptions { KeepRawAttributions = true };
        foreach (var e in new Gradient { Reduce = HiddenReduction.Sum }.Explain(model, texts, raw))
        {
            // The premise, from the raw per-dimension gradients: every token's sum is below 1e-4 of its norm.
            e.RawAttributions!.Should().OnlyContain(row => Math.Abs(row.Sum(v => (double)v)) <= 1e-4 * Math.Sqrt(row.Sum(v => (double)v * v)));
            e.Notes.Should().Contain(n => n.StartsWith("the signed sum over the hidden dimension cancels for every token", StringComparison.Ordinal));
        }

        new IntegratedGradients { Steps = 8, MultiplyByInputs = false }.Explain(model, texts[0]).Notes
            .Should().Contain(n => n.StartsWith("the signed sum over the hidden dimension cancels", StringComparison.Ordinal));
        new GradientXInput().Explain(model, texts).Should().AllSatisfy(e => e.Notes.Should().NotContain(n => n.Contains("cancels for every token", StringComparison.Ordinal)));
        new Gradient().Explain(model, texts).Should().AllSatisfy(e => e.Notes.Should().NotContain(n => n.Contains("cancels for every token", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void Bad_input_gives_clear_typed_errors()
    {
        var model = fixture.Model;
        var act = () => new Gradient().Explain(model, "a film", new ExplainOptions { Target = Target.Class(5) });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*target class 5 is out of range*2 classes*");
        act = () => new Gradient().Explain(model, "a film", new ExplainOptions { Target = Target.Named("neutral") });
        act.Should().Throw<ArgumentException>().WithMessage("*unknown target label 'neutral'*negative, positive*");
        new Gradient().Explain(model, "a film", new ExplainOptions { Target = Target.Named("negative") }).Target.Should().Be(0);
        act = () => new Gradient { Layer = "bert.encoder.layers.0" }.Explain(model, "a film");
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "Layer", "the setting that is wrong is named")
            .WithMessage("*no submodule 'bert.encoder.layers.0'*bert.encoder.layer.0*");
        act = () => new LayerConductance { Layer = "bert.encoder.layer.0", InputLayer = "bert.embeddings.word" }.Explain(model, "a film");
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "InputLayer").WithMessage("*no submodule 'bert.embeddings.word'*");
        act = () => new IntegratedGradients { Steps = 0 }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*gausslegendre needs at least 1 step*");
        act = () => new LayerConductance { Layer = "bert.encoder.layer.0", Steps = IntegrationRules.MaxSteps }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Steps" && Equals(e.ActualValue, IntegrationRules.MaxSteps), "the user's value, not the n + 1 points")
            .WithMessage("at most 9999 conductance steps, got 10000*");
        new LayerConductance { Layer = "bert.encoder.layer.0", Steps = IntegrationRules.MaxSteps - 1 }.ValidateFor(model);
        act = () => new IntegratedGradients { Steps = 1, Rule = IntegrationRule.RiemannRight }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*riemann_right needs at least 2 step*");
        act = () => new IntegratedGradients { Baseline = Baseline.FromIds([101, 0, 102]) }.Explain(model, "a fine film");
        act.Should().Throw<ArgumentException>().WithMessage("*custom baseline has 3 ids*5 tokens*");
        act = () => new Gradient().Explain(model, "   ");
        act.Should().Throw<ArgumentException>().WithMessage("*texts[0] is empty*");
        act = () => new LayerConductance().Explain(model, "a film");
        act.Should().Throw<ArgumentException>().WithMessage("*conductance needs the layer*");
        act = () => new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 0, Unit = 999 }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Unit", "the unit is the wrong setting, not the position")
            .WithMessage("*neuron (0, 999) is outside the layer's output for this batch: positions 0..3 (padded), units 0..127*choose a unit in 0..127*");
        // The first position and unit past the ends ([CLS] a film [SEP]: 4 positions; hidden size 128).
        act = () => new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 4, Unit = 0 }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Position" && Equals(e.ActualValue, 4))
            .WithMessage("neuron (4, 0) is past the end of \"a film\", which has 4 tokens (positions 0..3*");
        act = () => new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 0, Unit = 128 }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Unit" && Equals(e.ActualValue, 128));
        // The last position and unit are inside. Layer 1 is BERT-tiny's last: the classifier reads only its first token, so a
        // neuron at another position of it has no effect on the logit and its conductance is exactly 0 for every token.
        new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 3, Unit = 127 }.Attribute(model, ["a film"])[0].Scores
            .Should().HaveCount(4).And.OnlyContain(s => s == 0);
        // Attention probabilities are [batch, heads, queries, keys]: (0, 1) would be a whole row of keys, not a neuron.
        act = () => new NeuronConductance { Layer = "bert.encoder.layer.0.attention.self.attention_probs", Position = 0, Unit = 1 }.Explain(model, "a film");
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "Layer")
            .WithMessage("*neuron (0, 1) needs a layer whose output is [batch, positions, units]*[*, 2, 4, 4]*");
        act = () => new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 0, Unit = -1 }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Unit" && Equals(e.ActualValue, -1)).WithMessage("*unit must be non-negative*");
        act = () => new NeuronConductance { Layer = "bert.encoder.layer.1", Position = -2, Unit = 0 }.Explain(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Position" && Equals(e.ActualValue, -2)).WithMessage("*position must be non-negative*");
        // Position 5, the first past "a good film" ([CLS] a good film [SEP]: 5 tokens), exists in the batch only as
        // its padding beside a longer text.
        var beyond = new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 5, Unit = 5 };
        var texts = new[] { "the plot is dull and the acting is wooden", "a good film" };
        var batched = () => beyond.Explain(model, texts);
        batched.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Position")
            .WithMessage("*neuron (5, 5) is past the end of \"a good film\", which has 5 tokens (positions 0..4*");
        new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 4, Unit = 5 }.Explain(model, texts).Should().HaveCount(2);
        act = () => new IntegratedGradients().Explain(model, string.Join(' ', Enumerable.Repeat("film", 600)));
        act.Should().Throw<ArgumentException>().WithMessage("*602 tokens*at most 128*truncat*");
        var truncated = new Gradient().Explain(model, string.Join(' ', Enumerable.Repeat("film", 600)), new ExplainOptions { Truncate = true });
        truncated.Notes.Should().Contain(n => n.Contains("truncated", StringComparison.Ordinal));
    }
}

/// <summary>Every call of the gradient attributors frees every tensor it made (run alone: the count is process-wide).</summary>
[Collection(LiveTensorCollection.Name)]
public sealed class AttributorLeakTests(SstBertTinyFixture fixture) : IClassFixture<SstBertTinyFixture>
{
    private static readonly ExplainOptions AllTokens = new() { Salience = new SalienceOptions { KeepSpecialTokens = true } };

    public static TheoryData<string> Methods() => AttributorPipelineTests.Methods();

    private static IAttributor Create(string name) => AttributorPipelineTests.Create(name);

    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void Every_call_frees_every_tensor_it_made(string method)
    {
        var attributor = Create(method);
        attributor.Explain(fixture.Model, "warm up the model once", AllTokens);
        var before = LiveTensors.Count;
        var managedBefore = LiveTensors.Count;
        attributor.Explain(fixture.Model, ["a sometimes tedious film", "an utterly charming and hilarious film that never flags"], AllTokens);
        LiveTensors.Count.Should().Be(before);
        LiveTensors.Count.Should().Be(managedBefore);
    }

    /// <summary>Every class at once keeps the first pass's graph for a backward per class; it is freed after the last.</summary>
    [SkippableFact]
    public void Every_class_at_once_frees_the_graph_the_classes_shared()
    {
        IAttributor[] methods = [new Gradient(), new GradientXInput(), new LrpEpsilon()];
        string[] texts = ["a sometimes tedious film", "an utterly charming and hilarious film that never flags"];
        MethodRunner.AttributeClasses(fixture.Model, texts, methods, [0, 1]);
        MethodRunner.AttributeClasses(fixture.Model, texts, [new LrpEpsilon()], [0, 1]);
        var before = LiveTensors.Count;
        MethodRunner.AttributeClasses(fixture.Model, texts, methods, [0, 1]);
        MethodRunner.AttributeClasses(fixture.Model, texts, [new LrpEpsilon()], [1, 0]);
        LiveTensors.Count.Should().Be(before);
    }

    /// <summary>Path methods, noisy methods and perturbation methods explaining every class at once free what their shared passes made.</summary>
    [SkippableFact]
    public void Every_class_at_once_frees_the_shared_path_passes()
    {
        IAttributor[] methods =
        [
            new IntegratedGradients(), new IntegratedGradients { Steps = 8 },
            new LayerConductance { Layer = "bert.encoder.layer.0" }, new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 6 },
            new NoiseTunnel(new IntegratedGradients()) { Samples = 2 }, new NoiseTunnel(new GradientXInput()) { Samples = 2 },
            new GradientShap { Samples = 3 }, new Lime { Samples = 16 }, new Occlusion(),
        ];
        string[] texts = ["a sometimes tedious film", "an utterly charming and hilarious film that never flags"];
        MethodRunner.AttributeClasses(fixture.Model, texts, methods, [0, 1]);
        var before = LiveTensors.Count;
        MethodRunner.AttributeClasses(fixture.Model, texts, methods, [1, 0]);
        LiveTensors.Count.Should().Be(before);
    }

    [SkippableFact]
    public void Noise_tunnel_is_seeded_and_frees_its_tensors()
    {
        var tunnel = new NoiseTunnel(new GradientXInput()) { Samples = 4, Seed = 7 };
        var first = tunnel.Explain(fixture.Model, "a sometimes tedious film", AllTokens);
        var before = LiveTensors.Count;
        var second = tunnel.Explain(fixture.Model, "a sometimes tedious film", AllTokens);
        LiveTensors.Count.Should().Be(before);
        second.Scores.Should().Equal(first.Scores);
        var other = new NoiseTunnel(new GradientXInput()) { Samples = 4, Seed = 8 }.Explain(fixture.Model, "a sometimes tedious film", AllTokens);
        other.Scores.Should().NotEqual(first.Scores);
        var plain = new GradientXInput().Explain(fixture.Model, "a sometimes tedious film", AllTokens);
        var zeroNoise = new NoiseTunnel(new GradientXInput()) { Samples = 3, Stdev = 0 }.Explain(fixture.Model, "a sometimes tedious film", AllTokens);
        zeroNoise.Scores.Should().Equal(plain.Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * Math.Max(1, Math.Abs(b)), "zero noise averages identical passes");
        first.Setting("samples").Should().Be("4");
        first.Setting("seed").Should().Be("7");
    }
}
