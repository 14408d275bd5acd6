using System.Collections.Concurrent;
using System.Diagnostics;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Models;
using Attribution.Tests.Models.Small;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// One loaded model explained from four threads at once, 50 calls each per method, each thread with sentences of
/// its own: every result equals the single-threaded one bit for bit, no call throws, no hook stays attached and the
/// live tensor count returns to where it was. Bitwise because nothing differs between the runs but the thread: each
/// call's hooks act only for that call, and libtorch splits an operation across its intra-op threads the same way
/// whichever caller thread starts it. Runs alone (the live tensor count is process-wide).
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class ConcurrencyTests(ITestOutputHelper output)
{
    private const int Threads = 4;
    private const int CallsPerThread = 50;

    /// <summary>Short sentences, two per thread, so the threads explain different texts of different lengths.</summary>
    private static readonly string[] Texts = SmallModelKit.Texts;

    private static readonly ExplainOptions Options = new() { Salience = new SalienceOptions { KeepSpecialTokens = true } };

    public static TheoryData<string> SmallTypes() => new() { SmallClassifierConfig.LstmType, SmallClassifierConfig.CnnType, SmallClassifierConfig.MlpType };

    [Theory]
    [MemberData(nameof(SmallTypes))]
    public void Small_classifier_gives_single_threaded_results_from_four_threads(string type)
    {
        var root = SmallModelKit.TempRoot("concurrency-");
        try
        {
            using var model = SmallModelKit.Random(root, type);
            Check(model, Methods(type, conductanceLayer: model.WordEmbeddingPath));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A user's own (ids, mask) → logits TorchSharp module, wrapped: its modules get the same per-call hooks. No LRP rule covers its mean.</summary>
    [Fact]
    public void Wrapped_user_model_gives_single_threaded_results_from_four_threads()
    {
        var root = SmallModelKit.TempRoot("concurrency-wrapped-");
        try
        {
            var tokenizer = SmallModelKit.Tokenizer(root);
            using var model = TextClassifier.FromTorchSharp(
                new MaskedMeanModel(tokenizer.VocabularySize, dim: 6, hidden: 5, labels: 2, callsForward: false),
                tokenizer, "embedding", ["negative", "positive"], maxLength: 32, ownsModel: true);
            Check(model, Methods(SmallClassifierConfig.LstmType, conductanceLayer: "embedding"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [SkippableFact]
    public void Bert_tiny_gives_single_threaded_results_from_four_threads()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        Check(model, Methods("bert", conductanceLayer: "bert.encoder.layer.0"));
    }

    /// <summary>
    /// Every class at once from four threads: the rows repeated per class, the shared path passes and the model outputs
    /// kept across classes are per call, so each thread's results equal the single-threaded ones bit for bit.
    /// </summary>
    [SkippableFact]
    public void Every_class_at_once_gives_single_threaded_results_from_four_threads()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        IAttributor[] methods =
        [
            new IntegratedGradients(), new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 6 },
            new NoiseTunnel(new GradientXInput()) { Samples = 2, Seed = 3 }, new Lime { Samples = 24, Seed = 5 }, new Occlusion(),
        ];
        var expected = Enumerable.Range(0, Threads).Select(t => MethodRunner.AttributeClasses(model, [Texts[2 * t], Texts[(2 * t) + 1]], methods, [1, 0])).ToArray();
        var before = LiveTensors.Settled();
        var failures = new ConcurrentQueue<string>();
        OnThreads(t =>
        {
            for (var call = 0; call < 5; call++)
            {
                try
                {
                    var actual = MethodRunner.AttributeClasses(model, [Texts[2 * t], Texts[(2 * t) + 1]], methods, [1, 0]);
                    for (var m = 0; m < methods.Length; m++)
                    {
                        for (var i = 0; i < 2; i++)
                        {
                            for (var c = 0; c < 2; c++)
                            {
                                if (Difference(actual[m][i][c], expected[t][m][i][c]) is { } difference)
                                {
                                    failures.Enqueue($"thread {t}, {methods[m].Name}, text {i}, class {c}: {difference}");
                                }
                            }
                        }
                    }
                }
                catch (Exception e)
                {
                    failures.Enqueue($"thread {t}: {e.GetType().Name}: {e.Message}");
                }
            }
        });

        failures.Should().BeEmpty();
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "every call removes its hooks");
        LiveTensors.Settled().Should().Be(before, "every call frees every tensor it made, on every thread");
    }

    /// <summary>
    /// Different methods at the same moment: each thread runs every method in its own order (thread t starts at method
    /// t), so hooks of conductance, LRP's rules and rollout's attention taps are attached on one thread while other
    /// threads run plain passes, noisy passes or perturbations on the same modules. Every result equals the
    /// single-threaded one bit for bit, and nothing is left attached or alive.
    /// </summary>
    [SkippableFact]
    public void Bert_tiny_gives_single_threaded_results_with_a_different_method_on_each_thread()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var methods = Methods("bert", conductanceLayer: "bert.encoder.layer.0");
        methods.Add(new Attribution.Methods.Attention.AttentionRollout());
        methods.Add(new Attribution.Methods.Attention.AttentionRollout { GradientWeighted = true });
        var expected = methods.ToDictionary(m => m, m => Texts.Select(t => m.Explain(model, t, Options)).ToArray());
        var before = LiveTensors.Settled();
        var failures = new ConcurrentQueue<string>();
        OnThreads(t =>
        {
            for (var round = 0; round < 3; round++)
            {
                for (var k = 0; k < methods.Count; k++)
                {
                    var method = methods[(t + k) % methods.Count];
                    var text = (2 * t) + ((round + k) % 2);
                    try
                    {
                        if (Difference(method.Explain(model, Texts[text], Options), expected[method][text]) is { } difference)
                        {
                            failures.Enqueue($"thread {t}, {method.Name}, \"{Texts[text]}\": {difference}");
                        }
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue($"thread {t}, {method.Name}: {e.GetType().Name}: {e.Message}");
                    }
                }
            }
        });

        failures.Should().BeEmpty();
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "every call removes its hooks");
        LiveTensors.Settled().Should().Be(before, "every call frees every tensor it made, on every thread");
    }

    /// <summary>Runs <paramref name="body"/> (given the thread's number) on <see cref="Threads"/> threads released together, and waits for them all.</summary>
    private static void OnThreads(Action<int> body)
    {
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            body(t);
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());
    }

    /// <summary>
    /// Every gradient method with few steps and samples (the test is about threads, not accuracy), LRP-ε where the
    /// model supports it (not the LSTM), and LIME. Conductance needs a hookable layer with a token axis: a BERT layer,
    /// or on the small models the word embeddings themselves (their LSTM is native, their other layers have no token
    /// axis), where it runs two taps on one module.
    /// </summary>
    private static List<IAttributor> Methods(string type, string conductanceLayer)
    {
        var methods = new List<IAttributor>
        {
            new Gradient(),
            new GradientXInput(),
            new IntegratedGradients { Steps = 8 },
            new NoiseTunnel(new GradientXInput()) { Samples = 3, Seed = 11 },
            new Lime { Samples = 48, Seed = 5 },
            new LayerConductance { Layer = conductanceLayer, Steps = 8 },
            new NeuronConductance { Layer = conductanceLayer, Steps = 8, Position = 0, Unit = 1 },
            new GradientShap { Samples = 3, Stdev = 0.01, Seed = 2 },
            new Occlusion(),
            new KernelShap { Samples = 24, Seed = 4 },
        };
        // The LSTM is a native module LRP cannot hook (and the wrapped model's mean has no rule): no LRP there.
        if (type != SmallClassifierConfig.LstmType)
        {
            methods.Add(new LrpEpsilon());
        }

        return methods;
    }

    private void Check(ITextClassifier model, IReadOnlyList<IAttributor> methods)
    {
        // Single-threaded reference results (which also warm every code path up before the tensor count is taken).
        var total = Stopwatch.StartNew();
        var expected = methods.ToDictionary(m => m, m => Texts.Select(t => m.Explain(model, t, Options)).ToArray());
        output.WriteLine($"{model.Name}: single-threaded reference in {total.ElapsedMilliseconds} ms");
        var before = LiveTensors.Settled();
        output.WriteLine($"{model.Name}: settled at {total.ElapsedMilliseconds} ms");
        var failures = new List<string>();
        foreach (var method in methods)
        {
            var clock = Stopwatch.StartNew();
            var errors = new ConcurrentQueue<Exception>();
            var mismatches = new ConcurrentQueue<string>();
            OnThreads(t =>
            {
                for (var call = 0; call < CallsPerThread; call++)
                {
                    var text = (2 * t) + (call % 2);
                    try
                    {
                        var actual = method.Explain(model, Texts[text], Options);
                        if (Difference(actual, expected[method][text]) is { } difference)
                        {
                            mismatches.Enqueue($"thread {t}, call {call}, \"{Texts[text]}\": {difference}");
                        }
                    }
                    catch (Exception e)
                    {
                        errors.Enqueue(e);
                    }
                }
            });
            output.WriteLine($"{model.Name} {method.Name}: {errors.Count} exception(s), {mismatches.Count} mismatch(es) in {Threads * CallsPerThread} calls, {clock.ElapsedMilliseconds} ms");
            if (!errors.IsEmpty || !mismatches.IsEmpty)
            {
                var first = errors.TryPeek(out var e) ? $"{e.GetType().Name}: {e.Message}" : mismatches.First();
                failures.Add($"{method.Name}: {errors.Count} exception(s), {mismatches.Count} mismatch(es); first: {first}");
            }
        }

        failures.Should().BeEmpty();
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "every call removes its hooks");
        LiveTensors.Settled().Should().Be(before, "every call frees every tensor it made, on every thread");
    }

    /// <summary>What differs between two explanations of the same text, or null when nothing does (scores compared bit for bit).</summary>
    private static string? Difference(Explanation actual, Explanation expected)
    {
        if (!actual.Tokens.SequenceEqual(expected.Tokens))
        {
            return $"tokens [{string.Join(" ", actual.Tokens)}] instead of [{string.Join(" ", expected.Tokens)}]";
        }

        if (!actual.Scores.SequenceEqual(expected.Scores))
        {
            return $"scores [{string.Join(", ", actual.Scores)}] instead of [{string.Join(", ", expected.Scores)}]";
        }

        if (!actual.Logits.SequenceEqual(expected.Logits) || actual.Target != expected.Target)
        {
            return "logits or target differ";
        }

        return Nullable.Equals(actual.ConvergenceDelta, expected.ConvergenceDelta)
            ? null
            : $"convergence delta {actual.ConvergenceDelta} instead of {expected.ConvergenceDelta}";
    }
}
