using System.Globalization;

namespace Attribution.Evaluation;

/// <summary>
/// One metric's value for one explanation, with everything needed to reproduce it: the definition in words, the
/// parameters, and the per-step figures behind an average.
/// </summary>
/// <param name="Metric">The metric's name (e.g. <c>comprehensiveness</c>).</param>
/// <param name="Value">The value; NaN only where the metric is undefined for the text, and then <paramref name="Note"/> says why.</param>
/// <param name="Definition">What was computed.</param>
/// <param name="Parameters">The settings, as text, in a stable order.</param>
/// <param name="Steps">The figures averaged into <paramref name="Value"/> (e.g. one per removal fraction), or empty.</param>
/// <param name="Note">Why the value is NaN, or another caveat; null when there is none.</param>
public sealed record MetricResult(
    string Metric,
    double Value,
    string Definition,
    IReadOnlyList<KeyValuePair<string, string>> Parameters,
    IReadOnlyList<MetricStep> Steps,
    string? Note = null)
{
    internal static string Format(double value) => Text.RoundTripNumber.Format(value);
}

/// <summary>One figure behind an averaged metric.</summary>
/// <param name="Label">What the step is (e.g. <c>30%</c>).</param>
/// <param name="Value">Its value.</param>
/// <param name="Detail">What was removed or kept, for the reader.</param>
public sealed record MetricStep(string Label, double Value, string Detail);

/// <summary>Errors shared by the metrics.</summary>
internal static class MetricErrors
{
    public static ArgumentException BlackBox(string metric) =>
        new($"{metric} needs the model's token ids, but the explanation came from a black-box predictor (token ids −1); explain with the classifier itself", "explanation");
}
