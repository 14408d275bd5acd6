using System.Globalization;

namespace Attribution.Methods;

/// <summary>
/// How a path method chooses its step count when none is given: it integrates with few points, then refines (twice
/// the points each time) only the texts whose result is not yet accurate, until the result of each text meets the
/// target or the step cap is reached.
/// </summary>
/// <remarks>
/// <para>A text's result at n points is accepted when both hold:</para>
/// <list type="bullet">
/// <item>completeness: |Σ attributions − (F(input) − F(baseline))| ≤ <see cref="Tolerance"/> · |F(input) − F(baseline)| + <see cref="AbsoluteTolerance"/>,
/// or, where the model run on the baseline ids differs from the path's start (the input with the layer's tensor set to
/// the baseline's: RoBERTa's position ids count non-pad tokens, so pad ids move them), the same test against F at the
/// path's start, with a note that the reported (Captum) delta is that difference and not integration error;</item>
/// <item>stability: the per-token scores moved by at most <see cref="Tolerance"/> · ‖scores‖₂ + <see cref="AbsoluteTolerance"/> (L2) from
/// those at n / 2 points.</item>
/// </list>
/// <para>
/// Completeness alone can hold while token errors cancel in the sum, so the second test compares each token with
/// the coarser rule's value: that difference bounds the coarser rule's error, and the finer rule's (the one returned)
/// is much smaller on a smooth path. Each explanation records <c>steps-used</c> (points of the rule returned),
/// <c>gradient-evaluations</c> (points computed over all levels) and, where the cap stopped it, a note.
/// </para>
/// </remarks>
public sealed record AdaptiveIntegration
{
    /// <summary>The default: 1% tolerance, starting at 4 points, at most 256.</summary>
    public static AdaptiveIntegration Default { get; } = new();

    /// <summary>Relative tolerance of both tests (default 0.01: 1%). Between 1e-6 and 0.5.</summary>
    public double Tolerance { get; init; } = 0.01;

    /// <summary>
    /// Absolute slack in scored-output units added to both tests (default 1e-5), so a text whose output barely moves
    /// between baseline and input (|F(input) − F(baseline)| ≈ 0) can still meet the target. Between 0 and 1.
    /// </summary>
    public double AbsoluteTolerance { get; init; } = 1e-5;

    /// <summary>Points of the first rule (default 4). At least 2 (conductance needs 2 intervals to compare), at most half of <see cref="MaxSteps"/> (one refinement must fit).</summary>
    public int InitialSteps { get; init; } = 4;

    /// <summary>
    /// The step cap (default 256): refinement stops at the last level not above it, and a text that has not met the
    /// target there is returned with a note saying so. At most <see cref="IntegrationRules.MaxSteps"/>.
    /// </summary>
    public int MaxSteps { get; init; } = 256;

    /// <summary>Throws for settings outside their ranges, naming the setting and the fix.</summary>
    public void Validate()
    {
        if (!(Tolerance >= 1e-6 && Tolerance <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "the adaptive tolerance must be between 1e-6 and 0.5 (0.01 means 1%)");
        }

        if (!(AbsoluteTolerance >= 0 && AbsoluteTolerance <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(AbsoluteTolerance), AbsoluteTolerance, "the absolute tolerance must be between 0 and 1 (scored-output units)");
        }

        if (InitialSteps < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialSteps), InitialSteps, "adaptive integration starts with at least 2 steps");
        }

        if (InitialSteps > IntegrationRules.MaxSteps / 2)
        {
            // Checked before the doubling below, which overflowed for InitialSteps ≥ 2³⁰ and let any cap pass.
            throw new ArgumentOutOfRangeException(nameof(InitialSteps), InitialSteps,
                $"adaptive integration starts with at most {IntegrationRules.MaxSteps / 2} steps (one refinement doubles them, up to the {IntegrationRules.MaxSteps}-step limit); lower InitialSteps");
        }

        if (MaxSteps > IntegrationRules.MaxSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, $"the step cap can be at most {IntegrationRules.MaxSteps}");
        }

        if (MaxSteps < 2 * InitialSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps,
                $"the step cap ({MaxSteps}) must allow one refinement of the initial {InitialSteps} steps (at least {2 * InitialSteps}); raise MaxSteps / --max-steps or lower InitialSteps");
        }
    }

    /// <summary>The step counts tried in turn: <see cref="InitialSteps"/>, twice that, … up to <see cref="MaxSteps"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range (as for <see cref="Validate"/>).</exception>
    public IReadOnlyList<int> Levels()
    {
        // Unchecked, a cap near int.MaxValue made the doubling overflow and the loop never end.
        Validate();
        var levels = new List<int>();
        for (var n = InitialSteps; n <= MaxSteps; n *= 2)
        {
            levels.Add(n);
        }

        return levels;
    }

    internal IEnumerable<KeyValuePair<string, string>> Describe() =>
    [
        new("tolerance", Tolerance.ToString("R", CultureInfo.InvariantCulture)),
        new("absolute-tolerance", AbsoluteTolerance.ToString("R", CultureInfo.InvariantCulture)),
        new("initial-steps", InitialSteps.ToString(CultureInfo.InvariantCulture)),
        new("max-steps", MaxSteps.ToString(CultureInfo.InvariantCulture)),
    ];
}
