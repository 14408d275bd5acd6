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
    // Ids 0..8: "good" is [CLS] good [SEP] = 2 6 3.
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "good", "bad", "movie"];

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

    public void Dispose() => Directory.Delete(folder, recursive: true);

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
}
