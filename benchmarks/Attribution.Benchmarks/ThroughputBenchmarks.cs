using Attribution.Pipeline;
using Attribution.Methods;
using Attribution.Models;
using BenchmarkDotNet.Attributes;

namespace Attribution.Benchmarks;

/// <summary>
/// 64 SST-2 dev sentences explained with Gradient × Input and with IG (16 steps) on sst2-bert-tiny: batched
/// (padded, length-bucketed batches of 16) versus one text per forward pass. Divide 64 by the mean time for texts/s.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class ThroughputBenchmarks
{
    private TextClassifier model = null!;
    private string[] texts = null!;

    [Params(1, 16)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        model = BenchmarkModels.SstBertTiny();
        texts = BenchmarkModels.DevSentences(64);
    }

    [GlobalCleanup]
    public void Cleanup() => model.Dispose();

    [Benchmark]
    public IReadOnlyList<Explanation> GradientXInput64() => new GradientXInput().Explain(model, texts, new ExplainOptions { BatchSize = BatchSize });

    [Benchmark]
    public IReadOnlyList<Explanation> IntegratedGradients16x64() =>
        new IntegratedGradients { Steps = 16 }.Explain(model, texts, new ExplainOptions { BatchSize = BatchSize });
}
