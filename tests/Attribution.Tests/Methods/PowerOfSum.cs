using Attribution.Engine;
using System.Globalization;
using Attribution.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>logits_c = (Σ_t mask_t · w_c·e_t)^p: token embeddings, a bias-free projection to two units, a masked sum, a power.</summary>
internal sealed class PowerOfSum : nn.Module<ModelInput, Tensor>
{
    private const int Vocabulary = 10;
    private static readonly double[] W0 = [1.0, 0.5, -0.3];
    private static readonly double[] W1 = [-0.2, 0.4, 0.1];
    private readonly Embedding embeddings;
    private readonly Linear projection;
    private readonly int power;

    private PowerOfSum(int power)
        : base(nameof(PowerOfSum))
    {
        this.power = power;
        embeddings = nn.Embedding(Vocabulary, 3);
        projection = nn.Linear(3, 2, hasBias: false);
        using (no_grad())
        {
            embeddings.weight!.copy_(tensor(Enumerable.Range(0, Vocabulary).SelectMany(v => Embedding(v).Select(x => (float)x)).ToArray(), [Vocabulary, 3]));
            projection.weight!.copy_(tensor(W0.Concat(W1).Select(x => (float)x).ToArray(), [2, 3]));
        }

        RegisterComponents();
    }

    /// <summary>The classifier and its module (to read <see cref="ForwardCalls"/>).</summary>
    public static (TextClassifier Classifier, PowerOfSum Module) Counted(int power)
    {
        var module = new PowerOfSum(power);
        return (new("power-of-sum", new IdsTokenizer(-1, -2, 0, Vocabulary), module, ["0", "1"], "embeddings", maxLength: null, usesTokenTypes: false), module);
    }

    public static TextClassifier Classifier(int power) =>
        new("power-of-sum", new IdsTokenizer(-1, -2, 0, Vocabulary), new PowerOfSum(power), ["0", "1"], "embeddings", maxLength: null, usesTokenTypes: false);

    /// <summary>IG of class 0 per token with a zero baseline: (w·e_t) S^(p−1), S = Σ_t w·e_t (by hand: ∂F/∂e_t = p S^(p−1) w, ∫ p α^(p−1) = 1).</summary>
    public static double[] IntegratedGradients(string text, int power)
    {
        var contributions = text.Split(' ').Select(id => Embedding(int.Parse(id, CultureInfo.InvariantCulture)).Zip(W0, (e, w) => e * (float)w).Sum()).ToArray();
        var sum = contributions.Sum();
        return contributions.Select(c => c * Math.Pow(sum, power - 1)).ToArray();
    }

    /// <summary>Forward passes run so far.</summary>
    public int ForwardCalls { get; set; }

    /// <summary>(rows, padded length) of every forward pass so far.</summary>
    public List<(long Rows, long Length)> Shapes { get; } = [];

    /// <summary>∂logit_0/∂e_t = p S^(p−1) w_0 for every token of <paramref name="text"/> (the same vector for each).</summary>
    public static double[] Gradient(string text, int power)
    {
        var sum = IntegratedGradients(text, 1).Sum();
        return W0.Select(w => power * Math.Pow(sum, power - 1) * (float)w).ToArray();
    }

    /// <summary>Σ_i e_t,i ∂logit_0/∂e_t,i per token: (w_0·e_t) p S^(p−1).</summary>
    public static double[] GradientTimesInput(string text, int power) =>
        IntegratedGradients(text, power).Select(s => s * power).ToArray();

    /// <summary>Σ_i e_t,i ∂logit_c/∂e_t,i per token for class <paramref name="target"/>: (w_c·e_t) p S_c^(p−1), S_c = Σ_t w_c·e_t.</summary>
    public static double[] GradientTimesInput(string text, int power, int target)
    {
        var w = target == 0 ? W0 : W1;
        var contributions = text.Split(' ').Select(id => Embedding(int.Parse(id, CultureInfo.InvariantCulture)).Zip(w, (e, x) => e * (float)x).Sum()).ToArray();
        var sum = contributions.Sum();
        return contributions.Select(c => c * power * Math.Pow(sum, power - 1)).ToArray();
    }

    public override Tensor forward(ModelInput input)
    {
        ForwardCalls++;
        Shapes.Add((input.InputIds.size(0), input.InputIds.size(1)));
        var y = projection.call(embeddings.call(input.InputIds));
        var mask = (input.AttentionMask ?? ones_like(input.InputIds)).to(y.dtype).unsqueeze(-1);
        // Power keeps its Scalar alive through the native call: a temporary one (pow(int)) can be freed by a collection
        // on another thread meanwhile (TorchSharp's finalizer race; it failed once as libtorch's "INTERNAL ASSERT FAILED
        // at Scalar.h:279" in ExtremeSettingsTests).
        return (y * mask).sum(1).Power(power);
    }

    // Rounded to float32 first, as the model holds them.
    private static double[] Embedding(int v) => new[] { 0.1 * (v + 1), 0.05 * (v % 3), -0.02 * v }.Select(x => (double)(float)x).ToArray();
}
