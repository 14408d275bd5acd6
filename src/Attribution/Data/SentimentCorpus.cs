using System.Collections.Frozen;

namespace Attribution.Data;

/// <summary>
/// One generated sentence: its text (lower-case words separated by single spaces, punctuation as words of its own),
/// its label, and which words decide that label.
/// </summary>
/// <param name="Text">The sentence; <c>Text.Split(' ')</c> gives its words.</param>
/// <param name="Label">0 = negative, 1 = positive (see <see cref="SentimentCorpus.Labels"/>).</param>
/// <param name="Rationale">
/// Positions (in <c>Text.Split(' ')</c>) of the words that decide the label: the sentiment word of the deciding
/// clause and any negation applied to it. In "the plot was dull but the cast was superb" only "superb" (position 8)
/// decides; "dull" is a sentiment word the label does not follow.
/// </param>
/// <param name="Template">The template the sentence was made from (see <see cref="SentimentCorpus.Templates"/>).</param>
public sealed record SentimentExample(string Text, int Label, IReadOnlyList<int> Rationale, string Template) : LabeledText(Text, Label)
{
    /// <summary>"negative" or "positive".</summary>
    public string LabelName => SentimentCorpus.Labels[Label];

    /// <summary>The words of <see cref="LabeledText.Text"/> (split on single spaces).</summary>
    public IReadOnlyList<string> Words => Text.Split(' ');

    /// <summary>The words at the <see cref="Rationale"/> positions, in order.</summary>
    public IReadOnlyList<string> RationaleWords
    {
        get
        {
            var words = Text.Split(' ');
            return Rationale.Select(i => words[i]).ToArray();
        }
    }
}

/// <summary>Train, development and test portions of a generated corpus; no text occurs in two portions.</summary>
/// <param name="Train">Examples to fit on.</param>
/// <param name="Dev">Examples for early stopping and model choice.</param>
/// <param name="Test">Held-out examples for the final figure.</param>
public sealed record SentimentSplits(IReadOnlyList<SentimentExample> Train, IReadOnlyList<SentimentExample> Dev, IReadOnlyList<SentimentExample> Test);

/// <summary>
/// A labelled sentiment corpus the project generates itself, from its own templates and word lists, with a fixed
/// seed (no download, no external data). Sentences are short movie-review phrases: plain statements
/// ("the plot was very dull"), noun phrases ("a sometimes tedious film"), verbs ("i loved this movie"), negations
/// ("the ending was not bad" is positive), contrasts where the clause after "but" decides ("the plot was dull but the
/// cast was superb" is positive), recommendations, and neutral filler ("overall ,", "from start to finish").
/// Because the corpus is generated it knows which words carry sentiment (<see cref="SentimentWords"/>) and which
/// decide each label (<see cref="SentimentExample.Rationale"/>): gold rationales to compare attributions with.
/// </summary>
/// <remarks>
/// The same seed always gives the same corpus, on every platform and .NET version: the generator uses its own
/// SplitMix64 stream, not <see cref="Random"/>.
/// </remarks>
public static class SentimentCorpus
{
    /// <summary>The seed <see cref="Generate"/> and <see cref="Create"/> use when none is given.</summary>
    public const ulong DefaultSeed = 20_240_601;

    /// <summary>The class names in label order: 0 = "negative", 1 = "positive".</summary>
    public static IReadOnlyList<string> Labels { get; } = ["negative", "positive"];

    /// <summary>Adjectives of positive sentiment.</summary>
    public static IReadOnlyList<string> PositiveAdjectives { get; } =
    [
        "good", "great", "excellent", "wonderful", "brilliant", "delightful", "charming", "moving", "superb", "engaging",
        "funny", "beautiful", "clever", "gripping", "heartfelt", "enjoyable", "fresh", "touching", "stunning", "witty",
        "smart", "memorable", "warm", "lovely", "thrilling", "inventive", "satisfying", "powerful", "elegant", "rewarding",
    ];

    /// <summary>Adjectives of negative sentiment.</summary>
    public static IReadOnlyList<string> NegativeAdjectives { get; } =
    [
        "bad", "awful", "terrible", "boring", "dull", "tedious", "bland", "clumsy", "tiresome", "lifeless",
        "predictable", "mediocre", "painful", "pointless", "forgettable", "messy", "shallow", "stale", "weak", "annoying",
        "lazy", "flat", "silly", "confusing", "slow", "ugly", "dreary", "hollow", "sloppy", "unfunny",
    ];

    /// <summary>Past-tense verbs of positive sentiment ("i loved this film").</summary>
    public static IReadOnlyList<string> PositiveVerbs { get; } = ["loved", "enjoyed", "admired", "liked", "adored", "appreciated", "cherished", "savored"];

    /// <summary>Past-tense verbs of negative sentiment ("i hated this film").</summary>
    public static IReadOnlyList<string> NegativeVerbs { get; } = ["hated", "disliked", "loathed", "resented", "despised", "detested", "regretted"];

    /// <summary>Base-form verbs of positive sentiment, used after "did not" ("i did not like this film" is negative).</summary>
    public static IReadOnlyList<string> PositiveBaseVerbs { get; } = ["like", "enjoy", "love", "admire"];

    /// <summary>Base-form verbs of negative sentiment, used after "did not" ("i did not hate this film" is positive).</summary>
    public static IReadOnlyList<string> NegativeBaseVerbs { get; } = ["hate", "dislike", "regret", "mind"];

    /// <summary>Words that flip the sentiment of what follows them.</summary>
    public static IReadOnlyList<string> NegationWords { get; } = ["not", "never"];

    /// <summary>What the sentences talk about (neutral).</summary>
    public static IReadOnlyList<string> Nouns { get; } =
    [
        "film", "movie", "story", "plot", "script", "cast", "acting", "soundtrack", "ending", "dialogue", "direction",
        "picture", "show", "performance", "screenplay", "sequel", "comedy", "drama", "documentary", "thriller", "romance",
        "finale", "premise", "score", "cinematography",
    ];

    /// <summary>Degree and frequency adverbs placed before adjectives (neutral: "a sometimes tedious film" is negative).</summary>
    public static IReadOnlyList<string> Intensifiers { get; } =
    [
        "very", "really", "quite", "truly", "rather", "extremely", "remarkably", "sometimes", "often", "mostly",
        "frequently", "utterly", "consistently", "somewhat", "genuinely", "occasionally",
    ];

    /// <summary>Neutral modifiers placed before nouns ("the new film").</summary>
    public static IReadOnlyList<string> NeutralModifiers { get; } = ["new", "latest", "french", "british", "indie", "animated", "recent", "second", "summer", "holiday"];

    /// <summary>The templates, by the name <see cref="SentimentExample.Template"/> gives, with their relative frequency.</summary>
    public static IReadOnlyDictionary<string, int> Templates { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["copula"] = 18,
        ["phrase"] = 14,
        ["verb"] = 12,
        ["negated-copula"] = 14,
        ["negated-verb"] = 6,
        ["contrast-phrase"] = 12,
        ["contrast-clause"] = 8,
        ["recommend"] = 8,
        ["exclamation"] = 8,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly string[][] Prefixes =
    [
        ["overall", ","], ["to", "be", "honest", ","], ["in", "the", "end", ","], ["frankly", ","], ["all", "in", "all", ","],
        ["for", "the", "most", "part", ","], ["if", "you", "ask", "me", ","], ["as", "expected", ","], ["at", "first", "glance", ","],
    ];

    private static readonly string[][] Suffixes =
    [
        ["from", "start", "to", "finish"], ["in", "my", "opinion"], ["on", "the", "whole"], ["this", "year"], ["at", "least", "for", "me"],
    ];

    private static readonly string[] DegreeAdverbs = ["very", "really", "quite", "truly", "remarkably", "extremely"];
    private static readonly string[] Determiners = ["the", "this", "that"];
    private static readonly string[] Copulas = ["was", "is"];
    private static readonly string[] VerbAdverbs = ["really", "truly", "absolutely", "honestly"];
    private static readonly string[] TemplateWords = ["a", "an", "i", "every", "minute", "of", "but", "and", "what", "would", "can", "did", "recommend", "definitely", "so"];

    private static readonly FrozenDictionary<string, int> Polarities = BuildPolarities();

    /// <summary>
    /// Every word that carries sentiment in this corpus, with its polarity: +1 (positive adjectives and verbs, and
    /// "recommend") or −1 (negative ones). Negations, intensifiers and filler are not in it.
    /// </summary>
    public static IReadOnlyDictionary<string, int> SentimentWords => Polarities;

    /// <summary>Every word a generated sentence can contain, sorted (the vocabulary a model of this corpus needs).</summary>
    public static IReadOnlyList<string> Vocabulary { get; } = PositiveAdjectives.Concat(NegativeAdjectives).Concat(PositiveVerbs).Concat(NegativeVerbs)
        .Concat(PositiveBaseVerbs).Concat(NegativeBaseVerbs).Concat(NegationWords).Concat(Nouns).Concat(Intensifiers).Concat(NeutralModifiers)
        .Concat(Prefixes.SelectMany(p => p)).Concat(Suffixes.SelectMany(s => s)).Concat(Determiners).Concat(Copulas).Concat(VerbAdverbs)
        .Concat(TemplateWords).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>+1 for a positive sentiment word, −1 for a negative one, 0 for anything else (case-insensitive).</summary>
    public static int Polarity(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        return Polarities.TryGetValue(word.ToLowerInvariant(), out var p) ? p : 0;
    }

    /// <summary>
    /// Generates <paramref name="count"/> distinct sentences, each label drawn with probability ½. The same seed gives
    /// the same list; a larger count with the same seed extends it (the first sentences are the same).
    /// </summary>
    /// <param name="count">How many sentences (at least 0). The templates make well over a hundred million distinct
    /// sentences (the plain statements alone: 3 determiners × 11 modifiers or none × 25 nouns × 2 copulas × 17 intensifiers
    /// or none × 60 adjectives × 10 prefixes or none × 6 suffixes or none), so any count that fits in memory can be met.</param>
    /// <param name="seed">The random seed.</param>
    public static IReadOnlyList<SentimentExample> Generate(int count, ulong seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new SplitMix64(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<SentimentExample>(count);
        var attempts = 0L;
        while (result.Count < count)
        {
            if (++attempts > (20L * count) + 1000)
            {
                throw new InvalidOperationException($"could not generate {count} distinct sentences (got {result.Count}); ask for fewer");
            }

            var example = Next(ref rng);
            if (seen.Add(example.Text))
            {
                result.Add(example);
            }
        }

        return result;
    }

    /// <summary>
    /// Generates <paramref name="train"/> + <paramref name="dev"/> + <paramref name="test"/> distinct sentences with
    /// <see cref="Generate"/> and cuts them, in that order, into the three portions (so no text is in two of them).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the three add up to more than
    /// <see cref="int.MaxValue"/> (named <c>train</c>).</exception>
    public static SentimentSplits Create(int train, int dev, int test, ulong seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(train);
        ArgumentOutOfRangeException.ThrowIfNegative(dev);
        ArgumentOutOfRangeException.ThrowIfNegative(test);
        if ((long)train + dev + test > int.MaxValue)
        {
            // Before, the sum wrapped to a negative count, refused by Generate under the name "count", no parameter of this method.
            throw new ArgumentOutOfRangeException(nameof(train), train,
                $"train + dev + test = {(long)train + dev + test} sentences, more than one list can hold ({int.MaxValue}); ask for fewer");
        }

        var all = Generate(train + dev + test, seed);
        return new SentimentSplits(all.Take(train).ToArray(), all.Skip(train).Take(dev).ToArray(), all.Skip(train + dev).ToArray());
    }

    private static FrozenDictionary<string, int> BuildPolarities()
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var w in PositiveAdjectives.Concat(PositiveVerbs).Concat(PositiveBaseVerbs).Append("recommend"))
        {
            result[w] = 1;
        }

        foreach (var w in NegativeAdjectives.Concat(NegativeVerbs).Concat(NegativeBaseVerbs))
        {
            result[w] = -1;
        }

        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static SentimentExample Next(ref SplitMix64 rng)
    {
        var label = rng.Next(2);
        var positive = label == 1;
        var template = PickTemplate(ref rng);
        var words = new List<string>();
        var rationale = new List<int>();
        var sentence = new Builder(words, rationale);
        switch (template)
        {
            case "copula":
                Copula(ref rng, sentence, positive, intensify: true, decides: true);
                break;
            case "phrase":
                Phrase(ref rng, sentence, positive);
                break;
            case "verb":
                Verb(ref rng, sentence, positive, decides: true);
                break;
            case "negated-copula":
                sentence.Add(Pick(ref rng, Determiners)).Add(Pick(ref rng, Nouns)).Add(Pick(ref rng, Copulas));
                sentence.Key(Pick(ref rng, NegationWords));
                if (rng.Next(3) == 0)
                {
                    // Degree adverbs only: "not very good" reads as it should, "not sometimes good" would not.
                    sentence.Add(Pick(ref rng, DegreeAdverbs));
                }

                sentence.Key(Adjective(ref rng, !positive));
                break;
            case "negated-verb":
                sentence.Add("i").Add("did").Key("not").Key(Pick(ref rng, positive ? NegativeBaseVerbs : PositiveBaseVerbs))
                    .Add("this").Add(Pick(ref rng, Nouns));
                break;
            case "contrast-phrase":
                if (rng.Next(2) == 0)
                {
                    // "a slow but rewarding film"
                    var first = Adjective(ref rng, !positive);
                    sentence.Add(Article(first)).Add(first).Add("but").Key(Adjective(ref rng, positive)).Add(Pick(ref rng, Nouns));
                }
                else
                {
                    // "the plot was dull but fun"
                    sentence.Add(Pick(ref rng, Determiners)).Add(Pick(ref rng, Nouns)).Add(Pick(ref rng, Copulas))
                        .Add(Adjective(ref rng, !positive)).Add("but").Key(Adjective(ref rng, positive));
                }

                break;
            case "contrast-clause":
                // "the plot was dull but the cast was superb": the clause after "but" decides.
                Clause(ref rng, sentence, !positive, intensify: true, decides: false);
                sentence.Add("but");
                Clause(ref rng, sentence, positive, intensify: false, decides: true);
                break;
            case "recommend":
                sentence.Add("i");
                if (positive)
                {
                    sentence.Add("would");
                    if (rng.Next(2) == 0)
                    {
                        sentence.Add(Pick(ref rng, ["definitely", "really", "so"]));
                    }

                    sentence.Key("recommend");
                }
                else
                {
                    sentence.Add(Pick(ref rng, ["would", "can"])).Key("not").Key("recommend");
                }

                sentence.Add("this").Add(Pick(ref rng, Nouns));
                break;
            case "exclamation":
                if (rng.Next(2) == 0)
                {
                    sentence.Add("what").Add("a").Key(Adjective(ref rng, positive)).Add(Pick(ref rng, Nouns));
                }
                else
                {
                    sentence.Add(Pick(ref rng, Determiners)).Add(Pick(ref rng, Nouns)).Add(Pick(ref rng, Copulas))
                        .Key(Adjective(ref rng, positive)).Add("and").Key(Adjective(ref rng, positive));
                }

                break;
            default:
                throw new InvalidOperationException($"unknown template {template}");
        }

        // Neutral filler around the sentence.
        if (rng.Next(4) == 0)
        {
            var prefix = Pick(ref rng, Prefixes);
            words.InsertRange(0, prefix);
            for (var i = 0; i < rationale.Count; i++)
            {
                rationale[i] += prefix.Length;
            }
        }

        if (rng.Next(7) == 0)
        {
            words.AddRange(Pick(ref rng, Suffixes));
        }

        return new SentimentExample(string.Join(' ', words), label, rationale.ToArray(), template);
    }

    private static void Copula(ref SplitMix64 rng, Builder sentence, bool positive, bool intensify, bool decides)
    {
        sentence.Add(Pick(ref rng, Determiners));
        if (rng.Next(4) == 0)
        {
            sentence.Add(Pick(ref rng, NeutralModifiers));
        }

        sentence.Add(Pick(ref rng, Nouns)).Add(Pick(ref rng, Copulas));
        if (intensify && rng.Next(2) == 0)
        {
            sentence.Add(Pick(ref rng, Intensifiers));
        }

        sentence.Word(Adjective(ref rng, positive), decides);
    }

    private static void Verb(ref SplitMix64 rng, Builder sentence, bool positive, bool decides)
    {
        var verb = Pick(ref rng, positive ? PositiveVerbs : NegativeVerbs);
        if (rng.Next(3) == 0)
        {
            sentence.Add("i").Add(Pick(ref rng, VerbAdverbs)).Word(verb, decides).Add("every").Add("minute").Add("of").Add("this").Add(Pick(ref rng, Nouns));
        }
        else
        {
            sentence.Add("i").Word(verb, decides).Add("this");
            if (rng.Next(4) == 0)
            {
                sentence.Add(Pick(ref rng, NeutralModifiers));
            }

            sentence.Add(Pick(ref rng, Nouns));
        }
    }

    private static void Clause(ref SplitMix64 rng, Builder sentence, bool positive, bool intensify, bool decides)
    {
        if (rng.Next(3) == 0)
        {
            sentence.Add("i").Word(Pick(ref rng, positive ? PositiveVerbs : NegativeVerbs), decides).Add("the").Add(Pick(ref rng, Nouns));
        }
        else
        {
            Copula(ref rng, sentence, positive, intensify, decides);
        }
    }

    private static void Phrase(ref SplitMix64 rng, Builder sentence, bool positive)
    {
        // "a sometimes tedious film", "an excellent new comedy"
        var intensifier = rng.Next(2) == 0 ? Pick(ref rng, Intensifiers) : null;
        var adjective = Adjective(ref rng, positive);
        sentence.Add(Article(intensifier ?? adjective));
        if (intensifier is not null)
        {
            sentence.Add(intensifier);
        }

        sentence.Key(adjective);
        if (rng.Next(4) == 0)
        {
            sentence.Add(Pick(ref rng, NeutralModifiers));
        }

        sentence.Add(Pick(ref rng, Nouns));
    }

    private static string Article(string next) => "aeiou".Contains(next[0], StringComparison.Ordinal) ? "an" : "a";

    private static string Adjective(ref SplitMix64 rng, bool positive) => Pick(ref rng, positive ? PositiveAdjectives : NegativeAdjectives);

    private static string PickTemplate(ref SplitMix64 rng)
    {
        var total = Templates.Values.Sum();
        var r = rng.Next(total);

        // Iterate in a fixed order (the frozen dictionary's order is not part of its contract).
        foreach (var name in TemplateOrder)
        {
            r -= Templates[name];
            if (r < 0)
            {
                return name;
            }
        }

        throw new InvalidOperationException("template weights do not add up");
    }

    private static readonly string[] TemplateOrder =
        ["copula", "phrase", "verb", "negated-copula", "negated-verb", "contrast-phrase", "contrast-clause", "recommend", "exclamation"];

    private static T Pick<T>(ref SplitMix64 rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    /// <summary>Appends words to a sentence, recording the positions of the words that decide its label.</summary>
    private sealed class Builder(List<string> words, List<int> rationale)
    {
        public Builder Add(string word)
        {
            words.Add(word);
            return this;
        }

        public Builder Key(string word) => Word(word, decides: true);

        public Builder Word(string word, bool decides)
        {
            if (decides)
            {
                rationale.Add(words.Count);
            }

            words.Add(word);
            return this;
        }
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose output never changes between platforms.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong state = seed;

        private ulong NextUInt64()
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>A uniform integer in [0, n), by rejection so every value is equally likely.</summary>
        public int Next(int n)
        {
            var bound = (ulong)n;
            var limit = ulong.MaxValue - (ulong.MaxValue % bound);
            ulong x;
            do
            {
                x = NextUInt64();
            }
            while (x >= limit);

            return (int)(x % bound);
        }
    }
}
