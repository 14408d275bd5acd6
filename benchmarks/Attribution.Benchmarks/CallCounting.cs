using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Benchmarks;

/// <summary>
/// A token classifier that counts the calls made to it and the inputs (rows) they carried, then passes them on
/// unchanged: how the perturbation-cost report measures model calls instead of computing them. Both ways in are
/// counted: <see cref="ITokenClassifier.PredictLogits"/> (the perturbation methods, every method's prediction) and
/// <see cref="ITextPredictor.PredictProbabilities"/> (LIME on a classifier that is not the library's own).
/// Uses only the public API.
/// </summary>
internal sealed class CountingClassifier(ITokenClassifier inner) : ITokenClassifier
{
    private readonly ITokenClassifier inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>Calls made since the last <see cref="Reset"/>.</summary>
    public int Calls { get; private set; }

    /// <summary>Inputs (texts or id sequences) those calls carried.</summary>
    public long Rows { get; private set; }

    public string Name => inner.Name;

    public ITokenizer Tokenizer => inner.Tokenizer;

    public int? MaxLength => inner.MaxLength;

    public bool UsesTokenTypes => inner.UsesTokenTypes;

    public IReadOnlyList<string> Labels => inner.Labels;

    public OutputHead Head => inner.Head;

    public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        Calls++;
        Rows += sequences.Count;
        return inner.PredictLogits(sequences);
    }

    public double[][] PredictProbabilities(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        Calls++;
        Rows += texts.Count;
        return inner.PredictProbabilities(texts);
    }

    /// <summary>Starts both counts again.</summary>
    public void Reset() => (Calls, Rows) = (0, 0L);

    /// <summary>
    /// Model calls and rows per text, measured: <paramref name="explain"/> runs on each text alone through a counting
    /// wrapper of <paramref name="model"/>, and the means over the texts are returned. Every call is counted, the
    /// prediction's one-row call included.
    /// </summary>
    public static (double Calls, double Rows) PerText(ITokenClassifier model, IReadOnlyList<string> texts, Action<ITokenClassifier, string> explain)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(explain);
        if (texts.Count == 0)
        {
            throw new ArgumentException("no texts given: calls per text need at least one text", nameof(texts));
        }

        var counting = new CountingClassifier(model);
        var calls = new int[texts.Count];
        var rows = new long[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            counting.Reset();
            explain(counting, texts[i]);
            (calls[i], rows[i]) = (counting.Calls, counting.Rows);
        }

        return (calls.Average(), rows.Average());
    }

    /// <summary>
    /// LIME's model calls and rows per text on <paramref name="model"/>, measured through a counting wrapper (LIME sends up
    /// to <see cref="Lime.BatchSize"/> perturbed texts a call within <see cref="Lime.TokenBudget"/>, so they cannot be
    /// worked out from a fixed batch size). Behind the wrapper LIME sends each call through
    /// <see cref="ITextPredictor.PredictProbabilities"/>; on the library's own classifier it runs the same calls (the same
    /// length-sorted chunks of the distinct perturbed texts) as one forward pass each.
    /// </summary>
    public static (double Calls, double Rows) Lime(Lime lime, ITokenClassifier model, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(lime);
        return PerText(model, texts, (counted, text) => lime.Attribute(counted, [text]));
    }
}

/// <summary>
/// A black box (<see cref="ITextPredictor"/>) that counts its calls and the texts they carried; uses only the public API.
/// </summary>
internal sealed class CountingPredictor(IReadOnlyList<string> labels, Func<IReadOnlyList<string>, double[][]> predict) : ITextPredictor
{
    /// <summary>Calls made since the last <see cref="Reset"/>.</summary>
    public int Calls { get; private set; }

    /// <summary>Texts those calls carried.</summary>
    public long Rows { get; private set; }

    public IReadOnlyList<string> Labels { get; } = labels ?? throw new ArgumentNullException(nameof(labels));

    public double[][] PredictProbabilities(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        Calls++;
        Rows += texts.Count;
        return predict(texts);
    }

    /// <summary>Starts both counts again.</summary>
    public void Reset() => (Calls, Rows) = (0, 0L);

    /// <summary>
    /// The black-box-calls table: each method explains all <paramref name="texts"/> in one call through
    /// <paramref name="predictor"/>, every method first once untimed (so no method's first call, with its JIT and
    /// first-call costs, is timed while the others run warm), then once timed
    /// (<see cref="BenchmarkStatistics.WarmedBestOfAlternating"/>); the calls and texts counted are the timed run's.
    /// <paramref name="time"/> measures one run (its wall time, in seconds).
    /// </summary>
    public static (int Calls, long Sent, double Seconds)[] Measure(IReadOnlyList<IPerturbationAttributor> methods, CountingPredictor predictor,
        IReadOnlyList<string> texts, Func<Action, double> time)
    {
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(predictor);
        var counts = new (int Calls, long Sent)[methods.Count];
        var runs = methods.Select((method, i) => (Action)(() =>
        {
            predictor.Reset();
            method.Attribute(predictor, texts);
            counts[i] = (predictor.Calls, predictor.Rows);
        })).ToArray();
        var seconds = BenchmarkStatistics.WarmedBestOfAlternating(1, time, runs);
        return counts.Select((c, i) => (c.Calls, c.Sent, seconds[i])).ToArray();
    }
}
