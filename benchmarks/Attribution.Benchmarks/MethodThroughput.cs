using System.Diagnostics;
using System.Globalization;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Benchmarks;

/// <summary>
/// One method's speed, for comparing two builds of the library (run this at each commit, alternating, on a quiet
/// machine): texts per second on the first SST-2 dev sentences with sst2-bert-tiny
/// (<c>method-throughput &lt;method&gt; [texts] [rounds]</c>), or milliseconds for one text of 20 and of 64 tokens on
/// the BERT-base shape (<c>method-one-text &lt;method&gt; [rounds]</c>). Best of the rounds after a warm-up. Uses only
/// the public API, so the file (with BenchmarkMethods.cs, the names) can be copied onto an older checkout to measure it
/// the same way. A method name ending in
/// <c>/every-class</c> (e.g. <c>gradient/every-class</c>) explains every class of the model in one
/// <see cref="MethodRunner.AttributeClasses"/> call instead of the predicted one.
/// </summary>
public static class MethodThroughput
{
    public static int Run(string[] args)
    {
        var name = args.Length > 0 ? args[0] : "gradient";
        var count = BenchmarkArguments.Int(args, 1, "texts", 872);
        var rounds = BenchmarkArguments.Int(args, 2, "rounds", 3);
        // The name is checked before the model loads: an unknown one is refused by name, not after seconds of loading.
        var method = BenchmarkMethods.Method(name);
        using var model = BenchmarkModels.SstBertTiny();
        var texts = BenchmarkModels.DevSentences(count);
        Action run = method is not null ? () => Attribute(method, name, model, texts) : () => model.Predict(texts);
        Action warm = method is not null ? () => Attribute(method, name, model, texts.Take(8).ToArray()) : () => model.Predict(texts.Take(16).ToArray());
        warm();
        var best = Best(run, rounds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {texts.Length / best:F1} texts/s (best of {rounds}, {best:F2} s for {texts.Length} sentences)"));
        return 0;
    }

    /// <summary>Texts per second on the first SST-2 dev sentences with the BERT-base shape (random weights), all in one call.</summary>
    public static int OnBertBase(string[] args)
    {
        var name = args.Length > 0 ? args[0] : "occlusion";
        var count = BenchmarkArguments.Int(args, 1, "texts", 32);
        var rounds = BenchmarkArguments.Int(args, 2, "rounds", 2);
        var method = BenchmarkMethods.Method(name) ?? throw new BenchmarkArgumentException("method-throughput-bert needs a method, not predict", "method");
        using var model = BenchmarkModels.BertBaseRandom();
        var texts = BenchmarkModels.DevSentences(count);
        Attribute(method, name, model, texts.Take(2).ToArray());
        var best = Best(() => Attribute(method, name, model, texts), rounds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bert-base {name}: {texts.Length / best:F2} texts/s (best of {rounds}, {best:F2} s for {texts.Length} sentences)"));
        return 0;
    }

    public static int OneText(string[] args)
    {
        var name = args.Length > 0 ? args[0] : "ig";
        var rounds = BenchmarkArguments.Int(args, 1, "rounds", 3);
        var method = BenchmarkMethods.Method(name) ?? throw new BenchmarkArgumentException("method-one-text needs a method, not predict", "method");
        using var model = BenchmarkModels.BertBaseRandom();
        foreach (var tokens in new[] { 20, 64 })
        {
            var text = BenchmarkModels.SentenceOfTokens(model.Tokenizer, tokens);
            Attribute(method, name, model, [text]);
            var best = Best(() => Attribute(method, name, model, [text]), rounds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bert-base {tokens} tokens {name}: {best * 1000:F0} ms (best of {rounds})"));
        }

        return 0;
    }

    private static void Attribute(IAttributor method, string name, ITextClassifier model, IReadOnlyList<string> texts)
    {
        // "a+b+c": the named methods together in one MethodRunner.AttributeAll call (sharing passes), as the speed report's
        // "all four" row runs them.
        if (name.Contains('+', StringComparison.Ordinal))
        {
            MethodRunner.AttributeAll(model, texts, BenchmarkMethods.Combination(name));
        }
        else if (name.EndsWith(BenchmarkMethods.EveryClass, StringComparison.Ordinal))
        {
            MethodRunner.AttributeClasses(model, texts, [method], Enumerable.Range(0, model.Labels.Count).ToArray());
        }
        else
        {
            method.Attribute(model, texts);
        }
    }

    private static double Best(Action run, int rounds)
    {
        var best = double.MaxValue;
        for (var r = 0; r < rounds; r++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        return best;
    }
}
