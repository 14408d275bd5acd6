using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// A user's module whose <c>forward</c> opens its own dispose scope (<c>using var _ = NewDisposeScope(); …
/// return logits.MoveToOuterDisposeScope();</c>, a common TorchSharp idiom) is explained exactly as the same layers
/// run without the scope: the tensors the attributors' hooks make inside that forward (the leaf a gradient is taken
/// with respect to, the relevance rules' outputs) must outlive it, and nothing may be left behind.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class ScopedForwardTests : IDisposable
{
    private static readonly string[] Texts = ["the plot was dull but the cast was superb", "a gripping film", "the movies were not bad"];

    private static readonly ExplainOptions AllTokens = new()
    {
        Target = Target.Class(1),
        Salience = new SalienceOptions { KeepSpecialTokens = true },
    };

    private static readonly LrpRuleSet Rules = LrpRuleSet.Default
        .With<MeanOverTokens>(LrpRules.Composite)
        .With<ScopedSequence>(LrpRules.Composite);

    private readonly string root = Directory.CreateTempSubdirectory("attribution-scoped-forward-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Every method that hooks the model: its scores on the scoped forward equal those without the scope.</summary>
    /// <remarks>
    /// Tolerance 0: both forwards run the same modules with the same weights on the same inputs in the same order, so
    /// every kernel sees the same operands; only where tensors are freed differs.
    /// </remarks>
    [Fact]
    public void Every_hooking_method_gives_the_scores_it_gives_without_the_scope()
    {
        var (plain, scoped, _) = Models();
        using (plain)
        using (scoped)
        {
            IAttributor[] methods =
            [
                new Gradient(), new GradientXInput(), new IntegratedGradients { Steps = 16 },
                new IntegratedGradients(), // adaptive: several passes, refined
                new LayerConductance { Layer = "mix", Steps = 8 },
                new NeuronConductance { Layer = "mix", Position = 1, Unit = 0, Steps = 8 },
                new NoiseTunnel(new GradientXInput()) { Samples = 4, Seed = 7 },
                new GradientShap { Samples = 4, Seed = 5 },
                new LrpEpsilon { Rules = Rules },
            ];
            var expected = Explainer.ExplainAll(plain, Texts, methods, AllTokens);
            var actual = Explainer.ExplainAll(scoped, Texts, methods, AllTokens);
            for (var m = 0; m < methods.Length; m++)
            {
                for (var t = 0; t < Texts.Length; t++)
                {
                    actual[m][t].Scores.Should().Equal(expected[m][t].Scores, $"{methods[m].Name} on \"{Texts[t]}\"");
                }
            }

            var flips = new HotFlip { Positions = 2 };
            var expectedEdits = flips.Generate(plain, Texts[1], maxEdits: 3);
            var actualEdits = flips.Generate(scoped, Texts[1], maxEdits: 3);
            actualEdits.Select(e => e.Text).Should().Equal(expectedEdits.Select(e => e.Text));
            actualEdits.Select(e => e.LogitChange).Should().Equal(expectedEdits.Select(e => e.LogitChange));
            scoped.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
        }
    }

    /// <summary>The tensors the hooks made inside the scoped forward are freed with the explanation, not leaked nor left to the finalizer.</summary>
    [Fact]
    public void Explaining_the_scoped_forward_leaves_no_tensor_behind()
    {
        var (plain, scoped, _) = Models();
        using (plain)
        using (scoped)
        {
            IAttributor[] methods = [new GradientXInput(), new IntegratedGradients { Steps = 8 }, new LayerConductance { Layer = "mix", Steps = 4 }, new LrpEpsilon { Rules = Rules }];
            Explainer.ExplainAll(scoped, Texts, methods, AllTokens);
            var before = LiveTensors.Settled();
            Explainer.ExplainAll(scoped, Texts, methods, AllTokens);
            new HotFlip().Generate(scoped, Texts[2], maxEdits: 2);
            scoped.Predict(Texts);

            // Counted without a garbage collection: every tensor must be freed by a dispose scope when the call returns,
            // not left unscoped for the finalizer.
            LiveTensors.Count.Should().Be(before);
        }
    }

    /// <summary>
    /// After the scoped forward's explanation, a library model's explanation in the same flow keeps its hook tensors in
    /// its own scopes (the scoped pass's scope, gone with its call, is no longer where they go): nothing is left behind,
    /// counted without a garbage collection.
    /// </summary>
    [Fact]
    public void A_library_model_explained_afterwards_keeps_its_tensors_in_its_own_scopes()
    {
        var (plain, scoped, _) = Models();
        using (plain)
        using (scoped)
        using (var library = Attribution.Tests.Methods.PowerOfSum.Classifier(2))
        {
            new GradientXInput().Explain(scoped, Texts, AllTokens);
            new GradientXInput().Explain(library, ["1 2 3"]);
            var before = LiveTensors.Settled();
            new GradientXInput().Explain(library, ["1 2 3"]);
            LiveTensors.Count.Should().Be(before);
        }
    }

    /// <summary>
    /// The same five layers twice: as TorchSharp's Sequential (no scope) and as a module whose forward opens a scope,
    /// sharing the layer objects, so the weights are the same by construction.
    /// </summary>
    private (TextClassifier Plain, TextClassifier Scoped, Sequential Layers) Models()
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "plot", "cast", "film", "movie", "##s", "was", "were", "dull", "superb", "not", "bad", "but", "gripping"]);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        var layers = nn.Sequential(
            ("embedding", nn.Embedding(tokenizer.VocabularySize, 6)),
            ("mix", nn.Linear(6, 5)),
            ("relu", nn.ReLU()),
            ("pool", new MeanOverTokens()),
            ("output", nn.Linear(5, 2)));
        using (var generator = new Generator(11))
        using (no_grad())
        {
            foreach (var (_, p) in layers.named_parameters())
            {
                using var values = randn(p.shape, p.dtype, generator: generator);
                p.copy_(values);
            }
        }

        var scopedModel = new ScopedSequence(layers);
        var plain = TextClassifier.FromTorchSharp(layers, tokenizer, "embedding", ["negative", "positive"], ownsModel: true);
        var scoped = TextClassifier.FromTorchSharp(scopedModel, tokenizer, "embedding", ["negative", "positive"]);
        return (plain, scoped, layers);
    }
}

/// <summary>Runs a Sequential's layers one by one inside a dispose scope of its own, returning the logits moved out of it.</summary>
public sealed class ScopedSequence : nn.Module<Tensor, Tensor>
{
    // Registered by name: the paths are the Sequential's (embedding, mix, relu, pool, output).
    private readonly nn.Module<Tensor, Tensor> embedding;
    private readonly nn.Module<Tensor, Tensor> mix;
    private readonly nn.Module<Tensor, Tensor> relu;
    private readonly nn.Module<Tensor, Tensor> pool;
    private readonly nn.Module<Tensor, Tensor> output;

    public ScopedSequence(Sequential layers)
        : base(nameof(ScopedSequence))
    {
        var children = layers.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
        embedding = children["embedding"];
        mix = children["mix"];
        relu = children["relu"];
        pool = children["pool"];
        output = children["output"];
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var x = embedding.call(ids);
        x = mix.call(x);
        x = relu.call(x);
        x = pool.call(x);
        return output.call(x).MoveToOuterDisposeScope();
    }
}
