using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// The user's own TorchSharp models, written here (not the library's), wrapped with
/// <see cref="TextClassifier.FromTorchSharp(nn.Module{Tensor, Tensor, Tensor}, ITokenizer, string, IReadOnlyList{string}, int?, string?, bool, OutputHead?)"/>:
/// every method works on them and agrees with autograd computed independently in the test.
/// </summary>
public sealed class TorchSharpClassifierTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "the", "a", "plot", "cast", "film", "movie", "##s", "was", "were", "dull", "superb", "not", "bad", "but", "gripping", "boring",
    ];

    private static readonly ExplainOptions AllTokens = new()
    {
        Target = Target.Class(1),
        Salience = new SalienceOptions { KeepSpecialTokens = true },
    };

    private static readonly string[] Texts = ["the plot was dull but the cast was superb", "a gripping film", "the movies were not bad"];

    private readonly string root = Directory.CreateTempSubdirectory("attribution-own-model-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>A WordPiece tokenizer as a user would load it: vocab.txt in a folder.</summary>
    private ITokenizer Tokenizer()
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, Vocabulary);
        return TokenizerLoader.FromWordPieceVocab(vocab);
    }

    private TextClassifier MaskedMean(out MaskedMeanModel model, bool callsForward = false, ulong seed = 1)
    {
        var tokenizer = Tokenizer();
        model = new MaskedMeanModel(tokenizer.VocabularySize, dim: 6, hidden: 5, labels: 2, callsForward);
        Randomize(model, seed);
        return TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"], maxLength: 32);
    }

    private TextClassifier Sequential(out Sequential model, ulong seed = 2)
    {
        var tokenizer = Tokenizer();
        model = nn.Sequential(
            ("embedding", nn.Embedding(tokenizer.VocabularySize, 6)),
            ("mix", nn.Linear(6, 5)),
            ("relu", nn.ReLU()),
            ("pool", new MeanOverTokens()),
            ("output", nn.Linear(5, 2)));
        Randomize(model, seed);
        return TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"]);
    }

    private static readonly LrpRuleSet PoolIsLinear = LrpRuleSet.Default.With<MeanOverTokens>(LrpRules.Composite);

    [Fact]
    public void The_adapter_shows_the_users_paths_and_leaves_the_users_module_alone()
    {
        var classifier = MaskedMean(out var model);
        classifier.Module.SelfAndDescendants().Select(m => m.Path).Should().Equal("", "embedding", "hidden", "act", "output");
        classifier.Module.Submodule("embedding").Should().BeSameAs(model.embedding);
        model.training.Should().BeFalse("the classifier puts the model in eval mode");
        classifier.Name.Should().Be(nameof(MaskedMeanModel));
        classifier.UsesTokenTypes.Should().BeFalse();

        classifier.Dispose();
        using (var scope = NewDisposeScope())
        {
            model.call(tensor(new long[] { 2, 5, 3 }).unsqueeze(0), ones(1, 3, ScalarType.Int64)).shape.Should().Equal(1, 2);
        }

        using var owner = TextClassifier.FromTorchSharp(model, Tokenizer(), "embedding", ["negative", "positive"], ownsModel: true);
        owner.Dispose();
        var disposed = () => model.embedding.weight;
        disposed.Should().Throw<ObjectDisposedException>("with ownsModel the classifier disposes the user's module");
    }

    /// <summary>Gradient × Input = Σ_h e ⊙ ∂logit/∂e with e the embedding output, by torch.autograd.grad in the test.</summary>
    [Fact]
    public void Gradient_x_input_equals_autograd_of_the_logit_at_the_embedding_output()
    {
        using var classifier = MaskedMean(out var model);
        var results = new GradientXInput().Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(results[i].TokenIds).unsqueeze(0);
            var mask = ones_like(ids);
            var embedded = model.embedding.weight!.index_select(0, ids.squeeze(0)).unsqueeze(0).detach().requires_grad_();
            var logit = model.Head(embedded, mask)[0, 1];
            var gradient = autograd.grad([logit], [embedded])[0];
            var expected = (gradient * embedded).sum(-1).squeeze(0).to(ScalarType.Float64).data<double>().ToArray();

            results[i].Scores.Should().HaveCount(expected.Length);
            var worst = results[i].Scores.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"text {i}: max |GxI − autograd| = {worst:E2}");
            results[i].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)));
            results[i].Logits[1].Should().BeApproximately(logit.ItemAsDouble(), 1e-5);
        }

        classifier.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// Completeness: Σ IG attributions = F(x) − F(x′), F the target logit, x′ the pad baseline, both logits computed by
    /// calling the user's module directly. Tolerance: 1e-4 · max(1, |F(x) − F(x′)|) (50 Gauss–Legendre steps, float32; the gap measured is ~3e-7).
    /// </summary>
    [Fact]
    public void Integrated_gradients_are_complete_against_the_users_own_logits()
    {
        using var classifier = MaskedMean(out var model);
        var tokenizer = classifier.Tokenizer;
        var results = new IntegratedGradients().Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var encoding = tokenizer.Encode(Texts[i]);
            var baselineIds = encoding.Ids.Select((id, t) => encoding.SpecialTokensMask[t] ? id : tokenizer.PadId).ToArray();
            var mask = ones(1, encoding.Length, ScalarType.Int64);
            double Logit(long[] ids)
            {
                using var noGrad = no_grad();
                return model.call(tensor(ids).unsqueeze(0), mask)[0, 1].ItemAsDouble();
            }

            var difference = Logit(encoding.Ids) - Logit(baselineIds);
            var sum = results[i].Scores.Sum();
            output.WriteLine($"text {i}: Σ IG = {sum:G6}, F(x) − F(x′) = {difference:G6}, gap {sum - difference:E2}");
            sum.Should().BeApproximately(difference, 1e-4 * Math.Max(1, Math.Abs(difference)));
            results[i].ConvergenceDelta!.Value.Should().BeApproximately(sum - difference, 1e-4);
        }
    }

    /// <summary>
    /// On a ReLU/Linear model (an nn.Sequential with a custom pooling layer) LRP with ε = 0 is Gradient × Input. The
    /// pooling layer has no rule until one is given: LRP refuses it by path and type.
    /// </summary>
    [Fact]
    public void Lrp_with_epsilon_zero_is_gradient_x_input_on_a_relu_linear_sequential()
    {
        using var classifier = Sequential(out _);
        var refused = () => new LrpEpsilon { Epsilon = 0 }.Explain(classifier, Texts[0], AllTokens);
        var error = refused.Should().Throw<LrpNotSupportedException>().Which;
        error.ModulePath.Should().Be("pool");
        error.ModuleType.Should().Be(typeof(MeanOverTokens));
        error.Message.Should().Contain("'pool' (MeanOverTokens)");

        var lrp = new LrpEpsilon { Epsilon = 0, Rules = PoolIsLinear }.Explain(classifier, Texts, AllTokens);
        var gxi = new GradientXInput().Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            lrp[i].Scores.Should().Equal(gxi[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 + (1e-6 * Math.Abs(b)));
            lrp[i].RelevanceShares!.Keys.Should().Equal("embedding");
        }

        classifier.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>A custom root module has no rule by default: LRP names it as the model, with its type; a rule makes it run.</summary>
    [Fact]
    public void Lrp_refuses_a_custom_root_module_until_it_has_a_rule()
    {
        using var classifier = MaskedMean(out _);
        var refused = () => new LrpEpsilon().Explain(classifier, Texts[0]);
        var error = refused.Should().Throw<LrpNotSupportedException>().Which;
        error.ModulePath.Should().Be("");
        error.ModuleType.Should().Be(typeof(MaskedMeanModel));
        error.Message.Should().Contain("'(the model)' (MaskedMeanModel)");

        var rules = LrpRuleSet.Default.With<MaskedMeanModel>(LrpRules.Composite);
        var results = new LrpEpsilon { Rules = rules }.Explain(classifier, Texts, AllTokens);
        results.Should().OnlyContain(e => e.Scores.All(double.IsFinite) && double.IsFinite(e.ConvergenceDelta!.Value));
    }

    /// <summary>Every gradient method and LIME run on the ids-only Sequential model, at the user's layer paths.</summary>
    [Fact]
    public void Every_method_runs_on_the_users_model()
    {
        using var classifier = Sequential(out _);
        IAttributor[] methods =
        [
            new Gradient(), new GradientXInput(), new IntegratedGradients { Steps = 16 },
            new LayerConductance { Layer = "mix", Steps = 16 }, new NeuronConductance { Layer = "mix", Position = 1, Unit = 0, Steps = 16 },
            new NoiseTunnel(new GradientXInput()) { Samples = 4 }, new LrpEpsilon { Rules = PoolIsLinear },
        ];
        var results = Explainer.ExplainAll(classifier, Texts, methods);
        for (var m = 0; m < methods.Length; m++)
        {
            results[m].Should().HaveCount(Texts.Length);
            results[m].Should().OnlyContain(e => e.Scores.Length > 0 && e.Scores.All(double.IsFinite), methods[m].Name);
        }

        // LIME: one score per whitespace word ("movies" is two word pieces, one word).
        var lime = new Lime { Samples = 64, Seed = 3 }.Explain(classifier, Texts[2]);
        lime.Words.Select(w => w.Text).Should().Equal("the", "movies", "were", "not", "bad");
        lime.Words.Should().OnlyContain(w => double.IsFinite(w.Score));
        classifier.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>An ids-only model cannot see the mask: the library never pads for it, and refuses padded input built by hand.</summary>
    [Fact]
    public void An_ids_only_model_never_sees_padding()
    {
        using var classifier = Sequential(out _);
        var together = new GradientXInput().Explain(classifier, Texts);
        var alone = Texts.Select(t => new GradientXInput().Explain(classifier, t)).ToArray();
        for (var i = 0; i < Texts.Length; i++)
        {
            together[i].Scores.Should().Equal(alone[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6);
        }

        var batched = classifier.Predict(Texts);
        var single = Texts.Select(t => classifier.Predict([t])[0]).ToArray();
        batched.Select(p => p.Logits).Should().BeEquivalentTo(single.Select(p => p.Logits), o => o.WithStrictOrdering());

        using var scope = NewDisposeScope();
        var padded = classifier.Encode(Texts);
        var act = () => classifier.Logits(padded.Input);
        act.Should().Throw<InvalidOperationException>().WithMessage("*takes token ids only*padded*(ids, mask)*");
    }

    /// <summary>
    /// An ids-only model's batches hold one token length and stay within the token budget: each chunk has one length,
    /// rows × length ≤ budget (or one row), every text appears once, and no two chunks of a length could be merged.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(25)]
    public void An_ids_only_models_batches_keep_one_length_within_the_token_budget(int budget)
    {
        using var classifier = Sequential(out _);
        string[] texts = [.. Texts, .. Texts, .. Texts, "a dull film", "the cast was superb"];
        var lengths = texts.Select(t => classifier.Tokenizer.Encode(t).Length).ToArray();
        var chunks = TokenizedTexts.Of(classifier, texts, truncate: false).Chunks(size: 64, tokenBudget: budget).ToList();

        chunks.SelectMany(c => c).Order().Should().Equal(Enumerable.Range(0, texts.Length));
        chunks.Select(c => lengths[c[0]]).Should().BeInAscendingOrder("the shortest texts go first");
        foreach (var chunk in chunks)
        {
            chunk.Select(i => lengths[i]).Distinct().Should().ContainSingle();
            (chunk.Length == 1 || chunk.Length * lengths[chunk[0]] <= budget).Should().BeTrue();
        }

        foreach (var sameLength in chunks.GroupBy(c => lengths[c[0]]))
        {
            var length = sameLength.Key;
            var perChunk = Math.Max(1, budget / length);
            sameLength.Count().Should().Be((int)Math.Ceiling(sameLength.Sum(c => c.Length) / (double)perChunk), "chunks of one length are as full as the budget allows");
        }
    }

    /// <summary>
    /// The .call / .forward pitfall: a parent that runs its embedding with embedding.forward(ids) bypasses hooks. The
    /// attribution fails and says which layer, why, and how to fix it (every method that taps it, LRP too).
    /// </summary>
    [Fact]
    public void A_parent_calling_forward_on_the_embedding_gets_an_explanatory_error()
    {
        using var classifier = MaskedMean(out _, callsForward: true);
        classifier.Predict(Texts).Should().HaveCount(Texts.Length, "prediction needs no hook");
        var attributors = new TextAttributor[]
        {
            new GradientXInput(), new IntegratedGradients { Steps = 4 },
            new LrpEpsilon { Rules = LrpRuleSet.Default.With<MaskedMeanModel>(LrpRules.Composite) },
        };
        foreach (var attributor in attributors)
        {
            var act = () => attributor.Explain(classifier, Texts[0]);
            var message = act.Should().Throw<InvalidOperationException>().Which.Message;
            output.WriteLine($"{attributor.Name}: {message}");
            message.Should().Contain("'embedding' (Embedding) did not run through .call")
                .And.Contain("embedding.forward(x)")
                .And.Contain("write embedding.call(x) instead of embedding.forward(x)");
        }

        classifier.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// A user's module switched back to training mode after wrapping (the module stays the user's) would run dropout:
    /// every prediction and explanation random. Each path that runs the model (gradient methods, perturbation methods,
    /// prediction) refuses it, naming the module in training mode; back in eval mode the results repeat exactly.
    /// </summary>
    [Fact]
    public void A_model_switched_back_to_training_mode_is_refused_not_explained_at_random()
    {
        var tokenizer = Tokenizer();
        using var model = nn.Sequential(
            ("embedding", nn.Embedding(tokenizer.VocabularySize, 6)),
            ("mix", nn.Linear(6, 5)),
            ("drop", nn.Dropout(0.5)),
            ("pool", new MeanOverTokens()),
            ("output", nn.Linear(5, 2)));
        Randomize(model, 3);
        using var classifier = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"]);

        model.train();
        FluentActions.Invoking(() => new GradientXInput().Explain(classifier, Texts[0])).Should().Throw<InvalidOperationException>()
            .WithMessage("*training mode*(the model)*Sequential*eval()*");
        FluentActions.Invoking(() => new Occlusion().Explain(classifier, Texts[0])).Should().Throw<InvalidOperationException>().WithMessage("*training mode*");
        FluentActions.Invoking(() => classifier.Predict([Texts[0]])).Should().Throw<InvalidOperationException>().WithMessage("*training mode*");

        model.eval();
        model.Submodule("drop").train();
        FluentActions.Invoking(() => new IntegratedGradients { Steps = 4 }.Explain(classifier, Texts[0])).Should().Throw<InvalidOperationException>()
            .WithMessage("*'drop'*Dropout*");

        model.eval();
        var first = new GradientXInput().Explain(classifier, Texts[0]);
        new GradientXInput().Explain(classifier, Texts[0]).Scores.Should().Equal(first.Scores, "in eval mode dropout is the identity");
        model.training.Should().BeFalse();
    }

    [Fact]
    public void Bad_arguments_are_typed_errors_naming_the_argument()
    {
        var tokenizer = Tokenizer();
        using var model = new MaskedMeanModel(tokenizer.VocabularySize, 6, 5, 2, callsForward: false);
        string[] labels = ["negative", "positive"];

        var wrongPath = () => TextClassifier.FromTorchSharp(model, tokenizer, "embeddings", labels);
        wrongPath.Should().Throw<ArgumentException>().Where(e => e.ParamName == "wordEmbeddingPath")
            .WithMessage("no submodule 'embeddings'*closest paths: embedding*");
        var empty = () => TextClassifier.FromTorchSharp(model, tokenizer, "", labels);
        empty.Should().Throw<ArgumentException>().Where(e => e.ParamName == "wordEmbeddingPath");
        var nullModel = () => TextClassifier.FromTorchSharp((nn.Module<Tensor, Tensor>)null!, tokenizer, "embedding", labels);
        nullModel.Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "model");
        var noLabels = () => TextClassifier.FromTorchSharp(model, tokenizer, "embedding", []);
        noLabels.Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels");
        // A repeated name is kept, as a Hugging Face id2label's is (a target named by it is refused when resolved); an
        // empty or null one is refused by index.
        using (var twice = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["a", "a"]))
        {
            twice.Labels.Should().Equal("a", "a");
        }

        var unnamed = () => TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["a", ""]);
        unnamed.Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels").WithMessage("labels[1] is empty in [a, ]*LABEL_1*");
        var blank = () => TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["a", " \u00A0"]);
        blank.Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels").WithMessage("labels[1] is blank (U+0020 U+00A0)*LABEL_1*");
        var nullName = () => TextClassifier.FromTorchSharp(model, tokenizer, "embedding", [null!, "b"]);
        nullName.Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels").WithMessage("labels[0] is null*");
        var maxLength = () => TextClassifier.FromTorchSharp(model, tokenizer, "embedding", labels, maxLength: 0);
        maxLength.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "maxLength");
        using var small = new MaskedMeanModel(tokenizer.VocabularySize - 1, 6, 5, 2, callsForward: false);
        var vocabulary = () => TextClassifier.FromTorchSharp(small, tokenizer, "embedding", labels);
        vocabulary.Should().Throw<ArgumentException>().Where(e => e.ParamName == "tokenizer").WithMessage("*21 ids*20 rows*");

        // Logits that do not match the labels: a clear error at the first call.
        using var three = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["a", "b", "c"]);
        var wrongShape = () => three.Predict(["the film"]);
        wrongShape.Should().Throw<InvalidOperationException>().WithMessage("*returned Float32 [1, 2] for a batch of 1 text(s)*[batch = 1, labels = 3]*");
    }

    [Fact]
    public void The_head_is_the_users_and_one_output_without_one_is_a_regression()
    {
        var tokenizer = Tokenizer();
        using var two = new MaskedMeanModel(tokenizer.VocabularySize, 6, 5, 2, callsForward: false);
        Randomize(two, 4);
        using var multiLabel = TextClassifier.FromTorchSharp(two, tokenizer, "embedding", ["toxic", "spam"], head: OutputHead.MultiLabel);
        multiLabel.Head.Should().Be(OutputHead.MultiLabel);
        var prediction = multiLabel.Predict([Texts[0]])[0];
        prediction.Probabilities.Should().Equal(prediction.Logits.Select(x => 1 / (1 + Math.Exp(-x))), (a, b) => Math.Abs(a - b) < 1e-12,
            "a multi-label model's probabilities are a sigmoid per label, not a softmax");
        using var twoByDefault = TextClassifier.FromTorchSharp(two, tokenizer, "embedding", ["negative", "positive"]);
        twoByDefault.Head.Should().Be(OutputHead.SingleLabel);

        // One output: a softmax over it is 1 for every text (its gradient 0), so without a stated head it is a
        // regression, whose probability is refused rather than explained as zeros.
        using var one = new MaskedMeanModel(tokenizer.VocabularySize, 6, 5, 1, callsForward: false);
        Randomize(one, 5);
        using var regression = TextClassifier.FromTorchSharp(one, tokenizer, "embedding", ["score"]);
        regression.Head.Should().Be(OutputHead.Regression);
        regression.Predict([Texts[1]])[0].Probabilities.Should().BeEmpty();
        var probability = () => new Gradient().Explain(regression, Texts[1], new ExplainOptions { Score = ScoreOutput.Probability });
        probability.Should().Throw<ArgumentException>().WithMessage("*regression model*has no probability*");
        new GradientXInput().Explain(regression, Texts[1]).Scores.Should().Contain(s => Math.Abs(s) > 1e-6, "the output itself is explained");

        // Stating a single-label head for the one output is refused, as config.json's problem_type is by the loaders.
        var softmaxOfOne = () => TextClassifier.FromTorchSharp(one, tokenizer, "embedding", ["score"], head: OutputHead.SingleLabel);
        softmaxOfOne.Should().Throw<ArgumentException>().Where(e => e.ParamName == "head")
            .WithMessage("head is SingleLabel with one label (\"score\"): a softmax over one logit is 1 for every text*OutputHead.Regression*");
    }

    private static void Randomize(nn.Module model, ulong seed)
    {
        using var generator = new Generator(seed);
        using var noGrad = no_grad();
        foreach (var (_, p) in model.named_parameters())
        {
            using var values = randn(p.shape, p.dtype, generator: generator);
            p.copy_(values);
        }
    }
}

/// <summary>(ids, mask) → logits: Embedding → mean over the real tokens → Linear → Tanh → Linear. Not one of the library's.</summary>
public sealed class MaskedMeanModel : nn.Module<Tensor, Tensor, Tensor>
{
    // TorchSharp registers the fields by name: they are the module paths.
    public readonly Embedding embedding;
    public readonly Linear hidden;
    public readonly Tanh act;
    public readonly Linear output;
    private readonly bool callsForward;

    /// <param name="callsForward">Run the embedding with <c>embedding.forward(ids)</c> (the pitfall: no hook fires).</param>
    public MaskedMeanModel(long vocabulary, int dim, int hidden, int labels, bool callsForward)
        : base(nameof(MaskedMeanModel))
    {
        embedding = nn.Embedding(vocabulary, dim);
        this.hidden = nn.Linear(dim, hidden);
        act = nn.Tanh();
        output = nn.Linear(hidden, labels);
        this.callsForward = callsForward;
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids, Tensor mask) =>
        Head(callsForward ? embedding.forward(ids) : embedding.call(ids), mask);

    /// <summary>Everything after the embedding lookup: [batch, length, dim] embeddings and the mask → logits.</summary>
    public Tensor Head(Tensor embedded, Tensor mask)
    {
        var weights = mask.to(embedded.dtype).unsqueeze(-1);
        var mean = (embedded * weights).sum(1) / weights.sum(1);
        return output.call(act.call(hidden.call(mean)));
    }
}

/// <summary>Mean over the token dimension, [batch, length, h] → [batch, h]: a custom layer LRP has no rule for.</summary>
public sealed class MeanOverTokens() : nn.Module<Tensor, Tensor>(nameof(MeanOverTokens))
{
    public override Tensor forward(Tensor input) => input.mean([1]);
}

/// <summary>Explaining a wrapped model leaves no tensor behind (the adapter and the taps' extra handles included).</summary>
[Collection(LiveTensorCollection.Name)]
public sealed class TorchSharpClassifierLeakTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-own-model-leak-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static long Settled()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return LiveTensors.Count;
    }

    [Fact]
    public void Explain_leaves_no_tensor_behind()
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dull", "film", "superb", "cast"]);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        using var masked = new MaskedMeanModel(tokenizer.VocabularySize, 4, 3, 2, callsForward: false);
        using var sequential = nn.Sequential(("embedding", nn.Embedding(tokenizer.VocabularySize, 4)), ("pool", new MeanOverTokens()), ("output", nn.Linear(4, 2)));
        using var first = TextClassifier.FromTorchSharp(masked, tokenizer, "embedding", ["negative", "positive"]);
        using var second = TextClassifier.FromTorchSharp(sequential, tokenizer, "embedding", ["negative", "positive"]);
        string[] texts = ["a dull film", "a superb cast", "dull"];
        IAttributor[] methods = [new GradientXInput(), new IntegratedGradients { Steps = 8 }, new LayerConductance { Layer = "embedding", Steps = 4 }];
        foreach (var classifier in new[] { first, second })
        {
            Explainer.ExplainAll(classifier, texts, methods);
            var before = Settled();
            Explainer.ExplainAll(classifier, texts, methods);
            classifier.Predict(texts);
            Settled().Should().Be(before, classifier.Name);
        }
    }
}
