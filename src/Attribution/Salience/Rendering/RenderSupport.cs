using System.Globalization;
using System.Text;
using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>One coloured unit of a row: a token or a word.</summary>
/// <param name="Label">The token as in the vocabulary, or the word as written.</param>
/// <param name="Start">UTF-16 start in the displayed text (<see cref="Explanation.DisplayText"/>), or null (special tokens).</param>
/// <param name="End">UTF-16 end in the displayed text, or null.</param>
/// <param name="Score">Its score.</param>
/// <param name="Special">Whether it is a special token.</param>
/// <param name="Detail">Extra tooltip text (token id, or the word's tokens).</param>
internal readonly record struct DisplayUnit(string Label, int? Start, int? End, double Score, bool Special, string Detail)
{
    /// <summary>A key that identifies the unit across methods on the same text (for side-by-side tables).</summary>
    public string Key => Start is { } s ? $"{s}:{End}:{(Special ? Label : string.Empty)}" : $"special:{Label}";
}

/// <summary>What the renderers share: units by granularity, prediction, number formatting.</summary>
internal static class RenderSupport
{
    /// <summary>
    /// A bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069): unclosed, it reorders everything
    /// after it in its line, so a text could show its words (and their colours) in another order than the model read
    /// them. Every renderer, and the command line's messages, replace them.
    /// </summary>
    internal static bool IsBidiOverride(char c) => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// The columns a terminal gives <paramref name="text"/>, per user-perceived character (extended grapheme cluster):
    /// 2 when it holds an East Asian wide or full-width character, an emoji, or an emoji presentation selector (U+FE0F);
    /// 0 when it is only combining marks or format characters (zero-width space and joiner, soft hyphen); 1 otherwise.
    /// So "é" written as e + U+0301 takes 1 column and "映" or "👍" 2, where <see cref="string.Length"/> says 2, 1 and 2.
    /// (Terminals differ on a few ambiguous-width characters; these are the wcwidth rules most of them follow.)
    /// </summary>
    internal static int DisplayWidth(string text)
    {
        var width = 0;
        var clusters = StringInfo.GetTextElementEnumerator(text);
        while (clusters.MoveNext())
        {
            var cluster = clusters.GetTextElement();
            var clusterWidth = 0;
            foreach (var rune in cluster.EnumerateRunes())
            {
                var runeWidth = IsWide(rune) || rune.Value == 0xFE0F ? 2
                    : Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format ? 0
                    : 1;
                clusterWidth = Math.Max(clusterWidth, runeWidth);
            }

            width += clusterWidth;
        }

        return width;
    }

    /// <summary><paramref name="text"/> followed by spaces up to <paramref name="width"/> terminal columns (<see cref="DisplayWidth"/>).</summary>
    internal static string PadRightToWidth(string text, int width) => text + new string(' ', Math.Max(0, width - DisplayWidth(text)));

    /// <summary>Spaces up to <paramref name="width"/> terminal columns (<see cref="DisplayWidth"/>), then <paramref name="text"/>.</summary>
    internal static string PadLeftToWidth(string text, int width) => new string(' ', Math.Max(0, width - DisplayWidth(text))) + text;

    // The main East Asian Wide (W) and Fullwidth (F) ranges of Unicode's EastAsianWidth.txt (CJK, Hangul, kana,
    // full-width forms) and the emoji blocks that terminals draw two columns wide.
    private static bool IsWide(Rune rune) => rune.Value is
        >= 0x1100 and <= 0x115F or >= 0x231A and <= 0x231B or >= 0x2329 and <= 0x232A or >= 0x23E9 and <= 0x23EC
        or 0x23F0 or 0x23F3 or >= 0x25FD and <= 0x25FE or >= 0x2614 and <= 0x2615 or >= 0x2648 and <= 0x2653 or 0x267F
        or 0x2693 or 0x26A1 or >= 0x26AA and <= 0x26AB or >= 0x26BD and <= 0x26BE or >= 0x26C4 and <= 0x26C5 or 0x26CE
        or 0x26D4 or 0x26EA or >= 0x26F2 and <= 0x26F3 or 0x26F5 or 0x26FA or 0x26FD or 0x2705 or >= 0x270A and <= 0x270B
        or 0x2728 or 0x274C or 0x274E or >= 0x2753 and <= 0x2755 or 0x2757 or >= 0x2795 and <= 0x2797 or 0x27B0 or 0x27BF
        or >= 0x2B1B and <= 0x2B1C or 0x2B50 or 0x2B55 or >= 0x2E80 and <= 0x303E or >= 0x3041 and <= 0x33FF
        or >= 0x3400 and <= 0x4DBF or >= 0x4E00 and <= 0x9FFF or >= 0xA000 and <= 0xA4CF or >= 0xA960 and <= 0xA97F
        or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF or >= 0xFE10 and <= 0xFE19 or >= 0xFE30 and <= 0xFE6F
        or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6 or >= 0x16FE0 and <= 0x18CFF or >= 0x1B000 and <= 0x1B2FF
        or 0x1F004 or 0x1F0CF or 0x1F18E or >= 0x1F191 and <= 0x1F19A or >= 0x1F200 and <= 0x1F251
        or >= 0x1F300 and <= 0x1F64F or >= 0x1F680 and <= 0x1F6FF or >= 0x1F7E0 and <= 0x1F7EB
        or >= 0x1F90C and <= 0x1F9FF or >= 0x1FA70 and <= 0x1FAFF or >= 0x20000 and <= 0x2FFFD or >= 0x30000 and <= 0x3FFFD;

    /// <summary>The units of a row; <paramref name="fellBack"/> is set when words were asked for but the result has none.</summary>
    public static IReadOnlyList<DisplayUnit> Units(Explanation e, Granularity granularity, out bool fellBack)
    {
        fellBack = granularity == Granularity.Words && e.Words.Count == 0;
        if (granularity == Granularity.Words && !fellBack)
        {
            return e.Words.Select(w => new DisplayUnit(
                w.Text, e.DisplayPosition(w.Segment, w.Start), e.DisplayPosition(w.Segment, w.End), w.Score, false,
                "tokens: " + string.Join(" ", w.TokenIndices.Where(i => i >= 0 && i < e.Tokens.Length).Select(i => e.Tokens[i])))).ToList();
        }

        return Enumerable.Range(0, e.Tokens.Length).Select(i => new DisplayUnit(
            e.Tokens[i],
            e.Offsets[i] is { } start ? e.DisplayPosition(e.SegmentOf(i) ?? 0, start.Start) : null,
            e.Offsets[i] is { } end ? e.DisplayPosition(e.SegmentOf(i) ?? 0, end.End) : null,
            e.Scores[i],
            e.IsSpecial[i],
            "id " + e.TokenIds[i].ToString(Invariant) + (e.IsSpecial[i] ? ", special token" : string.Empty))).ToList();
    }

    /// <summary>
    /// Units keyed for a side-by-side table: special tokens and repeated spans (byte-level BPE splits one character
    /// into several tokens) are numbered by occurrence so each key is unique within a row.
    /// </summary>
    public static IReadOnlyList<(string Key, DisplayUnit Unit)> Keyed(IReadOnlyList<DisplayUnit> units)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var keyed = new List<(string, DisplayUnit)>(units.Count);
        foreach (var unit in units)
        {
            var key = unit.Key;
            counts[key] = counts.GetValueOrDefault(key) + 1;
            keyed.Add(($"{key}#{counts[key]}", unit));
        }

        return keyed;
    }

    /// <summary>The predicted class: the index of the largest logit.</summary>
    public static int Predicted(Explanation e)
    {
        var best = 0;
        for (var i = 1; i < e.Logits.Length; i++)
        {
            if (e.Logits[i] > e.Logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>
    /// What the model predicts, as (name, likelihood) pairs: the top class; for a multi-label model every label above
    /// 0.5, most likely first (the top one when none is). Label names may repeat (a Hugging Face id2label may name two
    /// classes alike): a name that several classes share, among <paramref name="labels"/> or the predicted ones, gets
    /// its class index, "same (class 1)".
    /// </summary>
    public static IReadOnlyList<(string Name, string Likelihood)> Prediction(Explanation e, IReadOnlyList<string>? labels)
    {
        var top = Predicted(e);
        var classes = e.Head == Models.OutputHead.MultiLabel
            ? Enumerable.Range(0, e.Logits.Length).Where(k => Probability(e, k) > 0.5).OrderByDescending(k => Probability(e, k)).DefaultIfEmpty(top).ToArray()
            : [top];
        var names = classes.Select(k => ClassName(e, k, labels)).ToArray();
        bool Shared(string name) => names.Count(n => n == name) > 1 || (labels?.Count(l => l == name) ?? 0) > 1;
        return classes.Select((k, i) => (Shared(names[i]) ? $"{names[i]} (class {k.ToString(Invariant)})" : names[i], Likelihood(e, k))).ToArray();
    }

    /// <summary>A class's name: from <paramref name="labels"/>, else the target's label, else "class i".</summary>
    public static string ClassName(Explanation e, int index, IReadOnlyList<string>? labels)
    {
        if (labels is not null && index >= 0 && index < labels.Count)
        {
            return labels[index];
        }

        return index == e.Target ? e.TargetLabel : "class " + index.ToString(Invariant);
    }

    /// <summary>Probability of class <paramref name="index"/>, or NaN when absent.</summary>
    public static double Probability(Explanation e, int index) =>
        index >= 0 && index < e.Probabilities.Length ? e.Probabilities[index] : double.NaN;

    /// <summary>
    /// How likely label <paramref name="index"/> is, in the head's own terms: <c>p = 0.9770</c> (softmax),
    /// <c>σ = 0.6184</c> (a multi-label sigmoid), <c>score = 0.3132</c> (a regression output, which has no probability).
    /// </summary>
    public static string Likelihood(Explanation e, int index)
    {
        if (e.Head == Models.OutputHead.Regression)
        {
            return "score = " + (e.Logits.Length > 0 ? e.Logits[0].ToString("0.0000", Invariant) : "?");
        }

        var p = Probability(e, index);
        return (e.Head == Models.OutputHead.MultiLabel ? "σ = " : "p = ") + (double.IsNaN(p) ? "?" : p.ToString("0.0000", Invariant));
    }

    /// <summary>The exact (round-trip) text of a number.</summary>
    public static string Exact(double value) => Text.RoundTripNumber.Format(value);

    /// <summary>What <see cref="Decimals"/> returns when fixed decimals cannot show the row: <see cref="Short"/> then writes 1.2E-09.</summary>
    public const int Scientific = -1;

    /// <summary>
    /// Decimals that show the row's largest |score| with two significant digits (at least 2, at most 8), or
    /// <see cref="Scientific"/> when that takes more than 8 (|score| below 1e-7: eight decimals would show every
    /// score of the row as zero) or when the largest |score| is a million or more (fixed decimals would write every
    /// digit of 1e300).
    /// </summary>
    public static int Decimals(double scale)
    {
        if (double.IsFinite(scale) && scale >= LargestFixed)
        {
            return Scientific;
        }

        if (!double.IsFinite(scale) || scale <= 0 || scale >= 0.1)
        {
            return 2;
        }

        var decimals = 1 - (int)Math.Floor(Math.Log10(scale));
        return decimals > 8 ? Scientific : Math.Max(decimals, 2);
    }

    /// <summary>The row scale from which scores are written in scientific notation (1.0E+6).</summary>
    private const double LargestFixed = 1e6;

    /// <summary>A score with fixed decimals, with an explicit sign for signed scores (none when it shows as zero, or is NaN).</summary>
    public static string Short(double value, bool signed, int decimals)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (decimals == Scientific)
        {
            var scientific = value.ToString("0.0E+0", Invariant);
            return value == 0 ? "0" : signed && value > 0 ? "+" + scientific : scientific;
        }

        var format = "F" + decimals.ToString(Invariant);
        var text = value.ToString(format, Invariant);
        if (text.Trim('-', '0', '.').Length == 0)
        {
            return text.TrimStart('-');
        }

        return signed && !text.StartsWith('-') ? "+" + text : text;
    }

    /// <summary>
    /// What a row must say when some of its scores are NaN or infinite, or null when all are finite: the colour scale
    /// is made of the finite scores, so those units are painted as a zero score would be.
    /// </summary>
    public static string? NonFiniteNote(IReadOnlyList<DisplayUnit> units)
    {
        var count = units.Count(u => !double.IsFinite(u.Score));
        return count == 0
            ? null
            : $"{count.ToString(Invariant)} of {units.Count.ToString(Invariant)} scores are not finite (NaN or ±infinity): they are left uncoloured, as a zero score would be, and the colour scale is that of the finite scores";
    }

    /// <summary>A number with four significant digits.</summary>
    public static string Brief(double value) => value.ToString("G4", Invariant);

    /// <summary>
    /// The convergence delta with its unit, e.g. <c>0.00012 (logit units)</c>: the delta is Σ attributions −
    /// (F(x) − F(baseline)) in the scored output's own units (a logit, a probability, a log-probability, a regression
    /// output), never normalized, so next to normalized scores it must say what it is measured in.
    /// </summary>
    public static string Delta(Explanation e, double delta) => $"{Brief(delta)} ({DeltaUnit(e)})";

    /// <summary>The unit of the convergence delta: <c>logit units</c>, <c>probability units</c>, <c>log-probability units</c>, or <c>output units</c> (regression).</summary>
    public static string DeltaUnit(Explanation e) => $"{(e.Head == Models.OutputHead.Regression ? "output" : e.ScoreOutput.Name())} units";

    /// <summary>LIME's surrogate fit, briefly (R², unweighted R², intercept, samples), or null when there is none.</summary>
    public static string? Surrogate(Explanation e) => e.Surrogate is { } s
        ? $"surrogate R² {Brief(s.RSquared)} (unweighted {Brief(s.UnweightedRSquared)}), intercept {Brief(s.Intercept)}, {s.Samples.ToString(Invariant)} samples"
        : null;

    /// <summary>Where LRP's relevance went (<c>path value</c> pairs), or null when the result has no shares.</summary>
    public static string? RelevanceShares(Explanation e) => e.RelevanceShares is { Count: > 0 } shares
        ? "relevance " + string.Join(", ", shares.Select(kv => $"{kv.Key} {Brief(kv.Value)}"))
        : null;

    /// <summary>The settings as <c>key=value</c> pairs.</summary>
    public static string Settings(IEnumerable<KeyValuePair<string, string>> settings) =>
        string.Join(", ", settings.Select(kv => $"{kv.Key}={kv.Value}"));

    /// <summary>What the scores are: output, reduction, normalization, word aggregation.</summary>
    public static string Description(Explanation e, Granularity granularity) =>
        $"{(e.Signed ? "signed" : "unsigned")} {e.ScoreOutput.Name()} attribution, reduction {e.Reduction.Name()}, normalization {e.Normalization.Name()}"
        + (granularity == Granularity.Words && e.Words.Count > 0 ? $", words by {e.WordAggregation.Name()}" : string.Empty);
}
