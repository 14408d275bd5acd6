using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Models;

/// <summary>
/// <see cref="ModelInput.LogitsOnly"/>: the last layer runs for the first token alone and the logits stay those of the
/// full model. Checked against the op-by-op float64 forward of the same weights (1e-5, as the full forward's own test:
/// float32 through two layers), against the full forward itself (1e-6: the same float32 operations, only the last
/// layer's matrix products have one row per text instead of every position), and by the shapes the last layer's
/// feed-forward sees.
/// </summary>
public sealed class LogitsOnlyTests(ITestOutputHelper output)
{
    public static TheoryData<string> ModelTypes => TransformerModelTests.ModelTypes;

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Logits_only_give_the_full_models_logits_from_one_position_of_the_last_layer(string type)
    {
        using var model = TransformerTestKit.RandomModel(TransformerModelTests.ConfigFor(type), seed: 17);
        using var scope = NewDisposeScope();
        var (ids, mask) = TransformerTestKit.Pad(TransformerModelTests.Sequences, model.Config.PadTokenId);
        var full = model.call(new ModelInput(ids, mask)).data<float>().ToArray();

        var lastLayer = model.Config.NumHiddenLayers - 1;
        var feedForward = type == "distilbert" ? $"distilbert.transformer.layer.{lastLayer}.ffn.lin1" : $"{type}.encoder.layer.{lastLayer}.intermediate.dense";
        var module = model.named_modules().Single(m => m.name == feedForward).module;
        var shapes = new List<long[]>();
        float[] pruned;
        using (new Attribution.Methods.Internal.LayerTap(module, LayerSide.Input, 0, value =>
               {
                   shapes.Add(value.shape);
                   return null;
               }))
        {
            pruned = model.call(new ModelInput(ids, mask) { LogitsOnly = true }).data<float>().ToArray();
        }

        shapes.Should().ContainSingle().Which.Should().Equal([3, 1, model.Config.HiddenSize], "the last layer's feed-forward runs for the first token of each of the 3 texts");
        var expected = TransformerTestKit.ReferenceLogits(model.Config, model.state_dict(), TransformerGoldenTests.ToArray2(ids), TransformerGoldenTests.ToArray2(mask));
        var worst = TransformerTestKit.MaxAbsDiff(pruned, expected);
        output.WriteLine($"{type}: logits only vs float64 reference max |Δ| = {worst:E2}; vs full forward {TransformerTestKit.MaxAbsDiff(pruned, full.Select(v => (double)v).ToArray()):E2}");
        worst.Should().BeLessThan(1e-5);
        TransformerTestKit.MaxAbsDiff(pruned, full.Select(v => (double)v).ToArray()).Should().BeLessThan(1e-6);
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Forward_only_scoring_asks_for_logits_only(string type)
    {
        var (model, transformer, recorder) = Recorded(type, seed: 5);
        using var _ = model;
        ITokenClassifier scorer = model;
        var logits = scorer.PredictLogits([new TokenSequence([2, 7, 9, 3]), new TokenSequence([2, 5, 3])]);
        recorder.LogitsOnly.Should().Equal(true);

        using var scope = NewDisposeScope();
        var full = transformer.call(new ModelInput(tensor(new long[] { 2, 7, 9, 3 }, [1, 4]))).data<float>().ToArray();
        logits[0].Should().Equal(full.Select(v => (double)v), (a, b) => Math.Abs(a - b) <= 1e-6);
    }

    /// <summary>
    /// Integrated Gradients at the word embeddings reads nothing downstream but the logits, so its input, baseline and
    /// path passes all run logits only, and give the scores of full-model passes (1e-5 relative: float32 through two
    /// layers, the last layer's products with fewer rows). A hook of the caller's own flow on the last layer reads
    /// its every position, and a hook registered directly with TorchSharp fires for every caller: either makes every
    /// pass run the full model. A hook another thread holds does not fire here, so it changes nothing.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Path_passes_at_the_word_embeddings_run_logits_only_unless_a_hook_here_reads_a_layer(string type)
    {
        var (model, transformer, recorder) = Recorded(type, seed: 5);
        using var _ = model;
        string[] texts = ["2 7 9 13 4 3", "2 21 5 3"];
        var options = new Attribution.Pipeline.ExplainOptions { Target = Target.Class(1), Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } };
        var ig = new IntegratedGradients { Steps = 8 };
        var lastLayer = transformer.named_modules().Single(m => m.name == (type == "distilbert" ? "distilbert.transformer.layer.1" : $"{type}.encoder.layer.1")).module;

        var pruned = ig.Explain(model, texts, options);
        recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => flag, "the input, baseline and path passes read only the logits");

        recorder.LogitsOnly.Clear();
        var ranFor = new List<long>();
        IReadOnlyList<Explanation> full;
        using (ModuleHooks.AddForwardHook(lastLayer, (_, _, _) =>
               {
                   ranFor.Add(recorder.LogitsOnly.Count);
                   return null;
               }))
        {
            full = ig.Explain(model, texts, options);
        }

        recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => !flag, "the caller's hook reads the last layer");
        ranFor.Should().HaveCount(recorder.LogitsOnly.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            pruned[i].Scores.Should().Equal(full[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
            pruned[i].ConvergenceDelta.Should().BeApproximately(full[i].ConvergenceDelta!.Value, 1e-5);
        }

        var linear = transformer.modules().OfType<TorchSharp.Modules.Linear>().First();
        foreach (var pre in new[] { false, true })
        {
            recorder.LogitsOnly.Clear();
            var direct = pre ? linear.register_forward_pre_hook((_, input) => input) : linear.register_forward_hook((_, _, output) => output);
            try
            {
                ig.Explain(model, texts, options);
            }
            finally
            {
                direct.remove();
            }

            recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => !flag, $"a {(pre ? "pre-hook" : "hook")} registered with TorchSharp fires for every caller");
        }

        // A hook of this flow disposed from another thread stops firing (though this flow's list still holds it): it no
        // longer counts, while a second one on the same layer, still attached, does.
        var stillOn = ModuleHooks.AddForwardHook(lastLayer, (_, _, _) => null);
        var disposedElsewhere = ModuleHooks.AddForwardHook(lastLayer, (_, _, _) => null);
        var disposer = new Thread(disposedElsewhere.Dispose);
        disposer.Start();
        disposer.Join();
        recorder.LogitsOnly.Clear();
        ig.Explain(model, texts, options);
        recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => !flag, "one hook of this flow is still on the last layer");
        stillOn.Dispose();
        recorder.LogitsOnly.Clear();
        ig.Explain(model, texts, options);
        recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => flag, "the hook disposed on another thread no longer counts");

        using var attached = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var otherThread = new Thread(() =>
        {
            using (ModuleHooks.AddForwardHook(lastLayer, (_, _, _) => throw new InvalidOperationException("another flow's hook fired")))
            {
                attached.Set();
                release.Wait();
            }
        });
        otherThread.Start();
        attached.Wait();
        recorder.LogitsOnly.Clear();
        try
        {
            ig.Explain(model, texts, options);
        }
        finally
        {
            release.Set();
            otherThread.Join();
        }

        recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => flag, "another thread's hook does not fire in this flow's passes");
    }

    /// <summary>
    /// Layer conductance at the first of two layers substitutes path points at the word embeddings and takes its
    /// gradient at that layer: both run whole in a logits-only pass, so every pass runs logits only, with the scores of
    /// full passes (1e-5 relative, as above). At the last layer every path pass runs the full model.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Conductance_before_the_last_layer_runs_logits_only_and_at_it_the_full_model(string type)
    {
        var (model, _, recorder) = Recorded(type, seed: 9);
        using var _ = model;
        string[] texts = ["2 7 9 13 4 3", "2 21 5 3"];
        var options = new Attribution.Pipeline.ExplainOptions { Target = Target.Class(0), Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } };
        var layers = type == "distilbert" ? "inner.distilbert.transformer.layer." : $"inner.{type}.encoder.layer.";
        var conductance = new LayerConductance { Layer = layers + "0", Steps = 6 };

        var pruned = conductance.Explain(model, texts, options);
        recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => flag);

        recorder.LogitsOnly.Clear();
        IReadOnlyList<Explanation> full;
        using (ModuleHooks.AddForwardHook(model.Module.Submodule(layers + "1"), (_, _, _) => null))
        {
            full = conductance.Explain(model, texts, options);
        }

        recorder.LogitsOnly.Should().HaveCountGreaterThan(2).And.OnlyContain(flag => !flag);
        for (var i = 0; i < texts.Length; i++)
        {
            pruned[i].Scores.Should().Equal(full[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
        }

        recorder.LogitsOnly.Clear();
        new LayerConductance { Layer = layers + "1", Steps = 6 }.Explain(model, texts, options);
        recorder.LogitsOnly.Take(2).Should().Equal([true, true], "the prediction (which keeps the path's input end) and the baseline's end at the word embeddings read no layer after them");
        recorder.LogitsOnly.Skip(2).Should().NotBeEmpty().And.OnlyContain(flag => !flag, "every path pass takes its gradient at the last layer");
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Gradient_at_the_word_embeddings_shares_a_logits_only_first_pass_and_keeps_the_full_models_gradient(string type)
    {
        var (model, transformer, recorder) = Recorded(type, seed: 23);
        using var _ = model;
        string[] texts = ["2 7 9 13 4 3", "2 21 5 3"];
        var options = new Attribution.Pipeline.ExplainOptions { Target = Target.Class(1), Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } };
        var explained = new Gradient().Explain(model, texts, options);
        recorder.LogitsOnly.Should().Equal([true], "one batch: the shared first pass, logits only, gives the gradient");

        // The gradient of logit 1 at the word embeddings of the full model, by autograd in the test: ‖∂logit/∂e_t‖₂ per token.
        var embeddings = transformer.named_modules().Single(m => m.name == transformer.WordEmbeddingPath).module;
        for (var i = 0; i < texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            long[] ids = [.. texts[i].Split(' ').Select(long.Parse)];
            Tensor? leaf = null;
            Tensor logits;
            using (var grad = enable_grad())
            using (new Attribution.Methods.Internal.LayerTap(embeddings, LayerSide.Output, 0, value => leaf = value.detach().requires_grad_()))
            {
                logits = transformer.call(new ModelInput(tensor(ids, [1, ids.Length])));
            }

            using (enable_grad())
            {
                logits[0, 1].backward();
            }

            var norms = leaf!.grad!.squeeze(0).Power(2).sum(1).sqrt().to(ScalarType.Float64).data<double>().ToArray();
            explained[i].Scores.Should().Equal(norms, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)), "the logits-only pass gives the full model's gradient (1e-5: float32 through two layers)");
        }

        // The first of the two layers runs for every position in a logits-only pass, so a gradient there is taken from
        // one too, and equals the full model's (a hook of the caller's own on the encoder forces full passes); the
        // last layer runs for the first token alone, so a gradient there needs the full model.
        var layers = type == "distilbert" ? "inner.distilbert.transformer.layer." : $"inner.{type}.encoder.layer.";
        recorder.LogitsOnly.Clear();
        var atFirstLayer = new Gradient { Layer = layers + "0" }.Explain(model, texts, options);
        recorder.LogitsOnly.Should().Equal([true], "the first layer runs whole in a logits-only pass");
        recorder.LogitsOnly.Clear();
        IReadOnlyList<Explanation> atFirstLayerFull;
        using (ModuleHooks.AddForwardHook(model.Module.Submodule(layers + "1"), (_, _, _) => null))
        {
            atFirstLayerFull = new Gradient { Layer = layers + "0" }.Explain(model, texts, options);
        }

        recorder.LogitsOnly.Should().NotBeEmpty().And.OnlyContain(flag => !flag, "the caller's hook reads the last layer");
        for (var i = 0; i < texts.Length; i++)
        {
            atFirstLayer[i].Scores.Should().Equal(atFirstLayerFull[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
        }

        recorder.LogitsOnly.Clear();
        new Gradient { Layer = layers + "1" }.Explain(model, texts, options);
        recorder.LogitsOnly.Should().NotBeEmpty().And.OnlyContain(flag => !flag, "a gradient at the last layer runs the full model");
    }

    /// <summary>
    /// LRP-ε's relevance pass runs logits only: its rules sit on leaf modules, every one of which the first-token path
    /// still calls, and only the first token's rows of the last layer carry relevance. Its scores and conservation gaps
    /// equal a full pass's (1e-5 relative: float32, products of other shapes). A hook of the caller's own on the last
    /// layer, or a rule that hooks composite modules (here one that changes nothing), keeps the full model.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Lrp_runs_logits_only_with_the_relevance_of_a_full_pass(string type)
    {
        var (model, transformer, recorder) = Recorded(type, seed: 13);
        using var _ = model;
        string[] texts = ["2 7 9 13 4 3", "2 21 5 3"];
        var options = new Attribution.Pipeline.ExplainOptions { Target = Target.Class(1), Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } };
        var rules = Attribution.Methods.Lrp.LrpRuleSet.Default.With<InputRecorder>(Attribution.Methods.Lrp.LrpRules.Composite);
        var lastLayer = transformer.named_modules().Single(m => m.name == (type == "distilbert" ? "distilbert.transformer.layer.1" : $"{type}.encoder.layer.1")).module;

        var pruned = new LrpEpsilon { Rules = rules }.Explain(model, texts, options);
        recorder.LogitsOnly.Should().Equal([true], "the relevance pass, which also makes the prediction, reads only the logits");
        var stock = model.Predict(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            // The rules keep every forward value bit for bit, so the prediction read from LRP's pass is the stock one.
            pruned[i].Logits.Should().Equal(stock[i].Logits);
        }


        recorder.LogitsOnly.Clear();
        IReadOnlyList<Explanation> full;
        using (ModuleHooks.AddForwardHook(lastLayer, (_, _, _) => null))
        {
            full = new LrpEpsilon { Rules = rules }.Explain(model, texts, options);
        }

        recorder.LogitsOnly.Should().Equal([false], "the caller's hook reads the last layer");
        for (var i = 0; i < texts.Length; i++)
        {
            pruned[i].Scores.Should().Equal(full[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
            pruned[i].ConvergenceDelta.Should().BeApproximately(full[i].ConvergenceDelta!.Value, 1e-5);
        }

        recorder.LogitsOnly.Clear();
        var compositesHooked = new LrpEpsilon { Rules = rules.With(typeof(ICompositeModule), new IdentityHookRule()) }.Explain(model, texts, options);
        recorder.LogitsOnly.Should().Equal([false], "a rule on composite modules would miss the last layer's blocks, which a logits-only pass does not call");
        for (var i = 0; i < texts.Length; i++)
        {
            compositesHooked[i].Scores.Should().Equal(full[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
        }
    }

    /// <summary>
    /// LRP's relevance taken inside the last layer (here its feed-forward output, which a logits-only pass runs for the
    /// first token alone) needs the full model: it runs one full pass, with the relevance of a pass forced full by a
    /// caller's hook (1e-6 relative: the same computation).
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Lrp_taken_inside_the_last_layer_runs_the_full_model(string type)
    {
        var (recorded, transformer, recorder) = Recorded(type, seed: 17);
        using var _ = recorded;
        var lastFeedForward = type == "distilbert" ? "distilbert.transformer.layer.1.ffn.lin2" : $"{type}.encoder.layer.1.output.dense";
        var model = new TextClassifier("recorded", recorded.Tokenizer, recorder, recorded.Labels, "inner." + lastFeedForward,
            transformer.Config.MaxSequenceLength, usesTokenTypes: type != "distilbert");
        string[] texts = ["2 7 9 13 4 3", "2 21 5 3"];
        var options = new Attribution.Pipeline.ExplainOptions { Target = Target.Class(0), Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } };

        var lrp = new LrpEpsilon { Rules = Attribution.Methods.Lrp.LrpRuleSet.Default.With<InputRecorder>(Attribution.Methods.Lrp.LrpRules.Composite) };
        var inside = lrp.Explain(model, texts, options);
        recorder.LogitsOnly.Should().Equal([false], "the tapped layer runs for the first token alone in a logits-only pass");
        IReadOnlyList<Explanation> forced;
        using (ModuleHooks.AddForwardHook(transformer, (_, _, _) => null))
        {
            forced = lrp.Explain(model, texts, options);
        }

        for (var i = 0; i < texts.Length; i++)
        {
            inside[i].Scores.Should().HaveCount(forced[i].Scores.Length).And.Contain(v => v != 0);
            inside[i].Scores.Should().Equal(forced[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
        }
    }

    /// <summary>An LRP rule that hooks its module and changes nothing.</summary>
    private sealed class IdentityHookRule : Attribution.Methods.Lrp.ILrpRule
    {
        public string Name => "identity-hook";

        public IDisposable? Attach(nn.Module module, Attribution.Methods.Lrp.LrpSettings settings) => ModuleHooks.AddForwardHook(module, (_, _, _) => null);
    }

    /// <summary>A random model of <paramref name="type"/> behind an <see cref="InputRecorder"/>, with ids as the text.</summary>
    private static (TextClassifier Model, TransformerClassifier Transformer, InputRecorder Recorder) Recorded(string type, ulong seed)
    {
        var transformer = TransformerTestKit.RandomModel(TransformerModelTests.ConfigFor(type), seed);
        var recorder = new InputRecorder(transformer);
        var model = new TextClassifier("recorded", new Attribution.Tests.Methods.IdsTokenizer(2, 3, transformer.Config.PadTokenId, transformer.Config.VocabSize),
            recorder, transformer.Config.Id2Label.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToArray(), "inner." + transformer.WordEmbeddingPath,
            transformer.Config.MaxSequenceLength, usesTokenTypes: type != "distilbert");
        return (model, transformer, recorder);
    }

    /// <summary>Records each forward's <see cref="ModelInput.LogitsOnly"/>, then runs the wrapped model.</summary>
    private sealed class InputRecorder : nn.Module<ModelInput, Tensor>
    {
        private readonly nn.Module<ModelInput, Tensor> inner;

        public InputRecorder(nn.Module<ModelInput, Tensor> inner)
            : base(nameof(InputRecorder))
        {
            this.inner = inner;
            RegisterComponents();
        }

        public List<bool> LogitsOnly { get; } = [];

        public override Tensor forward(ModelInput input)
        {
            LogitsOnly.Add(input.LogitsOnly);
            return inner.call(input);
        }
    }
}
