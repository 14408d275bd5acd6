using Attribution.Engine;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Methods;
using Attribution.Tests.Models;
using Attribution.Tests.Models.Small;
using Attribution.Text.Tokenizers;
using TorchSharp;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// A service cancels a scorecard (every method on every text, then each metric's own model passes: minutes on a big
/// model) or a max-sensitivity call (one run of the method per sample) with a token: the call stops at the next
/// check, throws <see cref="OperationCanceledException"/>, frees every tensor it made, leaves no hook, and the model
/// gives the same report afterwards. Promptness is counted in forward passes after the one that cancelled, never timed.
/// Runs alone: the live tensor count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class EvaluationCancellationTests : IDisposable
{
    // ScorecardPassCountTests counts the passes of this class's scorecard run: the same texts and settings.
    internal static readonly string[] Texts = ["the plot was dull but the cast was superb", "a sometimes tedious film"];

    internal static readonly ScorecardSettings Settings = new()
    {
        Infidelity = new InfidelitySettings { Samples = 3 },
        Sensitivity = new SensitivitySettings { Samples = 3 },
    };

    private readonly string root = Directory.CreateTempSubdirectory("attribution-evaluation-cancel-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Cancelled at every forward pass of a whole run but the last in turn (31 on this model; 33 before max-sensitivity's prediction was its reference pass, 37 before the methods shared
    /// each text's τ-LOO drops, 43 before infidelity ran its text once: inside either method's explanations, inside each
    /// metric of each text): no forward pass follows the
    /// cancelling one. Before ScorecardSettings.Cancellation nothing could stop a run: it went on to the end and returned
    /// (a cancelled one, 42 passes more of the 43 then); then one pass could
    /// follow, as infidelity read the word-embedding output in two passes (the context's prediction, then the capture)
    /// with no check between.
    /// </summary>
    [Fact]
    public void A_scorecard_cancelled_at_any_pass_stops_there_and_leaves_the_model_as_it_was()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        IAttributor[] methods = [new GradientXInput(), new Occlusion()];
        var expected = Scorecard.Run(model, Texts, methods, settings: Settings);
        var total = ForwardCounter.Count(model, () => Scorecard.Run(model, Texts, methods, settings: Settings));

        total.Should().BeGreaterThan(10, "the run has passes in both methods and in every metric to cancel at");
        var before = LiveTensors.Settled();
        // Cancelled during the last pass, nothing is left to stop: the run may return its report.
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => Scorecard.Run(model, Texts, methods, settings: Settings with { Cancellation = token }));

        LiveTensors.Settled().Should().Be(before, "a cancelled run frees every tensor it made");
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "a cancelled run removes its hooks");
        var after = Scorecard.Run(model, Texts, methods, settings: Settings);
        after.Rows.Select(r => r.Metrics).Should().BeEquivalentTo(expected.Rows.Select(r => r.Metrics), "the model answers as before (bit for bit)");
        after.Rows.Select(r => r.Agreement).Should().Equal(expected.Rows.Select(r => r.Agreement));
    }

    /// <summary>
    /// Occlusion on two texts of a TorchSharp model runs each text's unperturbed input, then its coalitions (one batch
    /// each here). Cancelled during the first text's coalitions, the second text's unperturbed input must not run:
    /// before, only the coalition scorer checked the token, so one pass (2 of 4) followed the cancelling one.
    /// </summary>
    [Fact]
    public void Occlusion_cancelled_in_one_text_runs_nothing_of_the_next()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var total = ForwardCounter.Count(model, () => new Occlusion().Attribute(model, Texts));

        total.Should().Be(4, "per text one unperturbed pass and one batch of its 9 or 4 occluded inputs");
        using var cancel = new CancelAtPass(model.Module, 2);
        FluentActions.Invoking(() => new Occlusion().Attribute(model, Texts, new AttributionOptions { Cancellation = cancel.Token }))
            .Should().Throw<OperationCanceledException>();
        cancel.Passes.Should().Be(2, "the second text's unperturbed input does not run after a cancellation in the first text's coalitions");
    }

    /// <summary>
    /// Max-sensitivity of the gradient runs the gradient once at the text, then once per sample: cancelled during the
    /// reference pass, no sample runs. Before, the loop over samples never looked at the token (the gradient itself has
    /// no batches to check between), so all 5 samples ran and the call returned a value.
    /// </summary>
    [Fact]
    public void Max_sensitivity_cancelled_during_its_reference_pass_runs_no_sample()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var settings = new SensitivitySettings { Samples = 5 };
        var expected = MaxSensitivity.Compute(model, new Gradient(), Texts[0], settings: settings);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 1))
        {
            FluentActions.Invoking(() => MaxSensitivity.Compute(model, new Gradient(), Texts[0], new ExplainOptions { Cancellation = cancel.Token }, settings))
                .Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(1, "no sample runs after the reference pass that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        MaxSensitivity.Compute(model, new Gradient(), Texts[0], settings: settings).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// Infidelity reads the word-embedding output (under the test's hook the prediction's pass, then the capture: two
    /// passes, not split; unhooked the capture alone), then runs its perturbed inputs. Cancelled during the capture, no perturbed input runs. Before, the public call took no
    /// token (only the scorecard's internal one did): it ran to the end and returned.
    /// </summary>
    [Fact]
    public void Infidelity_cancelled_while_reading_the_embeddings_runs_no_perturbed_input()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = new GradientXInput().Explain(model, Texts[0], new ExplainOptions { KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } });
        var settings = new InfidelitySettings { Samples = 3 };
        var expected = Infidelity.Compute(model, explanation, settings);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 2))
        {
            FluentActions.Invoking(() => Infidelity.Compute(model, explanation, settings, cancel.Token)).Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(2, "no perturbed input runs after the capture that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        Infidelity.Compute(model, explanation, settings).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// τ-LOO occludes each word: the text's own pass, then the texts without one word. Cancelled during the first, none
    /// of the others runs. Before, the public call took no token: it ran to the end and returned.
    /// </summary>
    [Fact]
    public void Leave_one_out_cancelled_during_the_texts_own_pass_runs_no_occluded_text()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = new GradientXInput().Explain(model, Texts[0]);
        var expected = LeaveOneOutCorrelation.Compute(model, explanation);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 1))
        {
            FluentActions.Invoking(() => LeaveOneOutCorrelation.Compute(model, explanation, cancel.Token)).Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(1, "no occluded text runs after the text's own pass that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        LeaveOneOutCorrelation.Compute(model, explanation).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// HotFlip predicts the text, takes the gradient, then predicts every edit. Cancelled during the prediction, neither
    /// the gradient nor the edits run. Before, Generate took no token: it ran to the end and returned.
    /// </summary>
    [Fact]
    public void HotFlip_cancelled_during_its_prediction_runs_no_further_pass()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var flip = new HotFlip { CandidatesPerPosition = 3 };
        var expected = flip.Generate(model, Texts[1], maxEdits: 3);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 1))
        {
            FluentActions.Invoking(() => flip.Generate(model, Texts[1], maxEdits: 3, cancel.Token)).Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(1, "neither the gradient nor the edits run after the prediction that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        flip.Generate(model, Texts[1], maxEdits: 3).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), "the model answers as before");
    }

    /// <summary>
    /// Comprehensiveness runs the text and its removals as one batched call, but a model that takes no mask (a user's
    /// ids-only TorchSharp module) never sees padding, so each input length is a pass of its own. Here every content token
    /// scores positive (Gradient's L2 norms through Tanh, never zero), so the 9 content tokens give 9 rationales of 1 to 9
    /// tokens (⌊k·9⌋ for k = 0.2 … 1; 0.1 gives none): inputs of 11 (the text with [CLS] and [SEP]) and of 10 down to 2
    /// tokens, 10 lengths, 10 passes. Cancelled during any but the last, no further pass runs. Before, the metric took no
    /// token and the batches were not checked: all 10 ran and it returned.
    /// </summary>
    [Fact]
    public void Rationale_removal_on_a_model_without_mask_stops_between_its_passes()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "plot", "was", "dull", "but", "cast", "superb"];
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, vocabulary);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        using var module = torch.nn.Sequential(
            ("embedding", torch.nn.Embedding(vocabulary.Length, 6)),
            ("mix", torch.nn.Linear(6, 5)),
            ("act", torch.nn.Tanh()),
            ("pool", new MeanOverTokens()),
            ("output", torch.nn.Linear(5, 2)));
        using var model = TextClassifier.FromTorchSharp(module, tokenizer, "embedding", ["negative", "positive"]);
        var explanation = new Gradient().Explain(model, Texts[0], new ExplainOptions { Target = Target.Class(1) });
        explanation.Scores.Where((_, t) => !explanation.IsSpecial[t]).Should().HaveCount(9).And.OnlyContain(v => v > 0, "every content token is in a rationale");
        var expected = RationaleRemoval.Comprehensiveness(model, explanation);
        using (var counter = new ForwardCounter(model))
        {
            RationaleRemoval.Comprehensiveness(model, explanation);
            counter.Calls.Should().Be(10, "one pass per input length: 11, then 10 down to 2");
        }

        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, 10, token => RationaleRemoval.Comprehensiveness(model, explanation, TokenRemoval.Remove, token));
        LiveTensors.Settled().Should().Be(before, "a cancelled call frees every tensor it made");
        RationaleRemoval.Comprehensiveness(model, explanation).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// HotFlip's edits are one text per candidate and position: 40 candidates at each whole-word position of a 4-word text
    /// are over 64 texts, so their predictions take several batches. Cancelled at any pass but the last (the prediction,
    /// the gradient's, each batch of edits), no further pass runs. Before, the edits' predictions were one unchecked call:
    /// cancelled in its first batch, the others ran and the call returned.
    /// </summary>
    [Fact]
    public void HotFlip_cancelled_among_its_edit_batches_runs_no_further_batch()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var flip = new HotFlip { CandidatesPerPosition = 40 };
        var expected = flip.Generate(model, Texts[1], maxEdits: 3);
        var total = ForwardCounter.Count(model, () => flip.Generate(model, Texts[1], maxEdits: 3));

        total.Should().BeGreaterThanOrEqualTo(4, "the prediction, the gradient, and at least two batches of edits");
        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => flip.Generate(model, Texts[1], maxEdits: 3, token));
        LiveTensors.Settled().Should().Be(before);
        flip.Generate(model, Texts[1], maxEdits: 3).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), "the model answers as before");
    }

    /// <summary>
    /// The same edits through a user's <see cref="ITextClassifier"/> that keeps the interface's own PredictLogits: the
    /// library batches it itself (TokenBatches), so the token is checked between the edit batches as for a
    /// TextClassifier. Before that was decided by the model's interface map, a user's class got one unchecked call.
    /// </summary>
    [Fact]
    public void HotFlip_on_a_users_classifier_with_the_default_logits_stops_between_edit_batches()
    {
        using var inner = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var model = new UserClassifier(inner);
        var flip = new HotFlip { CandidatesPerPosition = 40 };
        var expected = flip.Generate(model, Texts[1], maxEdits: 3);
        var total = ForwardCounter.Count(model, () => flip.Generate(model, Texts[1], maxEdits: 3));

        total.Should().BeGreaterThanOrEqualTo(4, "the prediction, the gradient, and at least two batches of edits");
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => flip.Generate(model, Texts[1], maxEdits: 3, token));
        flip.Generate(model, Texts[1], maxEdits: 3).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), "the model answers as before");
    }

    /// <summary>
    /// Shortcut following on a <see cref="TextClassifier"/> whose BatchSize (8) is below its 64 sentences a call: 70
    /// sentences are a call of 64 (8 passes) and one of 6 (1 pass). Cancelled at any pass but the last, no further pass
    /// runs. Before, only an ONNX model got the token: the classifier's PredictProbabilities ran all 8 batches of the
    /// first call after a cancel in its first. The rate is the one counted from the classifier's own probabilities.
    /// </summary>
    [Fact]
    public void Shortcut_following_on_a_classifier_with_small_batches_stops_between_its_batches()
    {
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var generator = new torch.Generator(7);
        var module = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.MlpType, tokenizer.VocabularySize), generator);
        using var model = new TextClassifier("mlp", tokenizer, module, module.Config.Labels, module.WordEmbeddingPath, module.Config.MaxLength, usesTokenTypes: false) { BatchSize = 8 };
        var sentences = Enumerable.Range(0, 70)
            .Select(i => new ShortcutSentence(i % 2 == 0 ? $"a dull film number {i}" : $"the cast of film {i} was superb", "superb", 0, i % 2, 1 - (i % 2)))
            .ToList();
        var probabilities = model.PredictProbabilities(sentences.Select(s => s.Text).ToList());
        var argmax = probabilities.Select(p => Array.IndexOf(p, p.Max())).ToList();
        var expected = Shortcuts.Follows(model, sentences);
        expected.Predictions.Should().Equal(argmax, "the classifier's own probabilities decide each sentence");
        expected.FollowedShortcut.Should().Be(sentences.Where((s, i) => argmax[i] == s.ShortcutLabel).Count());
        var total = ForwardCounter.Count(model, () => Shortcuts.Follows(model, sentences));

        total.Should().Be(9, "64 sentences in 8 batches of 8, then 6 in one");
        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => Shortcuts.Follows(model, sentences, token));
        LiveTensors.Settled().Should().Be(before);
    }

    /// <summary>A user's <see cref="ITextClassifier"/> over a loaded model's module that keeps the interface's PredictLogits.</summary>
    private sealed class UserClassifier(TextClassifier inner) : ITextClassifier
    {
        public string Name => "user";

        public ITokenizer Tokenizer => inner.Tokenizer;

        public int? MaxLength => inner.MaxLength;

        public bool UsesTokenTypes => inner.UsesTokenTypes;

        public IReadOnlyList<string> Labels => inner.Labels;

        public torch.nn.Module<ModelInput, torch.Tensor> Module => inner.Module;

        public string WordEmbeddingPath => inner.WordEmbeddingPath;

        public EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate, IReadOnlyList<string>? pairs, TruncationStrategy strategy = TruncationStrategy.LongestFirst) =>
            inner.Encode(texts, truncate, pairs, strategy);

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => inner.PredictProbabilities(texts);
    }

    /// <summary>
    /// Infidelity of Integrated Gradients (a map multiplied by the input, so the multiply-by-inputs form with the pad
    /// baseline) runs 4 passes here: the prediction, the text's capture, the baseline's capture, one batch of 3. (The
    /// test's hook on the model keeps the capture from serving as the prediction, as it does unhooked, so the prediction
    /// is a pass of its own: InfidelityPassCountTests counts 3 without a hook.) It ran 7 while each read opened its own
    /// context: the embedding read (the prediction, the capture), the perturbed scores (the prediction, one batch), the
    /// baseline read (the prediction, the text's capture, the baseline's). Cancelled during any but the last, no further
    /// pass runs. Before, each embedding read ran whole: cancelled during its prediction, its capture (and the baseline's)
    /// still ran.
    /// </summary>
    [Fact]
    public void Infidelity_cancelled_at_any_pass_runs_no_further_pass()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = new IntegratedGradients { Steps = 4 }.Explain(model, Texts[1],
            new ExplainOptions { KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } });
        var settings = new InfidelitySettings { Samples = 3 };
        var expected = Infidelity.Compute(model, explanation, settings);
        expected.Parameters.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", "true"));
        using (var counter = new ForwardCounter(model))
        {
            Infidelity.Compute(model, explanation, settings);
            counter.Calls.Should().Be(4, "the prediction (hooked), the text's capture, the baseline's capture, one batch of the 3 perturbed inputs");
        }

        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, 4, token => Infidelity.Compute(model, explanation, settings, token));
        LiveTensors.Settled().Should().Be(before);
        Infidelity.Compute(model, explanation, settings).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// A counterfactual comparison predicts the original and each edit (a pass each), then explains them. Cancelled at
    /// any pass but the last, no further pass runs. Before, the predictions did not look at the options' token: cancelled
    /// during the first, the other two ran, and only the method's first check stopped the call.
    /// </summary>
    [Fact]
    public void Counterfactuals_cancelled_during_a_prediction_runs_no_further_pass()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        string[] edits = ["the plot was dull but the cast was fine", "the plot was fine but the cast was superb"];
        IAttributor[] methods = [new Gradient()];
        var total = ForwardCounter.Count(model, () => Counterfactuals.Compare(model, Texts[0], edits, methods));

        total.Should().BeGreaterThan(3, "three predictions, then the explanations");
        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => Counterfactuals.Compare(model, Texts[0], edits, methods, new ExplainOptions { Cancellation = token }));
        LiveTensors.Settled().Should().Be(before);
    }

    /// <summary>
    /// LIME's public Run (one text, one class: what LIT's preset uses) runs its perturbed texts in batches; it now takes a
    /// token, checked before each batch. Cancelled at any pass but the last, no further pass runs. Before, Run took none:
    /// nothing could stop it.
    /// </summary>
    [Fact]
    public void Lime_run_cancelled_at_any_batch_runs_no_further_batch()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var lime = new Lime { Samples = 40, BatchSize = 8 };
        var expected = lime.Run(model, Texts[0], 1);
        var total = ForwardCounter.Count(model, () => lime.Run(model, Texts[0], 1));

        total.Should().BeGreaterThan(2, "the perturbed texts take several batches of 8");
        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => lime.Run(model, Texts[0], 1, cancellation: token));
        LiveTensors.Settled().Should().Be(before);
        lime.Run(model, Texts[0], 1).Fit.Coefficients.Should().Equal(expected.Fit.Coefficients, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// Shortcut following predicts its sentences 64 at a time: 130 sentences are 3 calls to the predictor. Cancelled
    /// during call 1 or 2, no further call is made. Before, Follows took no token: all 3 ran and it returned.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Shortcut_following_cancelled_during_a_call_makes_no_further_call(int at)
    {
        using var source = new CancellationTokenSource();
        var calls = 0;
        var armed = false;
        var predictor = new BlackBoxClassifier(texts =>
        {
            if (++calls == at && armed)
            {
                source.Cancel();
            }

            return texts.Select(_ => new[] { 0.25, 0.75 }).ToArray();
        }, ["negative", "positive"]);
        var sentences = Enumerable.Range(0, 130).Select(i => new ShortcutSentence($"sentence {i} with zork", "zork", 2, 0, 1)).ToList();
        Shortcuts.Follows(predictor, sentences).Sentences.Should().Be(130);
        calls.Should().Be(3, "130 sentences in calls of 64");

        (calls, armed) = (0, true);
        FluentActions.Invoking(() => Shortcuts.Follows(predictor, sentences, source.Token)).Should().Throw<OperationCanceledException>();
        calls.Should().Be(at, "no call follows the one that cancelled");
    }
}
