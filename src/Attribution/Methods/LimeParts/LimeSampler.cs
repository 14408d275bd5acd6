using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.LimeParts;

/// <summary>Draws LIME masks from libtorch's seeded CPU generator (Mersenne Twister), so a seed fixes them everywhere.</summary>
internal static class LimeSampler
{
    /// <summary>
    /// LIT's scheme: mask 0 is all on; each of the <paramref name="samples"/> others draws k uniform in [1, n] and a
    /// uniform permutation π of the positions, and disables position i when π(i) &lt; k (k positions, chosen uniformly
    /// without replacement), exactly as <c>sample_masks</c> in LIT's <c>lime.py</c> (whose numpy draws are not
    /// reproduced: the generator is libtorch's).
    /// </summary>
    public static bool[][] Lit(int samples, int features, ulong seed)
    {
        using var generator = new Generator(seed);
        using var scope = NewDisposeScope();
        var masks = new bool[samples + 1][];
        masks[0] = Enumerable.Repeat(true, features).ToArray();
        var counts = randint(1, features + 1, [samples], generator: generator).data<long>().ToArray();
        for (var s = 0; s < samples; s++)
        {
            var permutation = randperm(features, generator: generator).data<long>().ToArray();
            var mask = new bool[features];
            for (var i = 0; i < features; i++)
            {
                mask[i] = permutation[i] >= counts[s];
            }

            masks[s + 1] = mask;
        }

        return masks;
    }

    /// <summary>
    /// Captum's scheme (<c>default_perturb_func</c>): each sample is <c>torch.bernoulli</c> of a [1, n] tensor of
    /// 0.5 (float32), drawn one sample after another from the generator.
    /// </summary>
    public static bool[][] Captum(int samples, int features, ulong seed)
    {
        using var generator = new Generator(seed);
        using var scope = NewDisposeScope();
        using var probability = 0.5.ToScalar();
        var half = full([1, features], probability, ScalarType.Float32);
        var masks = new bool[samples][];
        for (var s = 0; s < samples; s++)
        {
            var draw = bernoulli(half, generator).data<float>().ToArray();
            masks[s] = draw.Select(v => v != 0).ToArray();
        }

        return masks;
    }
}
