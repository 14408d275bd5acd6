using Attribution.Pipeline;
using Attribution.Methods;
using Attribution.Models;
using BenchmarkDotNet.Attributes;

namespace Attribution.Benchmarks;

/// <summary>
/// One explanation of one text per invocation, for each gradient method, on sst2-bert-tiny (a 20-token SST-2
/// sentence) and on the BERT-base-shaped model at 64 tokens. IG at 8, 16 and 50 steps; LIME at 256 samples (1000 in <see cref="LimeBenchmarks"/>).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
[MemoryDiagnoser]
public class MethodBenchmarks
{
    private TextClassifier model = null!;
    private string text = null!;

    [Params("sst2-bert-tiny", "bert-base-random")]
    public string Model { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        model = Model == "sst2-bert-tiny" ? BenchmarkModels.SstBertTiny() : BenchmarkModels.BertBaseRandom();
        text = Model == "sst2-bert-tiny" ? BenchmarkModels.DevSentences(1)[0] : BenchmarkModels.SentenceOfTokens(model.Tokenizer, 64);
    }

    [GlobalCleanup]
    public void Cleanup() => model.Dispose();

    [Benchmark]
    public Explanation Gradient() => new Gradient().Explain(model, text);

    [Benchmark]
    public Explanation GradientXInput() => new GradientXInput().Explain(model, text);

    [Benchmark]
    public Explanation IntegratedGradients8() => new IntegratedGradients { Steps = 8 }.Explain(model, text);

    [Benchmark]
    public Explanation IntegratedGradients16() => new IntegratedGradients { Steps = 16 }.Explain(model, text);

    [Benchmark]
    public Explanation IntegratedGradients50() => new IntegratedGradients { Steps = 50 }.Explain(model, text);

    [Benchmark]
    public Explanation ConductanceLayer0() => new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 16, Rule = IntegrationRule.RiemannTrapezoid }.Explain(model, text);

    [Benchmark]
    public Explanation LrpEpsilon() => new LrpEpsilon().Explain(model, text);

    [Benchmark]
    public Explanation Lime256() => new Lime { Samples = 256 }.Explain(model, text);

    [Benchmark]
    public Explanation SmoothGrad10() => new NoiseTunnel(new GradientXInput()) { Samples = 10 }.Explain(model, text);
}
