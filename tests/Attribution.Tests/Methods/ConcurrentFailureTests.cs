using System.Collections.Concurrent;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Attention;
using Attribution.Models;
using Attribution.Tests.Models.Small;
using TorchSharp;

namespace Attribution.Tests.Methods;

/// <summary>
/// One loaded model serving threads that mix methods, some of whose calls fail midway: a call cancelled after a few
/// of its forward passes (inside the integration of its first batch), a neuron past the end of one text of a batch,
/// a target out of range and an unknown layer. The calls that succeed still equal the single-threaded results bit for
/// bit (nothing but the thread differs between the runs, and a failing call's hooks never reach another call's
/// passes); the failures are the typed exceptions naming the setting; and afterwards no hook is attached anywhere in
/// the model and the live tensor count is back where it was (a failing call frees what it made, on every thread).
/// Runs alone: the live tensor count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class ConcurrentFailureTests
{
    private const int Threads = 4;
    private const int Rounds = 3;
    private const string Layer = "bert.encoder.layer.0";

    /// <summary>The sentences each thread explains (thread t the pair 2t, 2t + 1).</summary>
    private static readonly string[] Texts = SmallModelKit.Texts;

    [SkippableFact]
    public void Calls_that_fail_midway_leave_other_threads_results_and_the_model_untouched()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        IAttributor[] methods =
        [
            new Gradient(),
            new IntegratedGradients { Steps = 8 },
            new LrpEpsilon(),
            new AttentionRollout(),
            new AttentionRollout { GradientWeighted = true },
            new LayerConductance { Layer = Layer, Steps = 6 },
            new NeuronConductance { Layer = Layer, Steps = 6, Position = 1, Unit = 3 },
        ];
        var expected = methods.ToDictionary(m => m, m => Texts.Select(text => m.Attribute(model, [text])[0]).ToArray());
        var before = LiveTensors.Settled();
        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var round = 0; round < Rounds; round++)
            {
                for (var k = 0; k < methods.Length; k++)
                {
                    var method = methods[(t + k) % methods.Length];
                    var text = (2 * t) + ((round + k) % 2);
                    try
                    {
                        var actual = method.Attribute(model, [Texts[text]])[0];
                        if (Difference(actual, expected[method][text]) is { } difference)
                        {
                            failures.Enqueue($"thread {t}, {method.Name}, \"{Texts[text]}\": {difference}");
                        }
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue($"thread {t}, {method.Name}: {e.GetType().Name}: {e.Message}");
                    }

                    // Between two good calls, one that fails: a different kind on each thread and round.
                    if (Fail(model, (t + round + k) % 4) is { } wrong)
                    {
                        failures.Enqueue($"thread {t}: {wrong}");
                    }
                }
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());

        failures.Should().BeEmpty();
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "every call removes its hooks, also when it throws");
        LiveTensors.Settled().Should().Be(before, "every call frees every tensor it made, also when it throws midway");
    }

    /// <summary>Runs a call that must fail in the given way; what went differently, or null when it failed as it should.</summary>
    private static string? Fail(ITextClassifier model, int kind)
    {
        try
        {
            switch (kind)
            {
                case 0:
                {
                    // Cancelled after the third forward pass of this call (this thread's passes only: the counting hook
                    // is this flow's): inside the integration of the first batch, one path point per pass.
                    using var cancel = new CancellationTokenSource();
                    var passes = 0;
                    using var counter = ModuleHooks.AddForwardHook(model.Module.Submodule(model.WordEmbeddingPath), (_, _, _) =>
                    {
                        if (++passes == 3)
                        {
                            cancel.Cancel();
                        }

                        return null;
                    });
                    new IntegratedGradients { Steps = 8, InternalBatchSize = 1 }.Attribute(model, [Texts[6], Texts[1]], new AttributionOptions { Cancellation = cancel.Token });
                    return "a cancelled call returned";
                }

                case 1:
                    // Position 6 exists in the long text's batch but is past the end of "dull" ([CLS] dull [SEP]).
                    new NeuronConductance { Layer = Layer, Steps = 6, Position = 6, Unit = 3 }.Attribute(model, [Texts[6], Texts[0]], new AttributionOptions { BatchSize = 1 });
                    return "a neuron past the end of a text was accepted";
                case 2:
                    new LrpEpsilon().Attribute(model, [Texts[3], Texts[4]], new AttributionOptions { Target = Target.Class(7) });
                    return "target class 7 of a 2-class model was accepted";
                default:
                    new LayerConductance { Layer = "bert.encoder.layer.9", Steps = 6 }.Attribute(model, [Texts[2]]);
                    return "an unknown layer was accepted";
            }
        }
        catch (OperationCanceledException) when (kind == 0)
        {
            return null;
        }
        catch (ArgumentOutOfRangeException e) when (kind == 1 && e.ParamName == "Position" || kind == 2 && e.Message.Contains("target class 7", StringComparison.Ordinal))
        {
            return null;
        }
        catch (ArgumentException e) when (kind == 3 && e.ParamName == "Layer" && e.Message.Contains("bert.encoder.layer.9", StringComparison.Ordinal))
        {
            return null;
        }
        catch (Exception e)
        {
            return $"failing call {kind}: {e.GetType().Name} (parameter {(e as ArgumentException)?.ParamName}): {e.Message}";
        }
    }

    /// <summary>What differs between two explanations of the same text, or null when nothing does (compared bit for bit).</summary>
    private static string? Difference(Explanation actual, Explanation expected) =>
        !actual.Tokens.SequenceEqual(expected.Tokens) ? "tokens differ"
        : !actual.Scores.SequenceEqual(expected.Scores) ? $"scores [{string.Join(", ", actual.Scores)}] instead of [{string.Join(", ", expected.Scores)}]"
        : !actual.Logits.SequenceEqual(expected.Logits) || actual.Target != expected.Target ? "logits or target differ"
        : !Nullable.Equals(actual.ConvergenceDelta, expected.ConvergenceDelta) ? $"convergence delta {actual.ConvergenceDelta} instead of {expected.ConvergenceDelta}"
        : null;
}
