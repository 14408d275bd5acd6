using Attribution.Methods.Perturbation;

namespace Attribution.Methods;

/// <summary>
/// Occlusion (Zeiler and Fergus 2014) over a text's features, as Captum's <c>Occlusion</c> on a one-dimensional
/// feature axis: a window of <see cref="Window"/> consecutive features slides by <see cref="Stride"/>, each window's
/// score is f(x) − f(x with the window's features absent), and each feature gets the mean score of the windows that
/// cover it. Window starts are 0, s, 2s, … for ⌈(n − w) / s⌉ + 1 windows, the last one cut at the end of the text;
/// the stride is at most the window, so every feature is covered. With the defaults (window 1, stride 1) this is leave-one-out, Captum's
/// <c>FeatureAblation</c> with one feature at a time.
/// </summary>
public sealed class Occlusion : PerturbationMethod
{
    /// <summary>Features hidden together (default 1).</summary>
    public int Window { get; init; } = 1;

    /// <summary>Features between the starts of consecutive windows (default 1; at most <see cref="Window"/>).</summary>
    public int Stride { get; init; } = 1;

    /// <inheritdoc />
    public override string Name => "occlusion";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.Occlusion;

    private protected override IEnumerable<KeyValuePair<string, string>> MethodSettings() =>
    [
        new("window", Format(Window)),
        new("stride", Format(Stride)),
        new("definition", Window == 1 ? "f(x) - f(x without feature i)" : "mean over windows covering i of f(x) - f(x without the window)"),
    ];

    private protected override void ValidateMethod()
    {
        if (Window < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Window), Window, "the occlusion window must cover at least 1 feature");
        }

        if (Stride < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Stride), Stride, "the occlusion stride must be at least 1 feature");
        }

        if (Stride > Window)
        {
            // The features between two windows would never be occluded: no window's score could be theirs.
            throw new ArgumentOutOfRangeException(nameof(Stride), Stride,
                $"the occlusion stride ({Stride} features) is larger than the window ({Window}): the features between windows would never be occluded and get no score; use a stride of at most the window (--stride {Window}), or a wider window (--window {Stride})");
        }
    }

    private protected override void CheckFeatureCount(int features, string text)
    {
        if (Window > features)
        {
            throw new ArgumentException(
                $"the occlusion window ({Window} features) is larger than the text, which has {features} feature(s): use a window of at most {features} (--window)", nameof(Window));
        }
    }

    private protected override FeatureScores Attribute(CoalitionScorer scorer)
    {
        var n = scorer.FeatureCount;
        var windows = ((n - Window + Stride - 1) / Stride) + 1;
        var coalitions = new List<bool[]>(windows + 1) { Enumerable.Repeat(true, n).ToArray() };
        for (var k = 0; k < windows; k++)
        {
            var present = Enumerable.Repeat(true, n).ToArray();
            var start = k * Stride;
            for (var i = start; i < Math.Min(start + Window, n); i++)
            {
                present[i] = false;
            }

            coalitions.Add(present);
        }

        var values = scorer.Values(coalitions);
        var full = values[0];
        var total = new double[n];
        var covered = new int[n];
        for (var k = 0; k < windows; k++)
        {
            for (var i = k * Stride; i < Math.Min((k * Stride) + Window, n); i++)
            {
                total[i] += full - values[k + 1];
                covered[i]++;
            }
        }

        return new FeatureScores(total.Select((t, i) => t / covered[i]).ToArray(), full, null, null, []);
    }
}
