using System.Diagnostics;
using System.Globalization;
using Attribution.Text.Tokenizers;

namespace Attribution.Benchmarks;

/// <summary>
/// Tokenizer speed, for comparing two builds of the library: sentences per second encoding the 872 SST-2 dev sentences
/// with a tokenizer folder (default ../shared/models/sst2-bert-tiny, whose tokenizer.json is read), plain and as LIME
/// sends them (every other word replaced by <c>[MASK]</c>, a literal special token)
/// (<c>tokenize-throughput [folder] [rounds]</c>). Best of the rounds after a warm-up. Uses only the public API, so the
/// file can be copied onto an older checkout.
/// </summary>
public static class TokenizerThroughput
{
    public static int Run(string[] args)
    {
        var folder = args.Length > 0 && args[0].Length > 0 ? args[0] : Path.Combine(BenchmarkModels.SharedDirectory, "models", "sst2-bert-tiny");
        var rounds = BenchmarkArguments.Int(args, 1, "rounds", 5);
        var tokenizer = TokenizerLoader.FromDirectory(folder);
        var plain = BenchmarkModels.DevSentences(872);
        var masked = plain.Select(t => string.Join(' ', t.Split(' ').Select((w, i) => i % 2 == 1 ? "[MASK]" : w))).ToArray();
        foreach (var (name, texts) in new[] { ("plain", plain), ("masked", masked) })
        {
            var tokens = texts.Sum(t => tokenizer.Encode(t).Length);
            var best = double.MaxValue;
            for (var r = 0; r < rounds; r++)
            {
                var clock = Stopwatch.StartNew();
                for (var repeat = 0; repeat < 5; repeat++)
                {
                    foreach (var text in texts)
                    {
                        tokenizer.Encode(text);
                    }
                }

                best = Math.Min(best, clock.Elapsed.TotalSeconds / 5);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {texts.Length / best:F0} sentences/s, {tokens / best / 1e6:F2} M tokens/s (best of {rounds}, {texts.Length} sentences, {tokens} tokens)"));
        }

        return 0;
    }
}
