using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>How <see cref="NoiseTunnel"/> combines the attributions of the noisy samples.</summary>
public enum NoiseTunnelType
{
    /// <summary>Mean of the attributions (SmoothGrad).</summary>
    SmoothGrad,

    /// <summary>Mean of the squared attributions.</summary>
    SmoothGradSquared,

    /// <summary>Variance of the attributions over the samples, divided by their number as Captum's (VarGrad); never negative.</summary>
    VarGrad,
}

/// <summary>
/// SmoothGrad / NoiseTunnel around <see cref="Gradient"/>, <see cref="GradientXInput"/> or
/// <see cref="IntegratedGradients"/>: the inner method runs <see cref="Samples"/> times with Gaussian noise added to
/// the activation it attributes to (the word embeddings by default; Captum adds noise to the token ids, which breaks,
/// #1281), and the per-dimension attributions are combined (mean, mean of squares, or variance) before the inner
/// method's per-token reduction. Seeded: the same seed gives the same result, and a text's result does not depend on
/// the batch it is in (each text draws its noise, for its real tokens, from a generator of its own).
/// </summary>
public sealed class NoiseTunnel : TextAttributor
{
    private readonly INoiseTunnelable inner;
    private readonly TextAttributor innerMethod;

    /// <summary>
    /// Wraps a gradient method: a <see cref="TextAttributor"/> that implements <see cref="INoiseTunnelable"/> (the
    /// built-in Gradient, Gradient × Input and Integrated Gradients, or a method of your own).
    /// </summary>
    /// <param name="inner">The method to run on noisy copies of its input activation.</param>
    /// <exception cref="ArgumentException"><paramref name="inner"/> is not a <see cref="TextAttributor"/> that implements <see cref="INoiseTunnelable"/>.</exception>
    public NoiseTunnel(IAttributor inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (inner is not (INoiseTunnelable tunnelable and TextAttributor method))
        {
            throw new ArgumentException(
                $"{inner.Name} cannot be wrapped in a noise tunnel: it must derive from TextAttributor and implement INoiseTunnelable (built in: gradient, gradient-x-input, integrated-gradients)",
                nameof(inner));
        }

        this.inner = tunnelable;
        innerMethod = method;
        Inner = inner;
    }

    /// <summary>The wrapped method.</summary>
    public IAttributor Inner { get; }

    /// <summary>How samples are combined (default SmoothGrad).</summary>
    public NoiseTunnelType Type { get; init; } = NoiseTunnelType.SmoothGrad;

    /// <summary>Noisy samples per text (default 10; 1 to <see cref="MaxSamples"/>, others are refused when the method runs).</summary>
    public int Samples { get; init; } = 10;

    /// <summary>The most noisy samples per text (10,000): each costs one run of the inner method.</summary>
    public const int MaxSamples = 10_000;

    /// <summary>
    /// Absolute standard deviation of the noise. When null (default), it is <see cref="NoiseLevel"/> × (max − min) of
    /// each text's activation at the layer over its real tokens, as the SmoothGrad paper sets it per input. Must be finite
    /// and non-negative (refused when the method runs).
    /// </summary>
    public double? Stdev { get; init; }

    /// <summary>Noise level relative to the activation's range when <see cref="Stdev"/> is null (default 0.15; finite and non-negative).</summary>
    public double NoiseLevel { get; init; } = 0.15;

    /// <summary>Seed of the noise (default 0).</summary>
    public ulong Seed { get; init; }

    /// <inheritdoc />
    public override string Name => "smoothgrad";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.NoiseTunnel;

    /// <inheritdoc />
    public override Signedness Signedness => Type == NoiseTunnelType.SmoothGrad ? innerMethod.Signedness : Signedness.Unsigned;

    /// <inheritdoc />
    public override HiddenReduction Reduction => innerMethod.Reduction;

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        EnumSettings.Check(Type, nameof(Type));
        if (Samples < 1 || Samples > MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, $"a noise tunnel needs between 1 and {MaxSamples} samples");
        }

        if (Stdev is { } s && (s < 0 || !double.IsFinite(s)))
        {
            throw new ArgumentOutOfRangeException(nameof(Stdev), s, "noise standard deviation must be finite and non-negative");
        }

        if (NoiseLevel < 0 || !double.IsFinite(NoiseLevel))
        {
            throw new ArgumentOutOfRangeException(nameof(NoiseLevel), NoiseLevel, "noise level must be finite and non-negative");
        }

        innerMethod.ValidateFor(model);
    }

    /// <inheritdoc />
    internal override void CheckTokenized(TokenizedTexts texts) => innerMethod.CheckTokenized(texts);

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings()
    {
        yield return new("inner", Inner.Name);
        foreach (var setting in Inner.Settings)
        {
            yield return new("inner." + setting.Key, setting.Value);
        }

        yield return new("type", Type switch
        {
            NoiseTunnelType.SmoothGrad => "smoothgrad",
            NoiseTunnelType.SmoothGradSquared => "smoothgrad_sq",
            _ => "vargrad",
        });
        yield return new("samples", Samples.ToString(CultureInfo.InvariantCulture));
        yield return new("stdev", Stdev is { } s ? Format(s) : $"{Format(NoiseLevel)} x range");
        yield return new("seed", Seed.ToString(CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    /// <remarks>
    /// The built-in methods' noisy passes all go through the path pass, which draws each text's noise once for every
    /// class, as a call per class (seeded alike) draws it; a user's method keeps a batch per class.
    /// </remarks>
    internal override bool SharesPathsAcrossClasses => inner is Gradient or GradientXInput or IntegratedGradients;

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        // A generator per text, seeded alike, so a text draws the same noise alone, in any batch and for any class.
        var generators = Enumerable.Range(0, context.Size).Select(_ => new Generator(Seed)).ToArray();
        try
        {
            return Combine(context, generators);
        }
        finally
        {
            foreach (var generator in generators)
            {
                generator.Dispose();
            }
        }
    }

    private MethodOutput Combine(AttributionContext context, Generator[] generators)
    {
        Tensor? sum = null;

        // Each row's noise scale depends only on the clean activation, the same for every sample: measured once.
        double[]? sigmas = null;
        Tensor? sumOfSquares = null;

        // VarGrad: Welford's running mean and sum of squared deviations, whose increments are never negative, instead
        // of E[a²] − E[a]², which cancels where the variance is small next to the mean (float32 leaves rounding
        // noise there, often negative).
        Tensor? runningMean = null;
        Tensor? squaredDeviations = null;
        Tensor Perturb(Tensor activation)
        {
            using var noise = Noise(context, generators, activation);
            if (Stdev is { } stdev)
            {
                using var scaledNoise = noise.Times(stdev);
                return activation.Plus(scaledNoise);
            }

            sigmas ??= RelativeStdevs(context, activation);
            using var sigma = tensor(sigmas, ScalarType.Float64).to(activation.dtype).view([sigmas.Length, .. Enumerable.Repeat(1L, (int)activation.dim() - 1)]);
            using var scaled = noise * sigma;
            return activation.Plus(scaled);
        }

        // Adaptive integration refines each noisy copy on its own: what each copy used is gathered per text.
        var adaptive = inner is IntegratedGradients { Steps: null } integratedGradients ? integratedGradients : null;
        var copies = adaptive is null ? null : new AdaptiveCopies(context.Size, Samples);
        for (var s = 0; s < Samples; s++)
        {
            context.Options.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            Tensor attributions;
            if (adaptive is not null)
            {
                var output = adaptive.AttributeAdaptivelyWithNoise(context, Perturb);
                copies!.Add(s, output);
                attributions = output.Attributions;
            }
            else
            {
                attributions = inner.AttributeWithNoise(context, Perturb);
            }

            using var _ = no_grad();
            if (sum is null)
            {
                sum = attributions.clone().MoveToOuterDisposeScope();
                sumOfSquares = attributions.Squared().MoveToOuterDisposeScope();
            }
            else
            {
                sum.PlusInPlace(attributions);
                sumOfSquares!.PlusInPlace(attributions.Squared());
            }

            if (Type == NoiseTunnelType.VarGrad)
            {
                if (runningMean is null)
                {
                    runningMean = attributions.clone().MoveToOuterDisposeScope();
                    squaredDeviations = zeros_like(attributions).MoveToOuterDisposeScope();
                }
                else
                {
                    var before = attributions - runningMean;
                    runningMean.PlusInPlace(before.DividedBy(s + 1));
                    squaredDeviations!.PlusInPlace(before * (attributions - runningMean));
                }
            }
        }

        Tensor result;
        using (no_grad())
        {
            var mean = sum!.DividedBy(Samples);
            var meanOfSquares = sumOfSquares!.DividedBy(Samples);
            result = Type switch
            {
                NoiseTunnelType.SmoothGrad => mean,
                NoiseTunnelType.SmoothGradSquared => meanOfSquares,
                _ => squaredDeviations!.DividedBy(Samples),
            };
        }

        if (copies is not null)
        {
            return new MethodOutput(result, PerDimension: true) { RowSettings = copies.RowSettings(), Notes = copies.Notes(adaptive!.Adaptive.MaxSteps) };
        }

        return new MethodOutput(result, PerDimension: true);
    }

    /// <summary>
    /// Which row of the batch each row of <paramref name="activation"/> is: the batch's rows (possibly repeated), or,
    /// in a pass shared across classes, one row per distinct text.
    /// </summary>
    private static int[] BatchRows(AttributionContext context, Tensor activation)
    {
        var rows = (int)activation.size(0);
        return context.SharedTexts is { } sharing && rows == sharing.Representatives.Length
            ? sharing.Representatives
            : rows % context.Size == 0
                ? Enumerable.Range(0, rows).Select(r => r % context.Size).ToArray()
                : throw new InvalidOperationException($"a noise tunnel perturbed an activation of {rows} rows in a batch of {context.Size} texts");
    }

    /// <summary>The tensor of a row's real tokens (the whole row where the activation has no token axis).</summary>
    private static Tensor RealPart(AttributionContext context, Tensor activation, Tensor row, int batchRow) =>
        activation.dim() >= 2 && activation.size(1) == context.Length ? row.narrow(0, 0, context.Batch.Lengths[batchRow]) : row.alias();

    /// <summary>
    /// Standard normal noise of the activation's shape: each row's real tokens drawn from its text's generator
    /// ([tokens, …]), the padding left at 0.
    /// </summary>
    private static Tensor Noise(AttributionContext context, Generator[] generators, Tensor activation)
    {
        using var noGrad = no_grad();
        var batchRows = BatchRows(context, activation);
        var noise = zeros_like(activation);
        for (var r = 0; r < batchRows.Length; r++)
        {
            using var row = noise.select(0, r);
            using var real = RealPart(context, activation, row, batchRows[r]);
            using var draw = randn(real.shape, activation.dtype, generator: generators[batchRows[r]]);
            real.copy_(draw);
        }

        return noise;
    }

    /// <summary>
    /// <see cref="NoiseLevel"/> × (max − min) of each row's activation over its text's real tokens: the SmoothGrad
    /// paper scales the noise to each input's own range, so a text's noise does not grow with another text of its
    /// batch or with the padding.
    /// </summary>
    private double[] RelativeStdevs(AttributionContext context, Tensor activation)
    {
        using var noGrad = no_grad();
        var batchRows = BatchRows(context, activation);
        var rows = batchRows.Length;
        var sigmas = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            using var row = activation.select(0, r);
            using var real = RealPart(context, activation, row, batchRows[r]);
            sigmas[r] = NoiseLevel * (real.max().ItemAsDouble() - real.min().ItemAsDouble());
        }

        return sigmas;
    }

    /// <summary>Per text, the steps, gradient evaluations and cap notes of each noisy copy's adaptive integration.</summary>
    private sealed class AdaptiveCopies(int texts, int samples)
    {
        private readonly int[][] steps = Enumerable.Range(0, texts).Select(_ => new int[samples]).ToArray();
        private readonly long[] evaluations = new long[texts];
        private readonly List<string>[] capNotes = Enumerable.Range(0, texts).Select(_ => new List<string>()).ToArray();

        public void Add(int sample, MethodOutput output)
        {
            for (var row = 0; row < texts; row++)
            {
                var settings = output.RowSettings![row];
                steps[row][sample] = int.Parse(settings.Single(kv => kv.Key == "steps-used").Value, CultureInfo.InvariantCulture);
                evaluations[row] += long.Parse(settings.Single(kv => kv.Key == "gradient-evaluations").Value, CultureInfo.InvariantCulture);
                capNotes[row].AddRange(output.Notes![row]);
            }
        }

        /// <summary>inner.steps-used: the most any copy needed; inner.steps-used-per-copy: each copy's, in draw order; inner.gradient-evaluations: all copies'.</summary>
        public IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> RowSettings() => Enumerable.Range(0, texts)
            .Select(row => (IReadOnlyList<KeyValuePair<string, string>>)
            [
                new("inner.steps-used", steps[row].Max().ToString(CultureInfo.InvariantCulture)),
                new("inner.steps-used-per-copy", string.Join(' ', steps[row].Select(n => n.ToString(CultureInfo.InvariantCulture)))),
                new("inner.gradient-evaluations", evaluations[row].ToString(CultureInfo.InvariantCulture)),
            ]).ToArray();

        public IReadOnlyList<IReadOnlyList<string>> Notes(int cap) => capNotes
            .Select(notes => (IReadOnlyList<string>)(notes.Count == 0 ? [] :
                [string.Create(CultureInfo.InvariantCulture, $"{notes.Count} of {samples} noisy copies reached the step cap ({cap}) before the tolerance; the first: {notes[0]}")]))
            .ToArray();
    }
}
