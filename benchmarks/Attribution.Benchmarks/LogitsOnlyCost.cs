using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Benchmarks;

/// <summary>
/// Forward passes for the logits alone (<see cref="ModelInput.LogitsOnly"/>: the last layer for the first token only)
/// against full forward passes, on the inputs a LIME run on one 64-token text sends (256 texts with about half their
/// tokens replaced by [MASK], in calls of 64 rows), for the BERT-base shape, a DistilBERT-base shape (both random
/// weights) and sst2-bert-tiny; modes alternate over rounds and the best time is kept. Run:
/// <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- logits-only [output.md] [rounds]</c>.
/// </summary>
public static class LogitsOnlyCost
{
    public static int Run(string[] args)
    {
        var output = args.Length > 0 ? args[0] : "benchmarks/results/2026-12-04-speed/logits-only.md";
        var rounds = BenchmarkArguments.Int(args, 1, "rounds", 3);
        var report = new StringBuilder();
        report.AppendLine("# Logits-only forward passes against full ones");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- logits-only {output} {rounds}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores.");
        report.AppendLine();
        report.AppendLine("256 perturbed copies of one 64-token text (each non-special token replaced by [MASK] with probability ½, a fixed seed), scored in");
        report.AppendLine("4 calls of 64 rows without gradients, as LIME's calls are filled; best of the rounds, the two modes alternating.");
        report.AppendLine("Expected saving: the last layer's work except its keys and values, 10/(12·layers) of the linear layers' work.");
        report.AppendLine();
        report.AppendLine("| model | layers | full forward s | logits only s | saved | expected | max \\|Δ logit\\| |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, build) in new (string, Func<TextClassifier>)[]
        {
            ("bert-base shape", BenchmarkModels.BertBaseRandom),
            ("distilbert-base shape", DistilBertBaseRandom),
            ("sst2-bert-tiny", BenchmarkModels.SstBertTiny),
        })
        {
            using var model = build();
            var layers = ((TransformerClassifier)model.Module).Config.NumHiddenLayers;
            var ids = Perturbed(model, 64, 256);
            // Both modes warmed once (the logits-only path runs other shapes in its last layer), then alternated.
            var best = BenchmarkStatistics.WarmedBestOfAlternating(rounds, Time, () => Score(model, ids, logitsOnly: false), () => Score(model, ids, logitsOnly: true));
            var (full, pruned) = (best[0], best[1]);
            Console.Error.WriteLine($"{name}: full {full:F2} s, logits only {pruned:F2} s (best of {rounds})");

            var a = Score(model, ids, logitsOnly: false);
            var b = Score(model, ids, logitsOnly: true);
            var worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {layers} | {full:F2} | {pruned:F2} | {1 - (pruned / full):P0} | {10.0 / (12 * layers):P0} | {worst:E1} |");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        return 0;
    }

    private static TextClassifier DistilBertBaseRandom()
    {
        torch.manual_seed(1234);
        var config = new TransformerConfig
        {
            ModelType = "distilbert", VocabSize = 30522, HiddenSize = 768, NumHiddenLayers = 6, NumAttentionHeads = 12,
            IntermediateSize = 3072, MaxPositionEmbeddings = 512, NumLabels = 2,
        };
        var module = new DistilBertForSequenceClassification(config);
        module.eval();
        var tokenizer = Attribution.Text.Tokenizers.TokenizerLoader.FromDirectory(Path.Combine(BenchmarkModels.SharedDirectory, "tokenizers", "bert-base-uncased"));
        return new TextClassifier("distilbert-base-random", tokenizer, module, ["negative", "positive"], module.WordEmbeddingPath, config.MaxSequenceLength, usesTokenTypes: false);
    }

    private static long[][] Perturbed(TextClassifier model, int tokens, int count)
    {
        var encoding = model.Tokenizer.Encode(BenchmarkModels.SentenceOfTokens(model.Tokenizer, tokens));
        var maskId = model.Tokenizer.MaskId ?? throw new InvalidOperationException($"{model.Name}'s tokenizer has no [MASK] token");
        var random = new Random(0);
        return Enumerable.Range(0, count)
            .Select(_ => encoding.Ids.Select((id, t) => encoding.SpecialTokensMask[t] || random.Next(2) == 0 ? id : maskId).ToArray())
            .ToArray();
    }

    private static double[] Score(TextClassifier model, long[][] ids, bool logitsOnly)
    {
        var values = new List<double>();
        for (var first = 0; first < ids.Length; first += 64)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var rows = ids.Skip(first).Take(64).ToArray();
            var length = rows[0].Length;
            var input = new ModelInput(tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, length]), ones(rows.Length, length, ScalarType.Int64),
                model.UsesTokenTypes ? zeros(rows.Length, length, ScalarType.Int64) : null) { LogitsOnly = logitsOnly };
            values.AddRange(model.Logits(input).to(ScalarType.Float64).data<double>().ToArray());
        }

        return [.. values];
    }

    private static double Time(Action run)
    {
        var clock = Stopwatch.StartNew();
        run();
        return clock.Elapsed.TotalSeconds;
    }
}
