using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// A TorchScript classifier (inputs_embeds, attention_mask) → logits, written by <see cref="TorchScriptWriter"/> with
/// known weights, loaded with <see cref="TextClassifier.FromTorchScript"/> and explained.
/// </summary>
public sealed class TorchScriptClassifierTests(ITestOutputHelper output) : IDisposable
{
    private const int Dim = 6, Hidden = 5, Labels = 2;

    private static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "the", "a", "plot", "cast", "film", "movie", "##s", "was", "were", "dull", "superb", "not", "bad", "but", "gripping", "boring",
    ];

    /// <summary>Masked mean of the embeddings → Dense → tanh → Dense; the embedding table is the parameter <c>embeddings.weight</c>.</summary>
    internal const string Source = """
        class Embeddings(Module):
          __parameters__ = ["weight", ]
          __buffers__ = []
          weight : Tensor
          training : bool
          def forward(self: __torch__.Embeddings,
            input_ids: Tensor) -> Tensor:
            return torch.embedding(self.weight, input_ids)
        class Dense(Module):
          __parameters__ = ["weight", "bias", ]
          __buffers__ = []
          weight : Tensor
          bias : Tensor
          training : bool
          def forward(self: __torch__.Dense,
            input: Tensor) -> Tensor:
            return torch.linear(input, self.weight, self.bias)
        class Classifier(Module):
          __parameters__ = []
          __buffers__ = []
          training : bool
          __annotations__["embeddings"] = __torch__.Embeddings
          __annotations__["hidden"] = __torch__.Dense
          __annotations__["output"] = __torch__.Dense
          def forward(self: __torch__.Classifier,
            inputs_embeds: Tensor,
            attention_mask: Tensor) -> Tensor:
            weights = torch.unsqueeze(attention_mask, -1)
            summed = torch.sum(torch.mul(inputs_embeds, weights), [1])
            count = torch.sum(weights, [1])
            hidden = torch.tanh((self.hidden).forward(torch.div(summed, count), ))
            return (self.output).forward(hidden, )

        """;

    internal readonly string root = Directory.CreateTempSubdirectory("attribution-torchscript-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    internal sealed record Weights(float[] Embeddings, float[] HiddenWeight, float[] HiddenBias, float[] OutputWeight, float[] OutputBias);

    internal static Weights MakeWeights(int seed = 7)
    {
        var random = new Random(seed);
        float[] Values(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        return new Weights(Values(Vocabulary.Length * Dim, 1), Values(Hidden * Dim, 0.8), Values(Hidden, 0.3), Values(Labels * Hidden, 0.8), Values(Labels, 0.3));
    }

    /// <summary>
    /// <see cref="Source"/> with dropout (p = 0.5) on the hidden layer, as <c>torch.jit.script</c> writes
    /// <c>F.dropout(x, 0.5, self.training)</c>: it drops only while the module is in training mode.
    /// </summary>
    private static readonly string DropoutSource = Source.Replace(
        "hidden = torch.tanh((self.hidden).forward(torch.div(summed, count), ))",
        "hidden = torch.dropout(torch.tanh((self.hidden).forward(torch.div(summed, count), )), 0.5, self.training)", StringComparison.Ordinal);

    /// <summary>What <c>torch.jit.trace</c> of a module in training mode records: the flag is a constant, dropout always on.</summary>
    private static readonly string TracedDropoutSource = DropoutSource.Replace("0.5, self.training)", "0.5, True)", StringComparison.Ordinal);

    /// <summary>Writes the TorchScript file and returns its path.</summary>
    internal string WriteScript(Weights w, string name = "classifier.pt", string source = Source, bool training = false)
    {
        var path = Path.Combine(root, name);
        TorchScriptWriter.Module Dense(float[] weight, float[] bias, long outputs, long inputs) =>
            new("Dense", [("weight", weight, [outputs, inputs]), ("bias", bias, [outputs])], []);
        var model = new TorchScriptWriter.Module("Classifier", [],
        [
            ("embeddings", new TorchScriptWriter.Module("Embeddings", [("weight", w.Embeddings, [Vocabulary.Length, Dim])], [], training)),
            ("hidden", Dense(w.HiddenWeight, w.HiddenBias, Hidden, Dim) with { Training = training }),
            ("output", Dense(w.OutputWeight, w.OutputBias, Labels, Hidden) with { Training = training }),
        ], training);
        TorchScriptWriter.Write(path, model, source);
        return path;
    }

    /// <summary>The same computation with TorchSharp ops: logits of embeddings [batch, length, dim] under a float mask.</summary>
    private static Tensor Reference(Weights w, Tensor embedded, Tensor mask)
    {
        var m = mask.to(ScalarType.Float32).unsqueeze(-1);
        var mean = (embedded * m).sum(1) / m.sum(1);
        var hidden = nn.functional.linear(mean, tensor(w.HiddenWeight).reshape(Hidden, Dim), tensor(w.HiddenBias)).tanh();
        return nn.functional.linear(hidden, tensor(w.OutputWeight).reshape(Labels, Hidden), tensor(w.OutputBias));
    }

    [Fact]
    public void The_written_file_loads_and_computes_what_torchsharp_computes()
    {
        var w = MakeWeights();
        var path = WriteScript(w);
        output.WriteLine($"{new FileInfo(path).Length} bytes");
        using var script = jit.load<Tensor, Tensor, Tensor>(path);
        using var scope = NewDisposeScope();
        var table = tensor(w.Embeddings).reshape(Vocabulary.Length, Dim);
        var ids = tensor(new long[] { 2, 5, 7, 12, 14, 3, 0, 2, 6, 19, 9, 3, 0, 0 }).reshape(2, 7);
        var mask = ids.NotEqualTo(0).to(ScalarType.Float32);
        var embedded = table.index_select(0, ids.flatten()).reshape(2, 7, Dim);
        var logits = script.call(embedded, mask);
        var expected = Reference(w, embedded, mask);
        output.WriteLine(string.Join(", ", logits.data<float>().ToArray()));
        logits.allclose(expected, rtol: 1e-6, atol: 1e-6).Should().BeTrue();
    }

    private static readonly ExplainOptions AllTokens = new()
    {
        Target = Target.Class(1),
        Salience = new SalienceOptions { KeepSpecialTokens = true },
    };

    private static readonly string[] Texts = ["the plot was dull but the cast was superb", "a gripping film", "the movies were not bad"];

    internal static readonly string[] LabelNames = ["negative", "positive"];

    internal ITokenizer Tokenizer()
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, Vocabulary);
        return TokenizerLoader.FromWordPieceVocab(vocab);
    }

    private TextClassifier Classifier(out Weights weights, out string path)
    {
        weights = MakeWeights();
        path = WriteScript(weights);
        return TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"), maxLength: 32);
    }

    /// <summary>The target logit and its gradient at the embeddings, by torch.autograd.grad on the script loaded separately.</summary>
    private static (double Logit, Tensor Embedded, Tensor Gradient) Autograd(string path, Weights w, long[] ids)
    {
        using var script = jit.load<Tensor, Tensor, Tensor>(path);
        var table = tensor(w.Embeddings).reshape(Vocabulary.Length, Dim);
        var embedded = table.index_select(0, tensor(ids)).unsqueeze(0).detach().requires_grad_();
        var logit = script.call(embedded, ones(1, ids.Length))[0, 1];
        var gradient = autograd.grad([logit], [embedded])[0];
        return (logit.ItemAsDouble(), embedded.detach(), gradient);
    }

    [Fact]
    public void The_classifier_predicts_what_torchsharp_computes_and_exposes_only_the_embeddings()
    {
        using var classifier = Classifier(out var w, out _);
        classifier.Name.Should().Be("classifier");
        classifier.WordEmbeddingPath.Should().Be("embeddings");
        classifier.Module.SelfAndDescendants().Select(m => m.Path).Should().Equal("", "embeddings");
        var predictions = classifier.Predict(Texts);
        using var scope = NewDisposeScope();
        var batch = classifier.Encode(Texts);
        var table = tensor(w.Embeddings).reshape(Vocabulary.Length, Dim);
        var ids = batch.Input.InputIds;
        var embedded = table.index_select(0, ids.flatten()).reshape(ids.size(0), ids.size(1), Dim);
        var expected = Reference(w, embedded, batch.Input.AttentionMask!).to(ScalarType.Float64).data<double>().ToArray();
        predictions.SelectMany(p => p.Logits).Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-6);
    }

    /// <summary>Gradient × Input = Σ_h e ⊙ ∂logit/∂e and Gradient = ‖∂logit/∂e‖₂ per token, by autograd on the script in the test.</summary>
    [Fact]
    public void Gradient_methods_equal_autograd_at_the_embedding_input()
    {
        using var classifier = Classifier(out var w, out var path);
        var gxi = new GradientXInput().Explain(classifier, Texts, AllTokens);
        var gradient = new Gradient().Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var (logit, embedded, g) = Autograd(path, w, [.. gxi[i].TokenIds]);
            var expectedGxi = (g * embedded).sum(-1).squeeze(0).to(ScalarType.Float64).data<double>().ToArray();
            var expectedNorm = g.Squared().sum(-1).sqrt().squeeze(0).to(ScalarType.Float64).data<double>().ToArray();
            var worst = gxi[i].Scores.Zip(expectedGxi, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"text {i}: max |GxI − autograd| = {worst:E2}");
            gxi[i].Scores.Should().Equal(expectedGxi, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)));
            gradient[i].Scores.Should().Equal(expectedNorm, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)));
            gxi[i].Logits[1].Should().BeApproximately(logit, 1e-5);
        }

        classifier.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// Completeness: Σ IG = F(x) − F(x′), F the target logit of the script called directly, x′ the pad baseline.
    /// Tolerance: 1e-4 · max(1, |F(x) − F(x′)|) (50 Gauss–Legendre steps, float32).
    /// </summary>
    [Fact]
    public void Integrated_gradients_are_complete_against_the_scripts_own_logits()
    {
        using var classifier = Classifier(out var w, out var path);
        var tokenizer = classifier.Tokenizer;
        var results = new IntegratedGradients().Explain(classifier, Texts, AllTokens);
        for (var i = 0; i < Texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var encoding = tokenizer.Encode(Texts[i]);
            var baseline = encoding.Ids.Select((id, t) => encoding.SpecialTokensMask[t] ? id : tokenizer.PadId).ToArray();
            var difference = Autograd(path, w, encoding.Ids).Logit - Autograd(path, w, baseline).Logit;
            var sum = results[i].Scores.Sum();
            output.WriteLine($"text {i}: Σ IG = {sum:G6}, F(x) − F(x′) = {difference:G6}, gap {sum - difference:E2}");
            sum.Should().BeApproximately(difference, 1e-4 * Math.Max(1, Math.Abs(difference)));
        }
    }

    [Fact]
    public void Lime_gives_one_score_per_word()
    {
        using var classifier = Classifier(out _, out _);
        var lime = new Lime { Samples = 64, Seed = 3 }.Explain(classifier, Texts[2]);
        lime.Words.Select(w => w.Text).Should().Equal("the", "movies", "were", "not", "bad");
        lime.Words.Should().OnlyContain(w => double.IsFinite(w.Score));
    }

    /// <summary>Layer methods at a layer inside the script refuse, naming the setting and why; at the embeddings they run.</summary>
    [Fact]
    public void Layer_methods_inside_the_script_refuse_with_the_reason()
    {
        using var classifier = Classifier(out _, out _);
        TextAttributor[] inside =
        [
            new IntegratedGradients { Layer = "hidden", Steps = 4 }, new GradientXInput { Layer = "embeddings.weight" },
            new LayerConductance { Layer = "hidden", Steps = 4 }, new NeuronConductance { Layer = "output", Position = 0, Unit = 0, Steps = 4 },
            new LayerConductance { Layer = "embeddings", InputLayer = "hidden", Steps = 4 },
        ];
        foreach (var method in inside)
        {
            var act = () => method.Explain(classifier, Texts[1]);
            var error = act.Should().Throw<ArgumentException>().Which;
            output.WriteLine($"{method.Name}: [{error.ParamName}] {error.Message}");
            error.ParamName.Should().BeOneOf("Layer", "InputLayer");
            error.Message.Should().Contain("is a TorchScript model").And.Contain("no .NET hook fires").And.Contain("leave " + error.ParamName + " unset");
        }

        new LayerConductance { Layer = "embeddings", Steps = 4 }.Explain(classifier, Texts[1]).Scores.Should().OnlyContain(s => double.IsFinite(s));
    }

    [Fact]
    public void Lrp_refuses_the_script_by_path_and_type()
    {
        using var classifier = Classifier(out _, out _);
        var act = () => new LrpEpsilon().Explain(classifier, Texts[1]);
        var error = act.Should().Throw<LrpNotSupportedException>().Which;
        output.WriteLine(error.Message);
        error.ModulePath.Should().Be("");
        error.ModuleType.Should().Be(typeof(jit.ScriptModule<Tensor, Tensor, Tensor>));
        error.Message.Should().Contain("'(the model)' (ScriptModule<Tensor, Tensor, Tensor>)").And.Contain("TorchScript interpreter");
    }

    /// <summary>The embedding matrix from a safetensors file instead of the script's parameter gives the same model.</summary>
    [Fact]
    public void The_embedding_matrix_can_come_from_a_safetensors_file()
    {
        using var classifier = Classifier(out var w, out var path);
        var file = Path.Combine(root, "embeddings.safetensors");
        using (var table = tensor(w.Embeddings).reshape(Vocabulary.Length, Dim))
        {
            SafeTensors.Save(file, new Dictionary<string, Tensor> { ["word_embeddings"] = table });
        }

        using var fromFile = TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.SafeTensors(file, "word_embeddings"));
        fromFile.Predict(Texts).Select(p => p.Logits).Should().BeEquivalentTo(classifier.Predict(Texts).Select(p => p.Logits), o => o.WithStrictOrdering());

        var missing = () => TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.SafeTensors(file, "embeddings"));
        missing.Should().Throw<ModelLoadException>().WithMessage("*has no tensor \"embeddings\"; its tensors: word_embeddings*");
    }

    /// <summary>
    /// A module scripted and saved in training mode (every <c>training</c> flag true) runs its dropout only in training
    /// mode: the classifier puts it in eval mode, so its logits are those of the model without dropout (the TorchSharp
    /// reference, 1e-6 as in the test above), call after call.
    /// </summary>
    /// <summary>
    /// A tokenizer that adds no special tokens (ids only, as a user's own may be) loads: the load's probe puts its one
    /// id between whatever opening and closing tokens the tokenizer adds, none here. The script's logits for "3 4" are
    /// those of the reference computation.
    /// </summary>
    /// <summary>
    /// Without a name the classifier takes the file's name without its extension; a file named only ".pt" keeps ".pt",
    /// where the empty stem was refused as a blank name the caller never gave.
    /// </summary>
    [Fact]
    public void The_default_name_is_the_files_stem_or_the_whole_name_when_no_stem_is_left()
    {
        var weights = MakeWeights();
        using (var named = TextClassifier.FromTorchScript(WriteScript(weights, "sentiment.pt"), Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight")))
        {
            named.Name.Should().Be("sentiment");
        }

        using var bare = TextClassifier.FromTorchScript(WriteScript(weights, ".pt"), Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));
        bare.Name.Should().Be(".pt");
    }

    [Fact]
    public void A_tokenizer_without_special_tokens_loads_and_predicts()
    {
        var w = MakeWeights();
        var path = WriteScript(w);
        var tokenizer = new Attribution.Tests.Methods.IdsTokenizer(-1, -2, 0, Vocabulary.Length);
        tokenizer.Encode(string.Empty).Ids.Should().BeEmpty();
        using var classifier = TextClassifier.FromTorchScript(path, tokenizer, LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));

        using var scope = NewDisposeScope();
        var embedded = tensor(w.Embeddings).reshape(Vocabulary.Length, Dim).index_select(0, tensor(new long[] { 3, 4 })).unsqueeze(0);
        var expected = Reference(w, embedded, ones(1, 2, dtype: ScalarType.Int64)).to(ScalarType.Float64).data<double>().ToArray();
        classifier.Predict(["3 4"])[0].Logits.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-6);
    }

    [Fact]
    public void A_script_saved_in_training_mode_runs_in_eval_mode()
    {
        var w = MakeWeights();
        var path = WriteScript(w, "scripted-training.pt", DropoutSource, training: true);
        using (var raw = jit.load<Tensor, Tensor, Tensor>(path))
        {
            raw.training.Should().BeTrue("the file was saved in training mode");
        }

        using var classifier = TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));
        using var scope = NewDisposeScope();
        var batch = classifier.Encode(Texts);
        var ids = batch.Input.InputIds;
        var embedded = tensor(w.Embeddings).reshape(Vocabulary.Length, Dim).index_select(0, ids.flatten()).reshape(ids.size(0), ids.size(1), Dim);
        var expected = Reference(w, embedded, batch.Input.AttentionMask!).to(ScalarType.Float64).data<double>().ToArray();
        for (var call = 0; call < 3; call++)
        {
            classifier.Predict(Texts).SelectMany(p => p.Logits).Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-6);
        }
    }

    /// <summary>
    /// A module traced in training mode keeps dropout on whatever its mode (the trace records the flag as True): its
    /// logits differ from call to call, and the load refuses it, naming the file and the fix. With p = 0.5 on 5 hidden
    /// units, a probe row gets the same dropout mask in both calls with probability 1/32, all four rows with (1/32)^4.
    /// </summary>
    [Fact]
    public void A_script_traced_in_training_mode_is_refused_at_load()
    {
        var path = WriteScript(MakeWeights(), "traced-training.pt", TracedDropoutSource);

        var act = () => TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));

        // Under a culture with a decimal comma, the spread is still written "0.5", not "0,5", as every number of the library's messages.
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = TestCultures.DecimalComma;
        ModelLoadException error;
        try
        {
            error = act.Should().Throw<ModelLoadException>().Which;
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }

        output.WriteLine(error.Message);
        error.FilePath.Should().Be(path);
        error.Message.Should().Contain("(scriptPath) gives different logits for the same input on every call, in eval mode")
            .And.Contain("model.eval() before torch.jit.trace")
            .And.MatchRegex(@"up to [0-9]+(\.[0-9]+)?(E[-+][0-9]+)? apart");
    }

    /// <summary>
    /// A forward that returns a tuple (what a Hugging Face model exported with torchscript=True returns, when the
    /// wrapper forgets the [0]) is an error naming what came back and the fix, not TorchSharp's bare cast error.
    /// </summary>
    [Fact]
    public void A_script_returning_a_tuple_is_an_error_naming_the_fix()
    {
        var tuple = Source.Replace("attention_mask: Tensor) -> Tensor:", "attention_mask: Tensor) -> Tuple[Tensor, Tensor]:", StringComparison.Ordinal)
            .Replace("return (self.output).forward(hidden, )", "return ((self.output).forward(hidden, ), hidden)", StringComparison.Ordinal);
        var path = WriteScript(MakeWeights(), "tuple.pt", tuple);

        var act = () => TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));

        var error = act.Should().Throw<InvalidOperationException>().Which;
        output.WriteLine(error.Message);
        error.Message.Should().Contain("returned something other than one tensor").And.Contain("ValueTuple")
            .And.Contain("logits [batch, labels = 2]").And.Contain("return model(...)[0]");
    }

    /// <summary>
    /// A script ending in a softmax returns probabilities; the classifier (a softmax head) would apply the softmax
    /// again, so [0.9, 0.1] would be reported as [0.69, 0.31]. The load refuses it. A log-softmax is fine (its softmax
    /// is the model's probabilities), and so is a one-output regression, whatever its values.
    /// </summary>
    [Fact]
    public void A_script_returning_probabilities_is_refused_at_load()
    {
        var w = MakeWeights();
        string Ending(string function) =>
            Source.Replace("return (self.output).forward(hidden, )", $"return torch.{function}((self.output).forward(hidden, ), -1)", StringComparison.Ordinal);
        var path = WriteScript(w, "softmax.pt", Ending("softmax"));

        var act = () => TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));

        var error = act.Should().Throw<ModelLoadException>().Which;
        output.WriteLine(error.Message);
        error.FilePath.Should().Be(path);
        error.Message.Should().Contain("returns probabilities, not logits").And.Contain("Return the logits, before the softmax");

        using var logSoftmax = TextClassifier.FromTorchScript(WriteScript(w, "log-softmax.pt", Ending("log_softmax")), Tokenizer(), LabelNames,
            ScriptEmbeddings.Parameter("embeddings.weight"));
        using var plain = Classifier(out _, out _);
        logSoftmax.Predict(Texts).Select(p => p.Probabilities).Should().BeEquivalentTo(
            plain.Predict(Texts).Select(p => p.Probabilities), o => o.WithStrictOrdering().Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-6)).WhenTypeIs<double>());
    }

    /// <summary>
    /// A half-precision script ending in a softmax: each probability is rounded to float16 (within 2^-11, relative) or
    /// bfloat16 (within 2^-8), so a row's sum misses 1 by up to about 5e-4 or 4e-3, far beyond the float32 tolerance
    /// (1e-5) the probe used for every script; such a script was accepted and its probabilities put through a second
    /// softmax. Now the probe allows the rounding of the type the script returned (LogitMath's HalfSumTolerance 1e-3 and
    /// BFloat16SumTolerance 8e-3, as the ONNX classifier does). The same scripts returning half-precision logits (no
    /// softmax) still load.
    /// </summary>
    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void A_half_precision_script_returning_probabilities_is_refused_at_load(ScalarType type)
    {
        // torch.to(x, dtype) as TorchScript writes it, with the dtype's number (5 float16, 15 bfloat16).
        var cast = (int)type;
        var w = MakeWeights();
        string Ending(string result) =>
            Source.Replace("return (self.output).forward(hidden, )", $"return {result}", StringComparison.Ordinal);
        var path = WriteScript(w, $"softmax-{cast}.pt", Ending($"torch.softmax(torch.to((self.output).forward(hidden, ), {cast}), -1)"));

        // The rows really miss 1 by more than float32's tolerance: the script itself, on the embeddings of four texts.
        using (var script = jit.load<Tensor, Tensor, Tensor>(path))
        using (var scope = NewDisposeScope())
        {
            var table = tensor(w.Embeddings).reshape(Vocabulary.Length, Dim);
            var ids = tensor(new long[] { 2, 5, 3, 2, 9, 3, 2, 14, 3, 2, 19, 3 }).reshape(4, 3);
            var rows = script.call(table.index_select(0, ids.flatten()).reshape(4, 3, Dim), ones(4, 3));
            rows.dtype.Should().Be(type);
            var sums = rows.to(ScalarType.Float64).sum(1).data<double>().ToArray();
            output.WriteLine(string.Join(", ", sums));
            sums.Should().Contain(s => Math.Abs(s - 1) > 1e-5, "half-precision rounding moves some row's sum off 1 by more than float32's tolerance");
        }

        var act = () => TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));

        var error = act.Should().Throw<ModelLoadException>().Which;
        output.WriteLine(error.Message);
        error.FilePath.Should().Be(path);
        error.Message.Should().Contain("returns probabilities, not logits").And.Contain("Return the logits, before the softmax");

        using var logits = TextClassifier.FromTorchScript(WriteScript(w, $"logits-{cast}.pt", Ending($"torch.to((self.output).forward(hidden, ), {cast})")), Tokenizer(),
            LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));
        logits.Predict(Texts).Should().HaveCount(Texts.Length);
    }

    /// <summary>
    /// A forward that takes token_type_ids too, or only the embeddings, fails in libtorch's argument check, whose
    /// message is the error and then a C++ stack; the error, not the stack's last frame, is what the message quotes.
    /// </summary>
    [Fact]
    public void A_script_taking_other_arguments_is_an_error_quoting_libtorch()
    {
        var w = MakeWeights();
        var three = Source.Replace("attention_mask: Tensor) -> Tensor:", "attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:", StringComparison.Ordinal);
        var one = System.Text.RegularExpressions.Regex.Replace(Source, @"inputs_embeds: Tensor,\s*attention_mask: Tensor\) -> Tensor:", "inputs_embeds: Tensor) -> Tensor:")
            .Replace("weights = torch.unsqueeze(attention_mask, -1)", "weights = torch.ones([1, 1, 1])", StringComparison.Ordinal);
        foreach (var (name, source, said) in new[]
                 {
                     ("three", three, "TorchScript said: forward() is missing value for argument 'token_type_ids'"),
                     ("one", one, "TorchScript said: Expected at most 2 argument(s) for operator 'forward'"),
                 })
        {
            var path = WriteScript(w, name + ".pt", source);
            var act = () => TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));
            var error = act.Should().Throw<InvalidOperationException>().Which;
            output.WriteLine(error.Message);
            error.Message.Should().Contain("its forward must take exactly these two tensors").And.Contain(said).And.NotContain("frame #");
        }
    }

    /// <summary>
    /// The usual export traces the model on token ids: forward(input_ids, attention_mask). Given embeddings, its own
    /// lookup refuses float indices, and the message blamed the embedding matrix ("probably not this model's own"). It
    /// now says the script takes ids and how to trace one that takes embeddings, quoting libtorch.
    /// </summary>
    [Fact]
    public void A_script_taking_token_ids_is_an_error_saying_so_and_how_to_export()
    {
        var ids = Source.Replace("inputs_embeds: Tensor,\n    attention_mask: Tensor) -> Tensor:\n",
            "input_ids: Tensor,\n    attention_mask: Tensor) -> Tensor:\n    inputs_embeds = (self.embeddings).forward(input_ids, )\n", StringComparison.Ordinal);
        ids.Should().NotBe(Source);
        var path = WriteScript(MakeWeights(), "ids.pt", ids);

        var act = () => TextClassifier.FromTorchScript(path, Tokenizer(), LabelNames, ScriptEmbeddings.Parameter("embeddings.weight"));

        var error = act.Should().Throw<InvalidOperationException>().Which;
        output.WriteLine(error.Message);
        error.Message.Should().Contain("takes token ids, not embeddings").And.Contain("forward(inputs_embeds, attention_mask)")
            .And.Contain("TorchScript said: ").And.Contain("'indices'").And.NotContain("probably not this model's own");
    }

    /// <summary>
    /// Label names follow the rule of every loader: a repeated name is kept, as a Hugging Face id2label's is (a target
    /// named by it is refused when resolved), an empty one is refused by index.
    /// </summary>
    [Fact]
    public void Repeated_label_names_load_and_an_empty_one_is_refused()
    {
        var path = WriteScript(MakeWeights());
        var embeddings = ScriptEmbeddings.Parameter("embeddings.weight");
        using (var model = TextClassifier.FromTorchScript(path, Tokenizer(), ["same", "same"], embeddings))
        {
            model.Labels.Should().Equal("same", "same");
        }

        var unnamed = () => TextClassifier.FromTorchScript(path, Tokenizer(), ["same", ""], embeddings);
        unnamed.Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels").WithMessage("labels[1] is empty*");
    }

    [Fact]
    public void Bad_inputs_are_typed_errors_naming_the_argument_and_the_fix()
    {
        var w = MakeWeights();
        var path = WriteScript(w);
        var tokenizer = Tokenizer();
        var embeddings = ScriptEmbeddings.Parameter("embeddings.weight");

        var missingFile = () => TextClassifier.FromTorchScript(Path.Combine(root, "absent.pt"), tokenizer, LabelNames, embeddings);
        missingFile.Should().Throw<FileNotFoundException>().WithMessage("*absent.pt' (scriptPath) does not exist*torch.jit.save*");

        var notScript = Path.Combine(root, "vocab.txt");
        var wrongFile = () => TextClassifier.FromTorchScript(notScript, tokenizer, LabelNames, embeddings);
        var loadError = wrongFile.Should().Throw<ModelLoadException>().Which;
        output.WriteLine(loadError.Message);
        loadError.Message.Should().Contain("(scriptPath) is not a TorchScript file").And.Contain("torch.jit.save");
        loadError.FilePath.Should().Be(notScript);

        var wrongName = () => TextClassifier.FromTorchScript(path, tokenizer, LabelNames, ScriptEmbeddings.Parameter("word_embeddings.weight"));
        var nameError = wrongName.Should().Throw<ArgumentException>().Which;
        output.WriteLine(nameError.Message);
        nameError.ParamName.Should().Be("embeddings");
        nameError.Message.Should().Contain("no parameter 'word_embeddings.weight'")
            .And.Contain("embeddings.weight, hidden.weight, hidden.bias, output.weight, output.bias");

        var small = () => TextClassifier.FromTorchScript(path, tokenizer, LabelNames, ScriptEmbeddings.Parameter("hidden.weight"));
        small.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("tokenizer", "hidden.weight has 5 rows for 21 ids");

        // The load runs the script on four one-token texts (twice): wrong logits fail there.
        var threeLabels = () => TextClassifier.FromTorchScript(path, tokenizer, ["a", "b", "c"], embeddings);
        threeLabels.Should().Throw<InvalidOperationException>().WithMessage("*returned Float32 [4, 2]*labels = 3*");

        // So does a matrix of the wrong width (the script's expectation is unknown until it runs).
        var file = Path.Combine(root, "narrow.safetensors");
        using (var narrow = rand(Vocabulary.Length, Dim - 2))
        {
            SafeTensors.Save(file, new Dictionary<string, Tensor> { ["w"] = narrow });
        }

        var wrongWidth = () => TextClassifier.FromTorchScript(path, tokenizer, LabelNames, ScriptEmbeddings.SafeTensors(file, "w"));
        var widthError = wrongWidth.Should().Throw<InvalidOperationException>().Which;
        output.WriteLine(widthError.Message);
        widthError.Message.Should().Contain("inputs_embeds Float32 [4, 3, 4]").And.Contain("its width is 4").And.Contain("pass the model's word-embedding matrix").And.Contain("shapes cannot be multiplied");
    }
}
