using System.Collections.Immutable;
using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>Explanations built by hand (no model): WordPiece-like tokens with offsets, [CLS]/[SEP] without.</summary>
internal static class SalienceSamples
{
    public static readonly string[] Labels = ["negative", "positive"];

    /// <summary>
    /// Tokens of <paramref name="text"/>: [CLS], then each whitespace-delimited word, words longer than six UTF-16
    /// units split after the fourth (the rest as a ##-continuation, never inside a surrogate pair), then [SEP].
    /// </summary>
    public static (string[] Tokens, (int, int)?[] Offsets, bool[] Special) Tokenize(string text)
    {
        var tokens = new List<string> { "[CLS]" };
        var offsets = new List<(int, int)?> { null };
        foreach (var (start, end) in Attribution.Text.WordSpans.Of(text))
        {
            var cut = end - start > 6 ? start + 4 : end;
            if (cut < end && char.IsLowSurrogate(text[cut]))
            {
                cut++;
            }

            tokens.Add(text[start..cut]);
            offsets.Add((start, cut));
            if (cut < end)
            {
                tokens.Add("##" + text[cut..end]);
                offsets.Add((cut, end));
            }
        }

        tokens.Add("[SEP]");
        offsets.Add(null);
        var special = offsets.Select(o => o is null).ToArray();
        return (tokens.ToArray(), offsets.ToArray(), special);
    }

    /// <summary>An explanation of <paramref name="text"/> with one score per token ([CLS] and [SEP] included) and word scores.</summary>
    public static Explanation Make(
        string text,
        double[]? scores = null,
        string method = "integrated-gradients",
        bool signed = true,
        IReadOnlyList<KeyValuePair<string, string>>? settings = null,
        int target = 1,
        double[]? logits = null,
        double? delta = 0.00012,
        string model = "sst2-bert-tiny")
    {
        var (tokens, offsets, special) = Tokenize(text);
        scores ??= Enumerable.Range(0, tokens.Length).Select(i => signed ? Math.Sin(1.3 * i) * 0.7 : Math.Abs(Math.Sin(1.3 * i))).ToArray();
        if (scores.Length != tokens.Length)
        {
            throw new ArgumentException($"{tokens.Length} tokens ({string.Join(" ", tokens)}) but {scores.Length} scores");
        }

        logits ??= [-1.25, 2.5];
        var max = logits.Max();
        var exp = logits.Select(l => Math.Exp(l - max)).ToArray();
        var probabilities = exp.Select(x => x / exp.Sum()).ToArray();
        var explanation = new Explanation
        {
            Text = text,
            Model = model,
            Method = method,
            Settings = settings ?? [new("steps", "50"), new("rule", "gausslegendre"), new("baseline", "pad")],
            Tokens = [.. tokens],
            TokenIds = [.. tokens.Select((t, i) => (long)(1000 + (i * 37) + t.Length)).ToArray()],
            Offsets = [.. offsets],
            IsSpecial = [.. special],
            Scores = [.. scores],
            Target = target,
            TargetLabel = Labels[target],
            Logits = [.. logits],
            Probabilities = [.. probabilities],
            ScoreOutput = ScoreOutput.Logit,
            Signedness = signed ? Signedness.Signed : Signedness.Unsigned,
            Reduction = signed ? ScoreReduction.Sum : ScoreReduction.L2,
            ConvergenceDelta = delta,
            Elapsed = TimeSpan.FromTicks(123_456_7),
        };
        return SalienceLayer.AggregateWords(explanation, WordAggregation.Sum);
    }

    /// <summary>Scores that give each whitespace word of a text of plain short words the given word score ([CLS]/[SEP] 0).</summary>
    public static double[] WordScores(params double[] words) => [0, .. words, 0];

    /// <summary>
    /// An explanation of a two-class model (logits [1, 0], target 0, logit scores summed per token) with the given
    /// tokens, ids, offsets, special mask and scores, for hand-computed salience tests.
    /// </summary>
    public static Explanation Hand(
        string text, string[] tokens, long[] ids, (int, int)?[] offsets, bool[] special, double[] scores, bool signed = true, string method = "hand") => new()
    {
        Text = text,
        Model = "hand",
        Method = method,
        Settings = [],
        Tokens = [.. tokens],
        TokenIds = [.. ids],
        Offsets = [.. offsets],
        IsSpecial = [.. special],
        Scores = [.. scores],
        Target = 0,
        TargetLabel = Labels[0],
        Logits = [1, 0],
        Probabilities = [0.73, 0.27],
        ScoreOutput = ScoreOutput.Logit,
        Signedness = signed ? Signedness.Signed : Signedness.Unsigned,
        Reduction = ScoreReduction.Sum,
    };
}
