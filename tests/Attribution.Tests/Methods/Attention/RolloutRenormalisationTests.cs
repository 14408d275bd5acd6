using Attribution.Methods.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Attention;

/// <summary>
/// Abnar and Zuidema (2020): Â = 0.5·A + 0.5·I with A averaged over heads, rows renormalised, rollout the product over
/// layers. A softmax's rows sum to 1 only within its precision (float16 about 5e-4, bfloat16 about 4e-3), and without
/// the renormalisation that error compounded through the product; exaggerated here (rows summing to 0.8 … 1.2) so a
/// 2-layer, 3-token example computed by hand shows it.
/// </summary>
public sealed class RolloutRenormalisationTests
{
    [Fact]
    public void Rows_that_do_not_sum_to_one_are_renormalised_as_the_paper_does()
    {
        using var scope = NewDisposeScope();
        // Layer 1, one head; row sums 0.9, 1.0, 0.8.
        var first = tensor(new float[] { 0.5f, 0.3f, 0.1f, 0.2f, 0.6f, 0.2f, 0.0f, 0.4f, 0.4f }).reshape(1, 1, 3, 3);
        // Layer 2, two heads; only row 0 reaches the score. Row 0: head a [0.2, 0.6, 0.4], head b [0.4, 0.2, 0.0].
        var second = tensor(new float[]
        {
            0.2f, 0.6f, 0.4f, 0.3f, 0.3f, 0.3f, 0.1f, 0.1f, 0.1f,
            0.4f, 0.2f, 0.0f, 0.5f, 0.5f, 0.5f, 0.9f, 0.9f, 0.9f,
        }).reshape(1, 2, 3, 3);

        // By hand. Â1 = (A1 + I) / 2 with rows divided by their sums:
        //   row 0 [0.75, 0.15, 0.05] / 0.95 = [15, 3, 1] / 19; row 1 [0.1, 0.8, 0.1] (sum 1); row 2 [0, 0.2, 0.7] / 0.9 = [0, 2, 7] / 9.
        // Heads' mean of layer 2's row 0: [0.3, 0.4, 0.2]; Â2 row 0 = [0.65, 0.2, 0.1] / 0.95 = [13, 4, 2] / 19.
        // Score of token j = Σ_k Â2[0, k] Â1[k, j].
        double[] expected =
        [
            (13.0 / 19 * 15 / 19) + (4.0 / 19 * 0.1) + (2.0 / 19 * 0),
            (13.0 / 19 * 3 / 19) + (4.0 / 19 * 0.8) + (2.0 / 19 * 2 / 9),
            (13.0 / 19 * 1 / 19) + (4.0 / 19 * 0.1) + (2.0 / 19 * 7 / 9),
        ];
        expected.Sum().Should().BeApproximately(1, 1e-12, "a product of row-stochastic matrices is row-stochastic");

        var scores = AttentionRollout.FromFirstPosition([first, second], null).data<float>().ToArray();

        // float32 output of a float64 computation from float32 inputs (0.1 etc. are not exact in float32): 1e-6.
        scores.Should().HaveCount(3);
        for (var j = 0; j < 3; j++)
        {
            ((double)scores[j]).Should().BeApproximately(expected[j], 1e-6, $"token {j}");
        }
    }
}
