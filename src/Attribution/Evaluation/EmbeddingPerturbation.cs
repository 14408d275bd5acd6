using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Evaluation;

/// <summary>
/// What the metrics that perturb the word-embedding output share: the checks of given perturbations and of a
/// perturbation's size, and float64 rows of a tensor. The model passes (x, f(x), x′ and f(x − I) for each perturbation I)
/// run in one <see cref="EmbeddingPerturbationSession"/>.
/// </summary>
internal static class EmbeddingPerturbation
{
    /// <summary>
    /// Refuses given perturbations that are null or hold a NaN or infinite value: such a point is no perturbation of the
    /// input, and the metric's value at it was NaN (which max-sensitivity's maximum passed over) or an error that blamed
    /// the model.
    /// </summary>
    public static void CheckGiven(IReadOnlyList<double[][]>? perturbations, string settingsType)
    {
        if (perturbations is null)
        {
            return;
        }

        for (var s = 0; s < perturbations.Count; s++)
        {
            if (perturbations[s] is not { } sample || sample.Any(row => row is null))
            {
                throw new ArgumentException($"{settingsType}.Perturbations[{s}] is null or has a null row: give each perturbation as [tokens][hidden] values", "settings");
            }

            for (var t = 0; t < sample.Length; t++)
            {
                var h = Array.FindIndex(sample[t], v => !double.IsFinite(v));
                if (h >= 0)
                {
                    throw new ArgumentException(
                        $"{settingsType}.Perturbations[{s}][{t}][{h}] is {sample[t][h].ToString(System.Globalization.CultureInfo.InvariantCulture)}: every perturbation value must be finite",
                        "settings");
                }

                // Finite in double, infinite in the float32 embeddings it is applied to: the model's output or the
                // attributions failed as non-finite only after the model's passes.
                h = Array.FindIndex(sample[t], v => Math.Abs(v) > float.MaxValue);
                if (h >= 0)
                {
                    throw new ArgumentException(
                        $"{settingsType}.Perturbations[{s}][{t}][{h}] is {sample[t][h].ToString(System.Globalization.CultureInfo.InvariantCulture)}: " +
                        BeyondFloat32("a perturbation value", null),
                        "settings");
                }
            }
        }
    }

    /// <summary>
    /// Why a perturbation size beyond <see cref="float.MaxValue"/> is refused, and the fix: the perturbation is applied to
    /// the word-embedding output in the model's precision, float32 for the library's models, where it is infinite. (A
    /// float64 model could hold it, but no embedding is of that scale; a half-precision one overflows far sooner, which
    /// only its output reveals.)
    /// </summary>
    /// <param name="what">The setting in words ("the radius").</param>
    /// <param name="usual">Its default and whose it is, or null.</param>
    public static string BeyondFloat32(string what, string? usual) =>
        $"{what} exceeds {float.MaxValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} in size, float32's largest value: the perturbation is applied " +
        "to the model's word-embedding output in its precision (float32 for the library's models), where it would be infinite, and every value it gave " +
        $"would be non-finite; use a size of the embeddings' own scale{(usual is null ? string.Empty : $" (default {usual})")}";

    /// <summary>A [rows, columns] tensor as float64 rows.</summary>
    public static double[][] Rows(Tensor matrix)
    {
        var columns = (int)matrix.size(1);
        var values = matrix.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        return Enumerable.Range(0, (int)matrix.size(0)).Select(r => values.AsSpan(r * columns, columns).ToArray()).ToArray();
    }
}
