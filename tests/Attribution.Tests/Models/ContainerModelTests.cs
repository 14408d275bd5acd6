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
/// The user's own TorchSharp models that hold their layers in TorchSharp's containers (ModuleList, ModuleDict),
/// wrapped with <see cref="TextClassifier.FromTorchSharp(nn.Module{Tensor, Tensor}, ITokenizer, string, IReadOnlyList{string}, int?, string?, bool, OutputHead?)"/>:
/// the layers are addressed by the user's paths (<c>layers.1</c>, <c>blocks.proj</c>) and the scores agree with autograd
/// computed in the test, or the model is refused with the reason.
/// </summary>
public sealed class ContainerModelTests : IDisposable
{
    private static readonly ExplainOptions AllTokens = new()
    {
        Target = Target.Class(1),
        Salience = new SalienceOptions { KeepSpecialTokens = true },
    };

    private static readonly string[] Texts = ["the plot was dull", "a superb cast", "the film"];

    private readonly string root = Directory.CreateTempSubdirectory("attribution-container-model-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private ITokenizer Tokenizer()
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "plot", "cast", "film", "was", "dull", "superb"]);
        return TokenizerLoader.FromWordPieceVocab(vocab);
    }

    /// <summary>
    /// Gradient × Input at <paramref name="layer"/>'s output for <paramref name="ids"/> and class 1, by
    /// torch.autograd.grad in the test: the layer's output h is made a leaf, the rest of the model is <paramref name="rest"/>.
    /// </summary>
    private static double[] AutogradGradientXInput(Func<Tensor, Tensor> upTo, Func<Tensor, Tensor> rest, IReadOnlyList<long> ids)
    {
        using var scope = NewDisposeScope();
        Tensor h;
        using (no_grad())
        {
            h = upTo(tensor(ids.ToArray()).unsqueeze(0));
        }

        var leaf = h.detach().requires_grad_();
        var logit = rest(leaf)[0, 1];
        var gradient = autograd.grad([logit], [leaf])[0];
        return (gradient * leaf).sum(-1).squeeze(0).to(ScalarType.Float64).data<double>().ToArray();
    }

    /// <summary>
    /// Layers in a ModuleList run by a foreach loop: every layer method at <c>layers.1</c> gives the scores of the same
    /// layers run as a plain nn.Sequential (same module objects, same paths), and Gradient × Input there equals autograd.
    /// Tolerance 1e-5 relative and absolute: float32 sums of a handful of terms of order 1.
    /// </summary>
    [Fact]
    public void Layers_in_a_module_list_are_addressed_by_index_and_agree_with_autograd()
    {
        var tokenizer = Tokenizer();
        using var model = new ModuleListModel(tokenizer.VocabularySize);
        Randomize(model, 1);
        using var sequential = nn.Sequential(
            ("embedding", model.embedding),
            ("layers", nn.Sequential(("0", model.layers[0]), ("1", model.layers[1]), ("2", model.layers[2]))),
            ("pool", new MeanOverTokens()),
            ("output", model.output));
        using var listed = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"]);
        using var plain = TextClassifier.FromTorchSharp(sequential, tokenizer, "embedding", ["negative", "positive"]);
        listed.Module.SelfAndDescendants().Select(m => m.Path).Should().Equal("", "embedding", "layers", "layers.0", "layers.1", "layers.2", "output");
        listed.Module.Submodule("layers.1").Should().BeSameAs(model.layers[1]);
        listed.Module.PathOf(model.layers[2]).Should().Be("layers.2");

        IAttributor[] methods =
        [
            new Gradient { Layer = "layers.1" }, new GradientXInput { Layer = "layers.1" }, new IntegratedGradients { Layer = "layers.1", Steps = 8 },
            new LayerConductance { Layer = "layers.1", Steps = 8 }, new GradientShap { Layer = "layers.1", Seed = 3 },
            new LrpEpsilon { Rules = LrpRuleSet.Default.With<ModuleListModel>(LrpRules.Composite).With<MeanOverTokens>(LrpRules.Composite) },
        ];
        var fromList = Explainer.ExplainAll(listed, Texts, methods, AllTokens);
        var fromSequential = Explainer.ExplainAll(plain, Texts, methods, AllTokens);
        for (var m = 0; m < methods.Length; m++)
        {
            for (var i = 0; i < Texts.Length; i++)
            {
                fromList[m][i].Scores.Should().Equal(fromSequential[m][i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)), methods[m].Name);
            }
        }

        for (var i = 0; i < Texts.Length; i++)
        {
            var expected = AutogradGradientXInput(
                ids => model.layers[1].call(model.layers[0].call(model.embedding.call(ids))),
                h => model.output.call(model.layers[2].call(h).mean([1])),
                fromList[1][i].TokenIds);
            fromList[1][i].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)));
        }

        listed.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// A ModuleDict is a container like a ModuleList (it never runs as a module; its layers do): LRP gives it no rule
    /// of its own and its layers theirs. On this ReLU/Linear model LRP with ε = 0 is Gradient × Input at the
    /// embeddings, computed here by autograd. Tolerance as above.
    /// </summary>
    [Fact]
    public void Lrp_treats_a_module_dict_as_a_container()
    {
        var tokenizer = Tokenizer();
        using var model = new ModuleDictModel(tokenizer.VocabularySize);
        Randomize(model, 2);
        using var classifier = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"]);
        classifier.Module.Submodule("blocks.proj").Should().BeSameAs(model.blocks["proj"]);

        var rules = LrpRuleSet.Default.With<ModuleDictModel>(LrpRules.Composite);
        var results = new LrpEpsilon { Epsilon = 0, Rules = rules }.Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            var expected = AutogradGradientXInput(model.embedding.call, model.Head, results[i].TokenIds);
            results[i].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)));
        }

        classifier.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// Layers appended to a ModuleList after the owner's RegisterComponents() run in its forward pass but are in no
    /// module's children. Before, the model was wrapped without a word: LRP gave those layers no rule (the Sigmoid
    /// among them, which has none, was not refused), eval() left them in training mode, and Layer = "layers.1" was
    /// "no submodule". Now wrapping, paths and hooks refuse the model, naming the list, the layers and the fix; once
    /// the layers are registered (the fix the message gives), they are addressed and explained as usual.
    /// </summary>
    [Fact]
    public void Layers_added_to_a_module_list_after_registration_are_refused_naming_the_list()
    {
        var tokenizer = Tokenizer();
        using var model = new ModuleListModel(tokenizer.VocabularySize, appendAfterRegistering: true);
        Randomize(model, 3);
        model.layers[1].training.Should().BeTrue("TorchSharp's eval() does not reach an unregistered layer");

        var wrap = () => TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"]);
        var error = wrap.Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("model");
        var message = error.Message;
        message.Should().StartWith("the ModuleList 'layers' of the ModuleListModel module holds 3 module(s) that are not registered as its children (Linear, Sigmoid, Linear)")
            .And.Contain("RegisterComponents()").And.Contain("register_module(name, module)");

        // Why (TorchSharp registers a container's modules once; later ones run unseen by parameters(), state_dict(),
        // eval() and the library) and both fixes, each part of the text pinned.
        message.Should().Match(
            "*: TorchSharp registers a ModuleList's modules once, when the module that owns it calls RegisterComponents(), " +
            "so modules added to it afterwards (Add, append, Insert) still run in the forward pass*" +
            "not TorchSharp's parameters(), state_dict() or eval() (a new module stays in training mode), " +
            "and not the library, which could neither address nor hook them*" +
            "Fill the ModuleList before the owner's RegisterComponents() (e.g. nn.ModuleList(a, b, c) in its constructor), " +
            "or register each added module with register_module(name, module) on the container*");
        FluentActions.Invoking(() => model.PathOf(model.layers[1])).Should().Throw<ArgumentException>().WithMessage("the ModuleList 'layers'*");
        FluentActions.Invoking(() => ModuleHooks.Prepare(model)).Should().Throw<ArgumentException>().WithMessage("the ModuleList 'layers'*");

        using var standalone = nn.ModuleDict<nn.Module<Tensor, Tensor>>(("proj", nn.Linear(2, 2)));
        FluentActions.Invoking(() => standalone.Submodule("proj")).Should().Throw<ArgumentException>()
            .WithMessage("the ModuleDict given holds 1 module(s) that are not registered as its children (Linear): TorchSharp registers a ModuleDict's modules once*" +
                "Fill the ModuleDict before the owner's RegisterComponents() (e.g. nn.ModuleDict(a, b, c) in its constructor)*");

        // A layer added after wrapping is refused at the next explanation, naming the user's module (not the library's
        // wrapper around it, whose type users never see).
        var later = new ModuleListModel(tokenizer.VocabularySize);
        using (var wrapped = TextClassifier.FromTorchSharp(later, tokenizer, "embedding", ["negative", "positive"], ownsModel: true))
        {
            later.layers.append(nn.Identity());
            FluentActions.Invoking(() => new GradientXInput().Explain(wrapped, Texts[0])).Should().Throw<ArgumentException>()
                .WithMessage("the ModuleList 'layers' of the ModuleListModel module holds 1 module(s) that are not registered as its children (Identity)*");
        }

        for (var i = 0; i < model.layers.Count; i++)
        {
            model.layers.register_module($"{i}", model.layers[i]);
        }

        using var classifier = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"]);
        model.layers[1].training.Should().BeFalse();
        var result = new GradientXInput { Layer = "layers.1" }.Explain(classifier, Texts[0], AllTokens);
        var expected = AutogradGradientXInput(
            ids => model.layers[1].call(model.layers[0].call(model.embedding.call(ids))),
            h => model.output.call(model.layers[2].call(h).mean([1])),
            result.TokenIds);
        result.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)));
        var lrp = () => new LrpEpsilon { Rules = LrpRuleSet.Default.With<ModuleListModel>(LrpRules.Composite) }.Explain(classifier, Texts[0]);
        lrp.Should().Throw<LrpNotSupportedException>().Which.ModulePath.Should().Be("layers.1", "a Sigmoid has no LRP rule");
    }

    /// <summary>
    /// A ParameterList never runs as a module (its parameters are used by its owner's code, like a Parameter field), so
    /// it needs no LRP rule of its own: the owner's rule answers for that use. Before, LRP refused the model with "no
    /// relevance rule for 'weights' (ParameterList)", and the advice to give ParameterList a rule could not be followed
    /// (no hook fires on a module that never runs). Here the owner is linear (mean, then a product with the
    /// parameter), so LRP with ε = 0 under a Composite rule for it is Gradient × Input at the embeddings, by autograd.
    /// Tolerance as above.
    /// </summary>
    [Fact]
    public void Lrp_needs_no_rule_for_a_parameter_list()
    {
        var tokenizer = Tokenizer();
        using var model = new ParameterListModel(tokenizer.VocabularySize);
        Randomize(model, 4);
        using var classifier = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"]);

        var rules = LrpRuleSet.Default.With<ParameterListModel>(LrpRules.Composite);
        var results = new LrpEpsilon { Epsilon = 0, Rules = rules }.Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            var expected = AutogradGradientXInput(model.embedding.call, model.Head, results[i].TokenIds);
            results[i].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)));
        }
    }

    /// <summary>
    /// A layer reachable by two paths (here a field <c>alias</c> naming <c>layers.2</c>, as a tied layer would be) is one
    /// module and gets its LRP rule once. Before, the ε rule was attached at both paths and rewrote the layer's gradient
    /// twice: with ε = 0.5 the scores differed from those of the same weights without the alias by up to ~0.07 (on
    /// scores of ~0.4), silently. The reference is the model without the alias field (same layers, same forward); ε = 0.5 so
    /// that the ε rule is far from the identity. Tolerance 1e-6: the two runs do the same float32 operations.
    /// </summary>
    [Fact]
    public void Lrp_attaches_one_rule_to_a_layer_reachable_by_two_paths()
    {
        var tokenizer = Tokenizer();
        using var plain = new ModuleListModel(tokenizer.VocabularySize);
        using var aliased = new ModuleListModel(tokenizer.VocabularySize, aliasLastLayer: true);
        Randomize(plain, 5);
        Randomize(aliased, 5);
        aliased.SelfAndDescendants().Select(m => m.Path).Should().Contain(["layers.2", "alias"]);
        aliased.Submodule("alias").Should().BeSameAs(aliased.layers[2]);
        aliased.named_parameters().Select(p => p.name).Should().Equal(plain.named_parameters().Select(p => p.name), "the alias adds no parameter, so both get the same weights");

        using var reference = TextClassifier.FromTorchSharp(plain, tokenizer, "embedding", ["negative", "positive"]);
        using var classifier = TextClassifier.FromTorchSharp(aliased, tokenizer, "embedding", ["negative", "positive"]);
        var lrp = new LrpEpsilon { Epsilon = 0.5, Rules = LrpRuleSet.Default.With<ModuleListModel>(LrpRules.Composite) };
        var expected = lrp.Explain(reference, Texts, AllTokens);
        var results = lrp.Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            results[i].Scores.Should().Equal(expected[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6);
        }

        classifier.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
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

/// <summary>ids → logits with its layers in a ModuleList, run in a foreach loop: Embedding → Linear → Tanh → Linear → mean → Linear.</summary>
public sealed class ModuleListModel : nn.Module<Tensor, Tensor>
{
    public readonly Embedding embedding;
    public readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
    public readonly Linear output;
    public readonly nn.Module<Tensor, Tensor>? alias;

    /// <param name="vocabulary">Rows of the embedding table.</param>
    /// <param name="appendAfterRegistering">Append the layers (Linear, Sigmoid, Linear) to an empty list after
    /// RegisterComponents(), where TorchSharp no longer registers them.</param>
    /// <param name="aliasLastLayer">Also hold the last layer of the list in the field <c>alias</c> (its second path).</param>
    public ModuleListModel(long vocabulary, bool appendAfterRegistering = false, bool aliasLastLayer = false)
        : base(nameof(ModuleListModel))
    {
        embedding = nn.Embedding(vocabulary, 6);
        layers = appendAfterRegistering
            ? nn.ModuleList<nn.Module<Tensor, Tensor>>()
            : nn.ModuleList<nn.Module<Tensor, Tensor>>(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 5));
        output = nn.Linear(5, 2);
        alias = aliasLastLayer ? layers[2] : null;
        RegisterComponents();
        if (appendAfterRegistering)
        {
            layers.append(nn.Linear(6, 6), nn.Sigmoid(), nn.Linear(6, 5));
        }
    }

    public override Tensor forward(Tensor ids)
    {
        var x = embedding.call(ids);
        foreach (var layer in layers)
        {
            x = layer.call(x);
        }

        return output.call(x.mean([1]));
    }
}

/// <summary>ids → logits with its layers in a ModuleDict: Embedding → blocks["proj"] (Linear) → blocks["act"] (ReLU) → mean → Linear.</summary>
public sealed class ModuleDictModel : nn.Module<Tensor, Tensor>
{
    public readonly Embedding embedding;
    public readonly ModuleDict<nn.Module<Tensor, Tensor>> blocks;
    public readonly Linear output;

    public ModuleDictModel(long vocabulary)
        : base(nameof(ModuleDictModel))
    {
        embedding = nn.Embedding(vocabulary, 6);
        blocks = nn.ModuleDict<nn.Module<Tensor, Tensor>>(("proj", nn.Linear(6, 5)), ("act", nn.ReLU()));
        output = nn.Linear(5, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids) => Head(embedding.call(ids));

    /// <summary>Everything after the embedding lookup.</summary>
    public Tensor Head(Tensor embedded) => output.call(blocks["act"].call(blocks["proj"].call(embedded)).mean([1]));
}

/// <summary>ids → logits: Embedding → mean → product with weights[0] (a ParameterList) plus weights[1].</summary>
public sealed class ParameterListModel : nn.Module<Tensor, Tensor>
{
    public readonly Embedding embedding;
    public readonly ParameterList weights;

    public ParameterListModel(long vocabulary)
        : base(nameof(ParameterListModel))
    {
        embedding = nn.Embedding(vocabulary, 6);
        weights = new ParameterList(new Parameter(zeros(6, 2)), new Parameter(zeros(2)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids) => Head(embedding.call(ids));

    /// <summary>Everything after the embedding lookup.</summary>
    public Tensor Head(Tensor embedded) => embedded.mean([1]).matmul(weights[0]).Plus(weights[1]);
}
