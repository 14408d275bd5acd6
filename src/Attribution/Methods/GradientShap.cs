using System.Globalization;
using Attribution.Engine;
using Attribution.Methods.Internal;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Gradient SHAP (Lundberg and Lee 2017; Captum's <c>GradientShap</c>), at a layer (the word embeddings by default):
/// expected gradients with random baselines. For each of <see cref="Samples"/> draws, a baseline b is picked uniformly
/// from <see cref="Baselines"/>, Gaussian noise ε ~ N(0, <see cref="Stdev"/>²) is added to the input's activation x,
/// a point α ~ U(0, 1) is taken on the straight line from b to x + ε, and the attribution of that draw is
/// ∂F/∂a at b + α(x + ε − b), times (x + ε − b). The result is the mean over draws; per token it is summed over the
/// hidden dimension. The convergence delta is one number per text, Σ attributions − mean over draws of (F(x) − F(b)):
/// an estimate whose expectation is not exactly 0 (noise, finite samples). Captum returns one delta per draw instead
/// (<c>n_samples</c> per input), Σ attributions of the draw − (F(x + ε) − F(b)). With <see cref="Stdev"/> = 0 (the
/// default) ours is the mean of Captum's; with noise it differs from that mean by the mean of F(x + ε) − F(x), since
/// F is not evaluated at the noisy inputs (that would cost a forward pass per draw). Per-draw deltas are not kept.
/// </summary>
/// <remarks>
/// Draws come from libtorch's CPU generator seeded with <see cref="Seed"/> afresh for every text, in this order for
/// each draw: the baseline index (<c>randint</c>), α (<c>rand</c>, float64), then the noise for the text's real tokens
/// (<c>randn</c>, float64, [tokens, width]); <see cref="Draw"/> returns exactly these numbers. So a text's result does
/// not depend on the batch it is in.
/// </remarks>
public sealed class GradientShap : LayerMethod
{
    /// <summary>The most draws per text.</summary>
    public const int MaxSamples = 100_000;

    /// <summary>Draws per text (default 5, Captum's).</summary>
    public int Samples { get; init; } = 5;

    /// <summary>Standard deviation of the noise added to the input's activation (default 0, Captum's).</summary>
    public double Stdev { get; init; }

    /// <summary>Seed of the draws (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>The baselines drawn from (default: the padding baseline and the all-zero activation).</summary>
    public IReadOnlyList<Baseline> Baselines { get; init; } = [Baseline.Pad, Baseline.Zero];

    /// <summary>The most rows (texts × draws) per forward pass; bounds memory without changing the result. Default 64.</summary>
    public int InternalBatchSize { get; init; } = 64;

    /// <summary>The most padded tokens (rows × padded length) per forward pass (default 2048), as <see cref="PathMethod.TokenBudget"/>.</summary>
    public int TokenBudget { get; init; } = PathMethod.DefaultTokenBudget;

    /// <inheritdoc />
    public override string Name => "gradient-shap";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.GradientShap;

    /// <inheritdoc />
    public override Signedness Signedness => Signedness.Signed;

    /// <inheritdoc />
    public override HiddenReduction Reduction => HiddenReduction.Sum;

    /// <summary>
    /// The draws for one text of <paramref name="tokens"/> tokens whose activation has <paramref name="width"/>
    /// numbers per token, from a generator seeded with <see cref="Seed"/>: what <see cref="Samples"/> draws of an
    /// explanation use.
    /// </summary>
    public IReadOnlyList<GradientShapDraw> Draw(int tokens, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ValidateSettings();
        using var generator = new Generator(Seed);
        return Enumerable.Range(0, Samples).Select(_ => Next(generator, tokens, width)).ToList();
    }

    private GradientShapDraw Next(Generator generator, int tokens, int width)
    {
        using var scope = NewDisposeScope();
        var index = (int)randint(0, Baselines.Count, [1], generator: generator).ItemAsInt64();
        var alpha = rand([1], dtype: ScalarType.Float64, generator: generator).ItemAsDouble();
        var noise = randn([tokens, width], dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
        return new GradientShapDraw(index, alpha, noise);
    }

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        ValidateSettings();
        foreach (var baseline in Baselines)
        {
            PathInputs.CheckBaseline(model, baseline, nameof(Baselines));
        }
    }

    private void ValidateSettings()
    {
        if (Samples < 1 || Samples > MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, $"Gradient SHAP needs between 1 and {MaxSamples} samples");
        }

        if (!(Stdev >= 0) || !double.IsFinite(Stdev))
        {
            throw new ArgumentOutOfRangeException(nameof(Stdev), Stdev, "the noise standard deviation must be finite and non-negative (0 for no noise)");
        }

        if (Baselines is null || Baselines.Count == 0)
        {
            throw new ArgumentException("Gradient SHAP needs at least one baseline to draw from (e.g. [Baseline.Pad, Baseline.Zero])", nameof(Baselines));
        }

        // A list with a null among its baselines was refused as if it had none, which sent the caller looking for an empty list.
        for (var i = 0; i < Baselines.Count; i++)
        {
            if (Baselines[i] is null)
            {
                throw new ArgumentException(
                    $"Baselines[{i}] is null (of {Baselines.Count} baselines): give a baseline at every place (e.g. Baseline.Pad, Baseline.Zero), or leave the null out",
                    nameof(Baselines));
            }
        }

        if (InternalBatchSize < 1 || InternalBatchSize > PathMethod.MaxInternalBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(InternalBatchSize), InternalBatchSize, $"the internal batch size must be between 1 and {PathMethod.MaxInternalBatchSize}");
        }

        Models.TokenBudgetBatches.Validate(TokenBudget, nameof(TokenBudget));
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        LayerSettings().Concat(
        [
            new("samples", Samples.ToString(CultureInfo.InvariantCulture)),
            new("stdev", Format(Stdev)),
            new("seed", Seed.ToString(CultureInfo.InvariantCulture)),
            new("baselines", string.Join(",", (Baselines ?? []).Select(b => b?.Name))),
            new("internal-batch-size", InternalBatchSize.ToString(CultureInfo.InvariantCulture)),
            new("token-budget", TokenBudget.ToString(CultureInfo.InvariantCulture)),
        ]);

    /// <inheritdoc />
    internal override void CheckTokenized(TokenizedTexts texts)
    {
        foreach (var baseline in Baselines)
        {
            PathInputs.CheckBaselineLength(baseline, texts, nameof(Baselines));
        }
    }

    /// <inheritdoc />
    internal override FirstPass? SharedFirstPass(ITextClassifier model) => new FirstPass.PathStart(SiteIn(model));

    /// <inheritdoc />
    /// <remarks>Each row draws from a generator of its own seeded alike, so a text's rows for several classes draw the same points.</remarks>
    internal override bool SharesPathsAcrossClasses => true;

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        var layer = context.Layer(Layer);
        var paths = Baselines.Select(b => PathInputs.Compute(context, layer, Side, TensorIndex, b, setting: nameof(Baselines))).ToArray();
        var input = paths[0].Input;
        var batch = context.Size;
        var length = (int)input.size(1);
        var width = (int)(input.numel() / (batch * (long)length));
        var generators = Enumerable.Range(0, batch).Select(_ => new Generator(Seed)).ToArray();
        try
        {
            var total = zeros_like(input);
            var expectedChange = new double[batch];
            var perPass = PathPass.PointsPerPass(context.PassRows, length, InternalBatchSize, TokenBudget);
            for (var first = 0; first < Samples; first += perPass)
            {
                var count = Math.Min(perPass, Samples - first);
                context.Options.Cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var points = new List<Tensor>(count);
                var differences = new List<Tensor>(count);
                for (var s = 0; s < count; s++)
                {
                    var (point, difference) = DrawBatch(context, paths, generators, length, width, expectedChange);
                    points.Add(point);
                    differences.Add(difference);
                }

                var gradients = Gradients(context, layer, cat(points), count);
                using (no_grad())
                {
                    // sum(dim: 0), not sum(0): a literal 0 binds to TorchSharp's sum(ScalarType?) overload (a dtype);
                    // KeptScalars' arithmetic keeps number operands alive for concurrent callers.
                    total.PlusInPlace((gradients * cat(differences)).view([count, .. input.shape]).sum(dim: 0L));
                }
            }

            Tensor attributions;
            using (no_grad())
            {
                attributions = total.DividedBy(Samples);
            }

            using var sums = attributions.to(ScalarType.Float64).flatten(1).sum(1);
            var deltas = sums.data<double>().ToArray().Select((sum, b) => sum - (expectedChange[b] / Samples)).ToArray();
            return new MethodOutput(attributions, PerDimension: true, deltas);
        }
        finally
        {
            foreach (var generator in generators)
            {
                generator.Dispose();
            }
        }
    }

    /// <summary>One draw for every text of the batch: the path point and x + ε − b, each [batch, …].</summary>
    private (Tensor Point, Tensor Difference) DrawBatch(AttributionContext context, PathInputs[] paths, Generator[] generators, int length,
        int width, double[] expectedChange)
    {
        var input = paths[0].Input;
        var noise = new double[input.numel()];
        var alphas = new double[context.Size];
        var baselineRows = new List<Tensor>(context.Size);
        for (var b = 0; b < context.Size; b++)
        {
            var tokens = context.Batch.Lengths[b];
            var draw = Next(generators[b], tokens, width);
            alphas[b] = draw.Alpha;
            Array.Copy(draw.Noise, 0, noise, (long)b * length * width, draw.Noise.Length);
            var path = paths[draw.BaselineIndex];
            baselineRows.Add(path.Baseline.narrow(0, b, 1));
            expectedChange[b] += path.InputScores[b] - path.BaselineScores[b];
        }

        using var noGrad = no_grad();
        var baseline = cat(baselineRows);
        var noisy = input.Plus(tensor(noise, input.shape, ScalarType.Float64).Times(Stdev).to(input.dtype));
        var difference = noisy - baseline;
        var alpha = tensor(alphas, ScalarType.Float64).to(input.dtype).view([context.Size, .. Enumerable.Repeat(1L, (int)input.dim() - 1)]);
        return (baseline.Plus(alpha * difference), difference);
    }

    /// <summary>Gradients of the scored output at the stacked points ([draws·batch, …], draw-major).</summary>
    private Tensor Gradients(AttributionContext context, nn.Module layer, Tensor points, int draws) =>
        PathPass.Run(context, new LayerSite(layer, Side, TensorIndex), draws, _ => points).Gradient;
}

/// <summary>One draw of <see cref="GradientShap"/> for one text.</summary>
/// <param name="BaselineIndex">Index into <see cref="GradientShap.Baselines"/>.</param>
/// <param name="Alpha">Position on the line from the baseline (0) to the noisy input (1).</param>
/// <param name="Noise">Standard normal numbers, [tokens × width] row-major; the noise is these times the stdev.</param>
public sealed record GradientShapDraw(int BaselineIndex, double Alpha, double[] Noise);
