using Attribution.Methods.Internal;
using Attribution.Methods.LimeParts;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Methods.Perturbation;

/// <summary>
/// The scored output of the model for coalitions of features (true = present): builds each perturbed input, sends
/// the distinct ones not seen before in this run to the model in batches (sorted by length so padding stays small),
/// and remembers the answers, so repeated coalitions (frequent for short texts) cost no model call. One instance
/// serves one text of one call.
/// </summary>
internal sealed class CoalitionScorer
{
    // Bounds the memory of the cache for long sampling runs; beyond it the cache starts afresh.
    private const int CacheLimit = 1 << 16;

    private readonly Dictionary<string, double> cache = new(StringComparer.Ordinal);
    private readonly Func<IReadOnlyList<bool[]>, CancellationToken, double[][]> evaluate;
    private readonly Func<double[], double> score;
    private readonly Func<bool[], int> length;
    private readonly int batchSize;
    private readonly int tokenBudget;
    private readonly ModelRows? rows;

    private CoalitionScorer(int features, int batchSize, int tokenBudget, Func<IReadOnlyList<bool[]>, CancellationToken, double[][]> evaluate, Func<double[], double> score,
        Func<bool[], int> length, ModelRows? rows)
    {
        this.tokenBudget = tokenBudget;
        FeatureCount = features;
        this.batchSize = batchSize;
        this.evaluate = evaluate;
        this.score = score;
        this.length = length;
        this.rows = rows;
    }

    /// <summary>Stops the run between model calls.</summary>
    public CancellationToken Cancellation { get; set; }

    /// <summary>Number of features.</summary>
    public int FeatureCount { get; }

    /// <summary>Calls made to the model.</summary>
    public int ModelCalls { get; private set; }

    /// <summary>Perturbed inputs the model scored (distinct within the run, unless the cache was reset).</summary>
    public int Evaluations { get; private set; }

    /// <summary>Coalitions asked for, repeats included.</summary>
    public long Requests { get; private set; }

    /// <summary>Perturbed inputs whose model output an earlier run on the same text (another class) had already scored.</summary>
    public int Reused { get; private set; }

    /// <summary>Whether the coalition of no features was asked for.</summary>
    public bool AskedEmpty { get; private set; }

    /// <summary>
    /// A scorer that perturbs token ids: tokens of absent features are replaced by <paramref name="replacement"/> or
    /// removed when it is null; tokens of no feature (special tokens) always stay. With <paramref name="rows"/> (the
    /// model's outputs for this text's perturbed inputs, shared with its runs for other classes), an input another
    /// class's run scored costs no model call.
    /// </summary>
    public static CoalitionScorer ForTokens(ITokenClassifier model, Encoding encoding, int[] tokenFeature, int features, long? replacement,
        int target, ScoreOutput score, int batchSize, int tokenBudget, ModelRows? rows = null)
    {
        TokenSequence Build(bool[] present)
        {
            var sequence = PerturbedInputs.Build(encoding, t => tokenFeature[t] >= 0 && !present[tokenFeature[t]], replacement);
            if (sequence.Ids.Length == 0)
            {
                // Only with removal, when every token is some feature's: the tokenizer wrapped the text in no special
                // tokens (a user's ITokenizer; every tokenizer this library loads adds some). No model input has no token.
                throw new ArgumentException(
                    $"with Perturbation = Remove the coalition of no features leaves {model.Name} no token at all: its tokenizer adds no special tokens, " +
                    "and a model input needs at least one token. Use Perturbation = Baseline (the padding id in place of each token, --perturbation baseline) " +
                    "or Mask (--perturbation mask), which keep the input's length", nameof(PerturbationMethod.Perturbation));
            }

            return sequence;
        }

        int Length(bool[] present) => replacement is null
            ? Enumerable.Range(0, encoding.Length).Count(t => tokenFeature[t] < 0 || present[tokenFeature[t]])
            : encoding.Length;

        // The run's token goes on to the model: one call of a batch can be several passes (an ONNX model's session runs,
        // a TextClassifier's batches of 64), and none starts once it is cancelled.
        double[][] Evaluate(IReadOnlyList<bool[]> coalitions, CancellationToken cancellation) =>
            TokenBatches.PredictLogits(model, coalitions.Select(Build).ToArray(), cancellation);

        return new CoalitionScorer(features, batchSize, tokenBudget, Evaluate, row => ScoreChecks.Value(model.Head, score, row, target), Length, rows);
    }

    /// <summary>
    /// A scorer for a black-box predictor: absent features' text is replaced by <paramref name="replacement"/> or
    /// removed when it is null; the score is the target's probability.
    /// </summary>
    public static CoalitionScorer ForText(ITextPredictor predictor, string text, IReadOnlyList<TextFeature> features, bool joinWords,
        string? replacement, int target, int batchSize)
    {
        string Build(bool[] present) => LimeText.Rebuild(text, features, present, joinWords, replacement);
        double[][] Evaluate(IReadOnlyList<bool[]> coalitions, CancellationToken cancellation) => Lime.Predict(predictor, coalitions.Select(Build).ToArray(), cancellation);
        // A black box's cost per text is unknown: calls are sized by count only (the length still orders them).
        return new CoalitionScorer(features.Count, batchSize, int.MaxValue, Evaluate, row => row[target], present => Build(present).Length, null);
    }

    /// <summary>The scored output for each coalition, in order.</summary>
    public double[] Values(IReadOnlyList<bool[]> coalitions)
    {
        Requests += coalitions.Count;
        var keys = coalitions.Select(Key).ToArray();
        AskedEmpty |= keys.Any(k => !k.Contains('1', StringComparison.Ordinal));
        var missing = new List<int>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
        {
            if (!cache.ContainsKey(keys[i]) && seen.Add(keys[i]))
            {
                missing.Add(i);
            }
        }

        if (cache.Count + missing.Count > CacheLimit)
        {
            cache.Clear();
            missing = keys.Select((k, i) => (k, i)).DistinctBy(x => x.k).Select(x => x.i).ToList();
        }

        var fresh = new Dictionary<string, double>(StringComparer.Ordinal);
        if (rows is not null)
        {
            // Inputs another class's run on this text already sent to the model: their outputs are scored for this class.
            var unseen = new List<int>(missing.Count);
            foreach (var i in missing)
            {
                if (rows.TryGet(keys[i], out var row))
                {
                    fresh[keys[i]] = Checked(score(row));
                    Reused++;
                }
                else
                {
                    unseen.Add(i);
                }
            }

            missing = unseen;
        }

        var lengths = missing.Select(i => length(coalitions[i])).ToArray();
        foreach (var call in TokenBudgetBatches.Chunk(lengths, tokenBudget, batchSize))
        {
            var chunk = call.Select(j => missing[j]).ToArray();
            Cancellation.ThrowIfCancellationRequested();
            var outputs = evaluate(chunk.Select(i => coalitions[i]).ToArray(), Cancellation);
            ModelCalls++;
            Evaluations += chunk.Length;
            rows?.Called(chunk.Length);
            for (var j = 0; j < chunk.Length; j++)
            {
                rows?.Add(keys[chunk[j]], outputs[j]);
                fresh[keys[chunk[j]]] = Checked(score(outputs[j]));
            }
        }

        foreach (var (key, value) in fresh)
        {
            cache[key] = value;
        }

        return keys.Select(k => fresh.TryGetValue(k, out var v) ? v : cache[k]).ToArray();
    }

    private static double Checked(double value) => double.IsFinite(value)
        ? value
        : throw new NonFiniteValueException(NonFiniteSource.ModelOutput,
            $"the model's scored output is {value} for a perturbed input: its weights probably contain NaN or infinite values, or overflow; non-finite outputs cannot be attributed");

    /// <summary>Records a value already known (the unperturbed input's, from the prediction), so it costs no model call.</summary>
    public void Remember(bool[] coalition, double value) => cache[Key(coalition)] = value;

    /// <summary>The scored output for one coalition.</summary>
    public double Value(bool[] coalition) => Values([coalition])[0];

    private static string Key(bool[] present) => string.Create(present.Length, present, (span, p) =>
    {
        for (var i = 0; i < p.Length; i++)
        {
            span[i] = p[i] ? '1' : '0';
        }
    });
}
