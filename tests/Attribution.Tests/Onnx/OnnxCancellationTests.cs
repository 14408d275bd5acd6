using Attribution.Methods;
using Attribution.Methods.Perturbation;
using Attribution.Models;
using Attribution.Onnx;
using static Attribution.Tests.Onnx.OnnxGraphWriter;

namespace Attribution.Tests.Onnx;

/// <summary>
/// An <see cref="OnnxTextClassifier"/> runs one ONNX Runtime session run per batch of
/// <see cref="OnnxSessionSettings.BatchSize"/> sequences; a token given to it is checked before each run, so no run
/// starts after the one during which it was cancelled, and a token cancelled before the call runs none. Runs are
/// counted (the classifier's <c>RunStarting</c> callback, which also cancels during run k), never timed. The graph is
/// logits = float(input_ids) over 3-token inputs and 3 labels, so each row also shows which ids it was given.
/// </summary>
public sealed class OnnxCancellationTests : IDisposable
{
    // OnnxLoadingTests' vocabulary, ids 0..8: "good" is [CLS] good [SEP] = 2 6 3.
    private static readonly string[] Vocabulary = OnnxLoadingTests.Vocabulary;

    private readonly string folder = Directory.CreateTempSubdirectory("attribution-onnx-cancel-").FullName;

    public OnnxCancellationTests()
    {
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), Vocabulary);
        File.WriteAllText(Path.Combine(folder, "config.json"),
            """{"model_type": "bert", "vocab_size": 9, "max_position_embeddings": 6, "id2label": {"0": "a", "1": "b", "2": "c"}}""");
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [new Value("input_ids", Int64Type, "batch", "sequence"), new Value("attention_mask", Int64Type, "batch", "sequence")],
            [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["logits"], ("to", FloatType))]));
    }

    public void Dispose()
    {
        Directory.Delete(folder, recursive: true);
        Directory.Delete(wideFolder, recursive: true);
    }

    // The same graph for the methods, over 5 labels: a 3-word text is [CLS] w w w [SEP], 5 ids, and with a word masked
    // ([MASK], one id in its place) its perturbed inputs keep the 5 columns the graph's logits need.
    private readonly string wideFolder = Directory.CreateTempSubdirectory("attribution-onnx-cancel-wide-").FullName;

    /// <summary>[CLS] the good movie [SEP] = 2 5 6 8 3: three word features, each one token.</summary>
    private const string WideText = "the good movie";

    /// <summary>The 5-label model, one sequence per session run, so a method's call of n perturbed inputs is n runs.</summary>
    private OnnxTextClassifier LoadWide()
    {
        File.WriteAllLines(Path.Combine(wideFolder, "vocab.txt"), Vocabulary);
        File.WriteAllText(Path.Combine(wideFolder, "config.json"),
            """{"model_type": "bert", "vocab_size": 9, "max_position_embeddings": 8, "id2label": {"0": "a", "1": "b", "2": "c", "3": "d", "4": "e"}}""");
        File.WriteAllBytes(Path.Combine(wideFolder, "model.onnx"), Model(
            [new Value("input_ids", Int64Type, "batch", "sequence"), new Value("attention_mask", Int64Type, "batch", "sequence")],
            [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["logits"], ("to", FloatType))]));
        return OnnxTextClassifier.Load(wideFolder, new OnnxSessionSettings { BatchSize = 1 });
    }

    /// <summary>7 sequences of 3 ids in runs of 2: ⌈7 / 2⌉ = 4 runs.</summary>
    private static readonly TokenSequence[] Sequences = Enumerable.Range(0, 7).Select(i => new TokenSequence([2, 5 + (i % 4), 3])).ToArray();

    /// <summary>5 one-word texts ([CLS] word [SEP], 3 ids each) in runs of 2: ⌈5 / 2⌉ = 3 runs.</summary>
    private static readonly string[] Texts = ["good", "bad", "movie", "the", "good"];

    private OnnxTextClassifier Load() => OnnxTextClassifier.Load(folder, new OnnxSessionSettings { BatchSize = 2 });

    /// <summary>
    /// Calls <paramref name="call"/> with a token cancelled during run k, for each k from 1 to <paramref name="total"/> − 1
    /// (cancelled during the last run nothing is left to stop), and with one cancelled before the call: each throws
    /// <see cref="OperationCanceledException"/> having run exactly k runs (0 for the one cancelled before).
    /// </summary>
    private static void CancelAtEveryRunButTheLast(OnnxTextClassifier model, int total, Action<CancellationToken> call)
    {
        try
        {
            for (var at = 0; at < total; at++)
            {
                using var source = new CancellationTokenSource();
                var runs = 0;
                var cancelAt = at;
                if (at == 0)
                {
                    source.Cancel();
                }

                model.RunStarting = () =>
                {
                    if (++runs == cancelAt)
                    {
                        source.Cancel();
                    }
                };
                FluentActions.Invoking(() => call(source.Token)).Should().Throw<OperationCanceledException>(
                    at == 0 ? "the token was cancelled before the call" : $"cancelled during run {at} of {total}");
                runs.Should().Be(at, at == 0 ? "a token cancelled before the call stops it before the first run" : $"no run follows run {at}, during which the token was cancelled");
            }
        }
        finally
        {
            model.RunStarting = null;
        }
    }

    /// <summary>The number of session runs <paramref name="call"/> makes with no token.</summary>
    private static int CountRuns(OnnxTextClassifier model, Action call)
    {
        var runs = 0;
        model.RunStarting = () => runs++;
        try
        {
            call();
        }
        finally
        {
            model.RunStarting = null;
        }

        return runs;
    }

    /// <summary>Before, PredictLogits took no token: a caller could not stop it between its runs.</summary>
    [Fact]
    public void PredictLogits_cancelled_at_any_run_starts_no_further_run()
    {
        using var model = Load();
        CountRuns(model, () => model.PredictLogits(Sequences)).Should().Be(4, "7 sequences in runs of 2");

        CancelAtEveryRunButTheLast(model, 4, token => model.PredictLogits(Sequences, token));

        var logits = model.PredictLogits(Sequences, CancellationToken.None);
        logits.Select(row => row.Select(v => (long)v)).Should().BeEquivalentTo(Sequences.Select(s => s.Ids), o => o.WithStrictOrdering(), "the model answers as before");
    }

    /// <summary>Predict and PredictProbabilities encode the texts, then run them as PredictLogits does, checking the token before each run.</summary>
    [Fact]
    public void Predict_and_PredictProbabilities_cancelled_at_any_run_start_no_further_run()
    {
        using var model = Load();
        CountRuns(model, () => model.Predict(Texts)).Should().Be(3, "5 texts in runs of 2");
        CountRuns(model, () => model.PredictProbabilities(Texts)).Should().Be(3, "5 texts in runs of 2");

        CancelAtEveryRunButTheLast(model, 3, token => model.Predict(Texts, token));
        CancelAtEveryRunButTheLast(model, 3, token => model.PredictProbabilities(Texts, token));

        // logits = the ids [CLS] word [SEP]; "good" (id 6) is largest in column b.
        model.Predict(Texts)[0].Logits.Should().Equal(2.0, 6.0, 3.0);
        model.Predict(Texts)[0].LabelName.Should().Be("b");

        // The token-free forms stay overloads of their own (not an optional token), so a method group converts to the
        // one-argument delegate, as it did before the tokens came (this line compiles only then).
        Func<IReadOnlyList<string>, IReadOnlyList<Prediction>> predict = model.Predict;
        predict(Texts)[0].LabelName.Should().Be("b");
    }

    /// <summary>
    /// The removal metrics (RationaleRemoval, as HotFlip on a gradient model) run a model's logits through TokenBatches.PredictLogits with their token. For an
    /// ONNX model it was checked once before the whole call: cancelled during the first of 4 runs, the other 3 ran and
    /// the call returned. Now the token goes on to the classifier, which checks it before each run.
    /// </summary>
    [Fact]
    public void The_library_passes_its_token_on_to_the_onnx_runs()
    {
        using var model = Load();
        CancelAtEveryRunButTheLast(model, 4, token => TokenBatches.PredictLogits(model, Sequences, token));
    }

    /// <summary>
    /// The perturbation family scores a text's perturbed inputs in calls of up to its BatchSize (256 here), one call each;
    /// on an ONNX model a call is one session run per OnnxSessionSettings.BatchSize inputs (1 here). The scorer checked
    /// the token before each call only, so cancelled during the first perturbed input's run, the call ran all the others
    /// and the explanation returned. Now its token goes on to the model (TokenBatches.PredictLogits), checked before each run.
    /// </summary>
    [Theory]
    [InlineData("occlusion")]
    [InlineData("kernel-shap")]
    [InlineData("shapley-sampling")]
    public void A_perturbation_method_cancelled_at_any_run_starts_no_further_run(string name)
    {
        PerturbationMethod method = name switch
        {
            "occlusion" => new Occlusion(),
            "kernel-shap" => new KernelShap { Samples = 16 },
            _ => new ShapleyValueSampling { Samples = 2 },
        };
        using var model = LoadWide();
        var total = CountRuns(model, () => method.Explain(model, WideText));
        // The unperturbed input (1 run), then more than one perturbed input in one call: cancelling during run 2 leaves runs to stop.
        total.Should().BeGreaterThan(2, "the unperturbed input and at least two perturbed inputs, one run each");
        if (name == "occlusion")
        {
            // Occlusion with a window of 1 masks each of the 3 words once (the all-present input is the unperturbed one's run).
            total.Should().Be(4, "1 unperturbed input + 3 words each masked once");
        }

        CancelAtEveryRunButTheLast(model, total, token => method.Explain(model, WideText, new ExplainOptions { Cancellation = token }));
    }

    /// <summary>
    /// LIME sends a token model's distinct perturbed texts to its PredictProbabilities in calls of up to BatchSize; on an
    /// ONNX model that took no token, so cancelled during the first perturbed text's run, every other run of the call ran
    /// and the fit returned. Now an ONNX model's cancellable PredictProbabilities gets the run's token.
    /// </summary>
    [Fact]
    public void Lime_cancelled_at_any_run_starts_no_further_run()
    {
        var lime = new Lime { Samples = 40 };
        using var model = LoadWide();
        var total = CountRuns(model, () => lime.Explain(model, WideText));
        // 3 words masked at random: at most 2³ = 8 distinct perturbed texts, plus the unperturbed input's run.
        total.Should().BeInRange(3, 9, "the unperturbed input, then each distinct perturbed text once");

        CancelAtEveryRunButTheLast(model, total, token => lime.Explain(model, WideText, new ExplainOptions { Cancellation = token }));
    }

    /// <summary>
    /// The CLI's predict runs an ONNX model's texts in chunks of --batch-size (16 here: one chunk), checking Ctrl-C only
    /// between chunks; the chunk's logits took no token, so Ctrl-C during its first session run let the other runs finish.
    /// Now Ctrl-C's token goes on to the model, checked before each run.
    /// </summary>
    [Fact]
    public void The_command_line_predict_passes_ctrl_c_on_to_the_onnx_runs()
    {
        using var model = Load();
        CancelAtEveryRunButTheLast(model, 3, token => Attribution.Cli.ChunkedRun.Predict(model, Texts, batchSize: 16, truncate: false,
            new Attribution.Cli.CliContext { Out = TextWriter.Null, Error = TextWriter.Null, Cancellation = token }));
    }

    /// <summary>
    /// LIME on a sentence pair sends the encoded pairs to the model's PredictLogits ([CLS] good [SEP] movie [SEP], 5 ids,
    /// each word masked in place): that took no token, so cancelled during the first perturbed pair's run the call's other
    /// runs ran. Now the pairs go through TokenBatches.PredictLogits with the run's token.
    /// </summary>
    [Fact]
    public void Lime_on_a_pair_cancelled_at_any_run_starts_no_further_run()
    {
        var lime = new Lime { Samples = 40 };
        var options = new ExplainOptions { Pairs = ["movie"] };
        using var model = LoadWide();
        var total = CountRuns(model, () => lime.Explain(model, "good", options));
        // 2 words (one per text) masked at random: at most 2² = 4 distinct perturbed pairs, plus the unperturbed pair's run.
        total.Should().BeInRange(3, 5, "the unperturbed pair, then each distinct perturbed pair once");

        CancelAtEveryRunButTheLast(model, total, token => lime.Explain(model, "good", options with { Cancellation = token }));
    }

    /// <summary>
    /// Shortcuts.Follows calls the model's PredictProbabilities once per 64 sentences, checking its token before each
    /// call: on an ONNX model the 5 sentences here are one call of 3 session runs, which took no token, so cancelled
    /// during run 1 the other 2 ran and the call returned. Now the token goes on to the model.
    /// </summary>
    [Fact]
    public void Shortcut_following_cancelled_at_any_run_starts_no_further_run()
    {
        // Labels are classes of the 3-label model; which ones does not matter for the runs.
        var sentences = Texts.Select(t => new Attribution.Evaluation.ShortcutSentence(t, t, 0, TrueLabel: 0, ShortcutLabel: 1)).ToArray();
        using var model = Load();
        CountRuns(model, () => Attribution.Evaluation.Shortcuts.Follows(model, sentences)).Should().Be(3, "5 sentences in runs of 2");

        CancelAtEveryRunButTheLast(model, 3, token => Attribution.Evaluation.Shortcuts.Follows(model, sentences, token));
    }
}
