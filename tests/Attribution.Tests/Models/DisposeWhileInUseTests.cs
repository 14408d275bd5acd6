using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// A service's one <see cref="TextClassifier"/> disposed while other threads use it. Every case is ordered by events,
/// never by timing: the user's module (wrapped with <c>FromTorchSharp</c>, owned by the classifier) blocks inside its
/// forward pass until the test releases it, and Dispose is called while it is blocked there. The call must finish as
/// on a fresh model (exactly: the same weights, inputs and batches, so the same float operations), the module must be
/// disposed only after it returns, and every call started after Dispose must throw <see cref="ObjectDisposedException"/>
/// naming the model before any forward pass (the module counts its passes).
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class DisposeWhileInUseTests : IDisposable
{
    private const string ModelName = "shared-service-model";

    private static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "the", "a", "plot", "cast", "film", "movie", "was", "dull", "superb", "not", "bad", "but", "gripping",
    ];

    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private readonly string root = Directory.CreateTempSubdirectory("attribution-dispose-in-use-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private (TextClassifier Classifier, BlockingModel Model) Build()
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, Vocabulary);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        var model = new BlockingModel(tokenizer.VocabularySize);
        using (var generator = new Generator(7))
        using (var noGrad = no_grad())
        {
            foreach (var (_, p) in model.named_parameters())
            {
                using var values = randn(p.shape, p.dtype, generator: generator);
                p.copy_(values);
            }
        }

        var classifier = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", ["negative", "positive"], name: ModelName, ownsModel: true);
        return (classifier, model);
    }

    /// <summary>Whether the user's module has been disposed: reading a disposed parameter throws (the handle read is disposed at once).</summary>
    private static bool Disposed(BlockingModel model)
    {
        try
        {
            using var weight = model.embedding.weight;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/> on another thread, disposes the classifier while the call is blocked in its first
    /// forward pass, checks the module is still alive, releases the call and returns its result, checking the module is
    /// disposed after it returned.
    /// </summary>
    private T DisposedDuring<T>(Func<TextClassifier, T> call)
    {
        var (classifier, model) = Build();
        model.Hold = new ManualResetEventSlim(false);
        var running = new Background<T>(() => call(classifier));
        model.Entered.Wait(Patience).Should().BeTrue("the call reaches the model's forward pass");

        classifier.Dispose();
        Disposed(model).Should().BeFalse("Dispose came while a call was inside the forward pass: the module must outlive the call");
        classifier.Dispose();
        Disposed(model).Should().BeFalse("a second Dispose does nothing either");
        var passes = model.Forwards;
        FluentActions.Invoking(() => classifier.Predict(["a gripping film"])).Should().Throw<ObjectDisposedException>(
            "a call from another thread, started after Dispose, is refused even while the first call still runs");
        model.Forwards.Should().Be(passes);

        model.Hold.Set();
        var result = running.Result(Patience);
        Disposed(model).Should().BeTrue("the last running call out disposes the module");
        return result;
    }

    private static T Fresh<T>(Func<TextClassifier, T> call, DisposeWhileInUseTests owner)
    {
        var (classifier, _) = owner.Build();
        using (classifier)
        {
            return call(classifier);
        }
    }

    [Fact]
    public void A_prediction_running_when_the_classifier_is_disposed_finishes_as_on_a_fresh_model()
    {
        string[] texts = ["the plot was dull", "a gripping film but not superb"];
        var result = DisposedDuring(c => c.Predict(texts));
        var expected = Fresh(c => c.Predict(texts), this);

        // Exact: the same weights and batches give the same float operations.
        result.Select(p => p.Logits).Should().BeEquivalentTo(expected.Select(p => p.Logits), o => o.WithStrictOrdering());
    }

    [Fact]
    public void A_gradient_explanation_running_when_the_classifier_is_disposed_runs_its_backward_and_finishes()
    {
        var options = new ExplainOptions { Target = Target.Class(1) };
        var result = DisposedDuring(c => new Gradient().Explain(c, "the plot was dull but the cast was superb", options));
        var expected = Fresh(c => new Gradient().Explain(c, "the plot was dull but the cast was superb", options), this);

        result.Scores.Should().Equal(expected.Scores);
        result.Scores.Should().Contain(s => s != 0, "the backward ran");
    }

    [Fact]
    public void Lime_running_when_the_classifier_is_disposed_makes_all_its_model_calls_and_finishes()
    {
        // Batches of 8 over 40 samples: the call's later forward passes all start after Dispose (one lease covers the whole call).
        var lime = new Lime { Samples = 40, BatchSize = 8, Seed = 5 };
        var result = DisposedDuring(c => lime.Explain(c, "a gripping film but the plot was dull"));
        var expected = Fresh(c => lime.Explain(c, "a gripping film but the plot was dull"), this);

        result.Scores.Should().Equal(expected.Scores);
    }

    /// <summary>
    /// The scorecard and max-sensitivity are several library calls in a row (each method's explanations, then each
    /// metric's passes; the reference explanation, then one per sample). Before they held one lease for the whole run,
    /// a Dispose during the first call let that call finish and refused the next one (ObjectDisposedException), so the
    /// run failed halfway; now the run finishes as on a fresh model (exactly: same weights, seeds and batches).
    /// </summary>
    [Fact]
    public void A_scorecard_and_max_sensitivity_running_when_the_classifier_is_disposed_finish_as_on_a_fresh_model()
    {
        string[] texts = ["the plot was dull but the cast was superb", "a gripping film"];
        var settings = new ScorecardSettings { Infidelity = new InfidelitySettings { Samples = 3 }, Sensitivity = new SensitivitySettings { Samples = 3 } };
        IAttributor[] methods = [new Gradient(), new GradientXInput()];
        var report = DisposedDuring(c => Scorecard.Run(c, texts, methods, null, settings));
        var expected = Fresh(c => Scorecard.Run(c, texts, methods, null, settings), this);
        report.Rows.Select(r => r.Metrics).Should().BeEquivalentTo(expected.Rows.Select(r => r.Metrics), o => o.WithStrictOrdering());
        report.Rows[0].Metrics.Should().ContainKeys("comprehensiveness", "infidelity", "max-sensitivity");

        var sensitivity = DisposedDuring(c => MaxSensitivity.Compute(c, new Gradient(), texts[0], null, settings.Sensitivity));
        var fresh = Fresh(c => MaxSensitivity.Compute(c, new Gradient(), texts[0], null, settings.Sensitivity), this);
        sensitivity.Value.Should().Be(fresh.Value);
    }

    [Fact]
    public void Every_call_after_dispose_throws_object_disposed_naming_the_model_before_any_forward_pass()
    {
        var (classifier, model) = Build();
        var explanation = new GradientXInput().Explain(classifier, "the plot was dull", new ExplainOptions { Target = Target.Class(1) });
        classifier.Dispose();
        Disposed(model).Should().BeTrue("no call was running: Dispose disposes the module at once");
        var passes = model.Forwards;

        var calls = new Dictionary<string, Action>
        {
            ["Predict"] = () => classifier.Predict(["the plot was dull"]),
            ["PredictProbabilities"] = () => classifier.PredictProbabilities(["the plot was dull"]),
            ["PredictLogits"] = () => ((ITokenClassifier)classifier).PredictLogits([new TokenSequence([2, 7, 11, 12, 3])]),
            ["Logits"] = () =>
            {
                using var scope = NewDisposeScope();
                classifier.Logits(classifier.Encode(["the plot was dull"]).Input);
            },
            ["Module"] = () => _ = classifier.Module,
            ["Gradient"] = () => new Gradient().Explain(classifier, "the plot was dull"),
            ["IntegratedGradients"] = () => new IntegratedGradients { Steps = 4 }.Explain(classifier, "the plot was dull"),
            ["Lime"] = () => new Lime { Samples = 16 }.Explain(classifier, "the plot was dull"),
            ["Occlusion"] = () => new Occlusion().Explain(classifier, "the plot was dull"),
            ["MethodRunner"] = () => MethodRunner.AttributeAll(classifier, ["the plot was dull"], [new Gradient(), new Lime { Samples = 16 }]),
            ["Comprehensiveness"] = () => RationaleRemoval.Comprehensiveness(classifier, explanation),
            ["LeaveOneOut"] = () => LeaveOneOutCorrelation.Compute(classifier, explanation),
            ["Counterfactuals"] = () => Counterfactuals.Compare(classifier, "the plot was dull", ["the plot was superb"], [new Gradient()]),
            ["HotFlip"] = () => new HotFlip().Generate(classifier, "the plot was dull"),
            ["AttentionMaps"] = () => Attribution.Methods.Attention.AttentionMaps.Of(classifier, "the plot was dull"),
            ["SanityCheck.DefaultOrder"] = () => SanityCheck.DefaultOrder(classifier),
        };

        foreach (var (name, call) in calls)
        {
            call.Should().Throw<ObjectDisposedException>(name)
                .Where(e => e.Message.Contains(ModelName) && e.Message.Contains("disposed"), $"{name}'s refusal names the model and says it was disposed");
            model.Forwards.Should().Be(passes, $"{name} is refused before any forward pass");
        }

        classifier.Dispose();
    }

    /// <summary>
    /// Two calls at once without Dispose: the blocked one and one made meanwhile both finish, every tensor they made is
    /// released (TorchSharp's live count returns to where it was), and a Dispose after them disposes the module at once.
    /// </summary>
    [Fact]
    public void Calls_running_together_leave_no_tensor_and_leave_dispose_immediate()
    {
        var (classifier, model) = Build();
        var options = new ExplainOptions { Target = Target.Class(0) };
        _ = new IntegratedGradients { Steps = 4 }.Explain(classifier, "the plot was dull", options);
        var before = LiveTensors.Settled();

        model.Hold = new ManualResetEventSlim(false);
        var running = new Background<Explanation>(() => new IntegratedGradients { Steps = 4 }.Explain(classifier, "the plot was dull", options));
        model.Entered.Wait(Patience).Should().BeTrue();
        var meanwhile = new Lime { Samples = 16, Seed = 1 }.Explain(classifier, "a gripping film");
        meanwhile.Scores.Should().NotBeEmpty();
        model.Hold.Set();
        running.Result(Patience).Scores.Should().NotBeEmpty();

        LiveTensors.Settled().Should().Be(before, "every call returns the live tensor count to where it was");
        Disposed(model).Should().BeFalse();
        classifier.Dispose();
        Disposed(model).Should().BeTrue("no call is running: Dispose disposes the module at once");
    }
}

/// <summary>A call on a thread of its own (a service's other request), its result or exception taken after it ends.</summary>
internal sealed class Background<T>
{
    private readonly Thread thread;
    private T? result;
    private Exception? error;

    public Background(Func<T> call)
    {
        thread = new Thread(() =>
        {
            try
            {
                result = call();
            }
            catch (Exception e)
            {
                error = e;
            }
        }) { IsBackground = true };
        thread.Start();
    }

    /// <summary>The call's result once it has ended; rethrows what it threw.</summary>
    public T Result(TimeSpan patience)
    {
        thread.Join(patience).Should().BeTrue("the call finishes");
        if (error is not null)
        {
            throw new InvalidOperationException("the call on the other thread failed: " + error.Message, error);
        }

        return result!;
    }
}

/// <summary>
/// (ids, mask) → logits: Embedding → mean over the real tokens → Linear. Its forward counts itself and, while
/// <see cref="Hold"/> is set, signals <see cref="Entered"/> and waits for the hold's event.
/// </summary>
public sealed class BlockingModel : nn.Module<Tensor, Tensor, Tensor>
{
    // TorchSharp registers the fields by name: they are the module paths.
    public readonly Embedding embedding;
    public readonly Linear output;
    private int forwards;
    private volatile ManualResetEventSlim? hold;

    public BlockingModel(long vocabulary)
        : base(nameof(BlockingModel))
    {
        embedding = nn.Embedding(vocabulary, 4);
        output = nn.Linear(4, 2);
        RegisterComponents();
    }

    /// <summary>Set when a forward pass has reached the hold.</summary>
    public ManualResetEventSlim Entered { get; } = new(false);

    /// <summary>While set, the first forward pass to reach it signals <see cref="Entered"/> and waits for it; later ones pass.</summary>
    public ManualResetEventSlim? Hold { get => hold; set => hold = value; }

    /// <summary>Forward passes run so far.</summary>
    public int Forwards => Volatile.Read(ref forwards);

    public override Tensor forward(Tensor ids, Tensor mask)
    {
        Interlocked.Increment(ref forwards);
        if (Hold is { } hold && !Entered.IsSet)
        {
            Entered.Set();
            hold.Wait();
        }

        var embedded = embedding.call(ids);
        var weights = mask.to(embedded.dtype).unsqueeze(-1);
        return output.call((embedded * weights).sum(1) / weights.sum(1));
    }
}
