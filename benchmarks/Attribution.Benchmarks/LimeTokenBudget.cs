using System.Diagnostics;
using System.Globalization;
using Attribution.Methods;

namespace Attribution.Benchmarks;

/// <summary>
/// LIME's token budget (padded tokens per model call) on the BERT-base shape: milliseconds for one text of
/// <c>tokens</c> tokens with 256 samples at each budget, the budgets alternating round by round after a warm-up of each
/// (<c>lime-budget [tokens] [rounds] [budget,budget,...]</c>). Shows whether the default (4096) suits the shape the
/// speed report times LIME on, where the batch's activations outgrow the cache.
/// </summary>
public static class LimeTokenBudget
{
    public static int Run(string[] args)
    {
        var tokens = BenchmarkArguments.Int(args, 0, "tokens", 64);
        var rounds = BenchmarkArguments.Int(args, 1, "rounds", 2);
        var budgets = args.Length > 2
            ? args[2].Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray()
            : [256, 512, 1024, 2048, 4096];
        using var model = BenchmarkModels.BertBaseRandom();
        var text = BenchmarkModels.SentenceOfTokens(model.Tokenizer, tokens);
        var best = BenchmarkStatistics.WarmedBestOfAlternating(
            rounds,
            run =>
            {
                var clock = Stopwatch.StartNew();
                run();
                return clock.Elapsed.TotalMilliseconds;
            },
            budgets.Select(budget => (Action)(() => new Lime { Samples = 256, TokenBudget = budget }.Attribute(model, [text]))).ToArray());
        for (var i = 0; i < budgets.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bert-base {tokens} tokens lime (256 samples) token budget {budgets[i]}: {best[i]:F0} ms (best of {rounds})"));
        }

        return 0;
    }
}
