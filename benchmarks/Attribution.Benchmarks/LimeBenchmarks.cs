using Attribution.Pipeline;
using Attribution.Methods;
using Attribution.Models;
using BenchmarkDotNet.Attributes;

namespace Attribution.Benchmarks;

/// <summary>LIME at 256 and 1000 samples on sst2-bert-tiny (one SST-2 dev sentence per invocation).</summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class LimeBenchmarks
{
    private TextClassifier model = null!;
    private string text = null!;

    [Params(256, 1000)]
    public int Samples { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        model = BenchmarkModels.SstBertTiny();
        text = BenchmarkModels.DevSentences(1)[0];
    }

    [GlobalCleanup]
    public void Cleanup() => model.Dispose();

    [Benchmark]
    public Explanation Lime() => new Lime { Samples = Samples }.Explain(model, text);
}
