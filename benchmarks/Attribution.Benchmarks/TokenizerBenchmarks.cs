using Attribution.Text.Tokenizers;
using BenchmarkDotNet.Attributes;

namespace Attribution.Benchmarks;

/// <summary>
/// Byte-level BPE (roberta-base) on one unbroken word of <see cref="Length"/> characters: "a" repeated, and random
/// lowercase letters. The merge is O(n log n) per word; a fresh tokenizer per invocation, so nothing is cached.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class TokenizerBenchmarks
{
    private string repeated = null!;
    private string random = null!;
    private ITokenizer tokenizer = null!;

    [Params(2000, 8000, 16000)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        repeated = new string('a', Length);
        var generator = new Random(7);
        random = new string(Enumerable.Range(0, Length).Select(_ => (char)('a' + generator.Next(26))).ToArray());
    }

    [IterationSetup]
    public void FreshTokenizer() => tokenizer = TokenizerLoader.FromDirectory(Path.Combine(BenchmarkModels.SharedDirectory, "tokenizers", "roberta-base"));

    [Benchmark]
    public int RepeatedLetter() => tokenizer.Encode(repeated).Length;

    [Benchmark]
    public int RandomLetters() => tokenizer.Encode(random).Length;
}
