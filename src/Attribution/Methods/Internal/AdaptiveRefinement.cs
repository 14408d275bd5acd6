using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// Bookkeeping of adaptive integration for one batch: which texts still refine, their previous per-token scores, and
/// the accepted results. A method offers each level's attributions for the active texts; texts that meet the target
/// (see <see cref="AdaptiveIntegration"/>) are fixed and leave the batch, so finer levels run on fewer texts.
/// Disposing it frees the accepted rows a call that failed or was cancelled before <see cref="Finish"/> still holds.
/// </summary>
internal sealed class AdaptiveRefinement : IDisposable
{
    private readonly AttributionContext whole;
    private readonly AdaptiveIntegration settings;
    private readonly PathInputs path;
    private readonly bool checkCompleteness;
    private readonly LayerSite pathSite;
    private double[]? startScores;
    private readonly double[]?[] previousScores;
    private readonly int[] stepsUsed;
    private readonly int[] evaluations;
    private readonly double[] deltas;
    private readonly string?[] notes;
    private readonly string?[] deltaNotes;

    // Accepted rows and their attributions, held outside every dispose scope until Finish assembles them.
    private readonly List<(long[] Rows, Tensor Attributions)> acceptedRows = [];

    /// <param name="context">The batch.</param>
    /// <param name="settings">Tolerances and levels.</param>
    /// <param name="path">The path's ends, computed at <paramref name="pathSite"/>.</param>
    /// <param name="checkCompleteness">Whether the attributions must sum to the change of the output (not for local IG).</param>
    /// <param name="pathSite">Where the path runs (the tensor replaced by its points).</param>
    public AdaptiveRefinement(AttributionContext context, AdaptiveIntegration settings, PathInputs path, bool checkCompleteness, LayerSite pathSite)
    {
        whole = context;
        this.settings = settings;
        this.path = path;
        this.checkCompleteness = checkCompleteness;
        this.pathSite = pathSite;
        previousScores = new double[]?[context.Size];
        stepsUsed = new int[context.Size];
        evaluations = new int[context.Size];
        deltas = new double[context.Size];
        notes = new string?[context.Size];
        deltaNotes = new string?[context.Size];
        Active = Enumerable.Range(0, context.Size).ToArray();
    }

    /// <summary>Rows of the whole batch still refining, ascending.</summary>
    public int[] Active { get; private set; }

    /// <summary>Whether every text has been accepted (or the cap was reached).</summary>
    public bool Done => Active.Length == 0;

    /// <summary>The active rows as their own batch (the whole batch while every row is active).</summary>
    public AttributionContext Context() => whole.Subset(Active);

    /// <summary>The active rows of a whole-batch tensor.</summary>
    public Tensor Rows(Tensor wholeBatch)
    {
        if (Active.Length == whole.Size)
        {
            return wholeBatch.alias();
        }

        using var index = tensor(Active.Select(r => (long)r).ToArray());
        return wholeBatch.index_select(0, index);
    }

    /// <summary>
    /// Offers the attributions of the active rows at a level of <paramref name="steps"/> points, which cost
    /// <paramref name="newEvaluations"/> gradient evaluations per text. Returns the positions (within the active rows
    /// before this call) of the rows that go on refining.
    /// </summary>
    public int[] Offer(Tensor attributions, int steps, int newEvaluations, bool lastLevel)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var perToken = (attributions.dim() > 2 ? attributions.flatten(2).sum(2) : attributions).to(ScalarType.Float64).cpu();
        var length = (int)perToken.size(1);
        var values = perToken.data<double>().ToArray();
        var keep = new List<int>();
        var accepted = new List<int>();
        for (var i = 0; i < Active.Length; i++)
        {
            var row = Active[i];
            var scores = values.AsSpan(i * length, length).ToArray();
            evaluations[row] += newEvaluations;
            stepsUsed[row] = steps;
            var change = Change(previousScores[row], scores);
            var norm = Math.Sqrt(scores.Sum(s => s * s));
            var stable = change is { } c && c <= (settings.Tolerance * norm) + settings.AbsoluteTolerance;
            var expected = path.InputScores[row] - path.BaselineScores[row];
            deltas[row] = scores.Sum() - expected;
            var complete = !checkCompleteness || Within(deltas[row], expected);
            if (stable && !complete)
            {
                // Captum's delta compares with the model run on the baseline ids; where those ids change more than the
                // path's tensor (RoBERTa's position ids), no step count closes that gap, so the integral is checked
                // against F at the path's own start (one extra forward pass per batch, only when needed).
                startScores ??= path.StartScores(whole, pathSite);
                var integral = path.InputScores[row] - startScores[row];
                var gap = path.BaselineScores[row] - startScores[row];
                if (Within(scores.Sum() - integral, integral) && !Within(gap, expected))
                {
                    complete = true;
                    deltaNotes[row] = string.Create(CultureInfo.InvariantCulture,
                        $"convergence delta {deltas[row]:G3} is mostly F(baseline) − F(path start) = {gap:G3}, not integration error: the baseline ids change the model's output beyond the attributed layer (e.g. RoBERTa's position ids count non-pad tokens); the attributions sum to F(input) − F(path start) within the target");
                }
            }

            if ((stable && complete) || lastLevel)
            {
                accepted.Add(i);
                if (!(stable && complete))
                {
                    notes[row] = Unconverged(steps, deltas[row], expected, change, norm);
                }
            }
            else
            {
                previousScores[row] = scores;
                keep.Add(i);
            }
        }

        if (accepted.Count > 0)
        {
            using var from = tensor(accepted.Select(i => (long)i).ToArray());
            acceptedRows.Add((accepted.Select(i => (long)Active[i]).ToArray(), attributions.index_select(0, from).DetachFromDisposeScope()));
        }

        Active = keep.Select(i => Active[i]).ToArray();
        return [.. keep];
    }

    /// <summary>
    /// The accepted attributions of every text, with their deltas, per-text settings and notes: where the step cap
    /// stopped a text and, with <paramref name="explainDeltas"/> (for a result that reports the deltas), where a delta is
    /// F(baseline) − F(path start) rather than integration error.
    /// </summary>
    public (Tensor Attributions, double[] Deltas, IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> RowSettings, IReadOnlyList<IReadOnlyList<string>> Notes) Finish(bool explainDeltas)
    {
        if (!Done || acceptedRows.Count == 0)
        {
            throw new InvalidOperationException("adaptive integration finished before every text was accepted");
        }

        var first = acceptedRows[0].Attributions;
        var result = zeros([whole.Size, .. first.shape[1..]], first.dtype);
        using (no_grad())
        {
            foreach (var (rows, attributions) in acceptedRows)
            {
                using var to = tensor(rows);
                result.index_copy_(0, to, attributions);
                attributions.Dispose();
            }
        }

        acceptedRows.Clear();

        var rowSettings = stepsUsed.Select((s, row) => (IReadOnlyList<KeyValuePair<string, string>>)
        [
            new("steps-used", s.ToString(CultureInfo.InvariantCulture)),
            new("gradient-evaluations", evaluations[row].ToString(CultureInfo.InvariantCulture)),
        ]).ToArray();
        var rowNotes = notes.Select((n, row) => (IReadOnlyList<string>)new[] { n, explainDeltas ? deltaNotes[row] : null }.OfType<string>().ToArray()).ToArray();
        return (result, deltas, rowSettings, rowNotes);
    }

    /// <summary>Frees the accepted rows still held (none after <see cref="Finish"/>).</summary>
    public void Dispose()
    {
        foreach (var (_, attributions) in acceptedRows)
        {
            attributions.Dispose();
        }

        acceptedRows.Clear();
    }

    /// <summary>The positions <paramref name="keep"/> of each tensor's rows (a method's per-row state after <see cref="Offer"/>); disposes the old ones.</summary>
    public static List<Tensor> Keep(List<Tensor> tensors, int[] keep)
    {
        using var index = tensor(keep.Select(i => (long)i).ToArray());
        var kept = new List<Tensor>(tensors.Count);
        foreach (var t in tensors)
        {
            kept.Add(t.index_select(0, index).MoveToOuterDisposeScope());
            t.Dispose();
        }

        return kept;
    }

    private bool Within(double error, double expected) => Math.Abs(error) <= (settings.Tolerance * Math.Abs(expected)) + settings.AbsoluteTolerance;

    private static double? Change(double[]? previous, double[] current)
    {
        if (previous is null)
        {
            return null;
        }

        double sum = 0;
        for (var t = 0; t < current.Length; t++)
        {
            var d = current[t] - previous[t];
            sum += d * d;
        }

        return Math.Sqrt(sum);
    }

    private string Unconverged(int steps, double delta, double expected, double? change, double norm)
    {
        var target = (settings.Tolerance * Math.Abs(expected)) + settings.AbsoluteTolerance;
        var moved = change is { } c ? string.Create(CultureInfo.InvariantCulture, $", the scores moved {c:G3} (relative {c / Math.Max(norm, double.Epsilon):G3}) from the previous level") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture,
            $"adaptive integration stopped at the step cap ({steps} steps) before the {settings.Tolerance:G3} target: convergence delta {delta:G3} (target {target:G3}){moved}; raise MaxSteps / --max-steps or give --steps");
    }
}
