using System.Globalization;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Training;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter 2019), step for step as PyTorch 1.13's
/// <c>torch.optim.AdamW</c> (amsgrad off): for each parameter θ with gradient g at its step t,
/// θ ← θ·(1 − lr·λ); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// Parameters without a gradient are skipped (their step count does not advance). The updates are in-place tensor
/// operations under <see cref="torch.no_grad"/>; the moment estimates live until <see cref="Dispose"/>.
/// One difference in what it accepts: lr·λ ≥ 1, which PyTorch runs (every weight zeroed or its sign flipped at each
/// step), is refused.
/// </summary>
public sealed class AdamW : IDisposable
{
    // α = 1 of the in-place addition of ε, held for the process (see KeptScalars).
    private static readonly Scalar One = 1.ToScalar();

    private readonly Tensor[] parameters;
    private readonly Tensor?[] expAvg;
    private readonly Tensor?[] expAvgSq;
    private readonly long[] steps;
    private double learningRate;
    private bool disposed;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> (the module's own tensors, not copies).</summary>
    /// <param name="parameters">The tensors to update (each once).</param>
    /// <param name="lr">Learning rate (positive).</param>
    /// <param name="beta1">Decay of the first-moment estimate, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment estimate, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability (positive; PyTorch also takes 0, which makes NaN weights).</param>
    /// <param name="weightDecay">Decoupled weight decay λ (non-negative, and lr · λ below 1; PyTorch's default is 0.01, and
    /// PyTorch also runs lr · λ ≥ 1, which zeroes or flips every weight at each step).</param>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        this.parameters = parameters.ToArray();
        if (this.parameters.Any(p => p is null))
        {
            throw new ArgumentException("a parameter is null", nameof(parameters));
        }

        if (this.parameters.Distinct(ReferenceEqualityComparer.Instance).Count() != this.parameters.Length)
        {
            throw new ArgumentException("a parameter appears more than once", nameof(parameters));
        }

        CheckHyperparameters(lr, beta1, beta2, eps, weightDecay);

        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = eps;
        WeightDecay = weightDecay;
        expAvg = new Tensor?[this.parameters.Length];
        expAvgSq = new Tensor?[this.parameters.Length];
        steps = new long[this.parameters.Length];
    }

    /// <summary>
    /// Refuses hyperparameters out of their ranges, each named by its name here or, for a caller that takes them as
    /// options (<see cref="TrainingOptions"/>), by the option's.
    /// </summary>
    internal static void CheckHyperparameters(double lr, double beta1, double beta2, double eps, double weightDecay,
        string lrName = "lr", string beta1Name = "beta1", string beta2Name = "beta2", string epsName = "eps", string weightDecayName = "weightDecay")
    {
        if (!(lr > 0) || double.IsInfinity(lr))
        {
            throw new ArgumentOutOfRangeException(lrName, lr, "the learning rate must be positive and finite");
        }

        if (!(beta1 >= 0 && beta1 < 1))
        {
            throw new ArgumentOutOfRangeException(beta1Name, beta1, "beta1 must be in [0, 1)");
        }

        if (!(beta2 >= 0 && beta2 < 1))
        {
            throw new ArgumentOutOfRangeException(beta2Name, beta2, "beta2 must be in [0, 1)");
        }

        // PyTorch takes 0, but then an element whose gradient has been 0 at every step so far (the padding row of an
        // embedding, a word no batch has held yet) has m = v = 0 and its update is 0/0 = NaN.
        if (!(eps > 0) || double.IsInfinity(eps))
        {
            throw new ArgumentOutOfRangeException(epsName, eps,
                "eps must be positive and finite: with 0, an element whose gradient has been 0 so far is updated by 0/0 = NaN (PyTorch's default is 1e-8)");
        }

        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
        {
            throw new ArgumentOutOfRangeException(weightDecayName, weightDecay, "weight decay must be non-negative and finite");
        }

        CheckDecayFactor(lr, weightDecay, lrName, weightDecayName, weightDecayName);
    }

    /// <summary>
    /// Refuses lr · λ ≥ 1. The decoupled decay multiplies every weight by 1 − lr · λ at every step: at 1 that erases
    /// every weight, above 1 it flips every sign (and above 2 the weights grow in size at every step). PyTorch's
    /// <c>torch.optim.AdamW</c> checks lr ≥ 0 and λ ≥ 0 only and runs such a setting; no training wants it, so it is
    /// refused here, naming both settings and their product.
    /// </summary>
    /// <param name="lr">The learning rate.</param>
    /// <param name="weightDecay">λ.</param>
    /// <param name="lrName">The learning rate's name, for the message.</param>
    /// <param name="weightDecayName">λ's name, for the message.</param>
    /// <param name="parameterName">The argument the exception names (the one being set).</param>
    private static void CheckDecayFactor(double lr, double weightDecay, string lrName, string weightDecayName, string parameterName)
    {
        var product = lr * weightDecay;
        if (product >= 1)
        {
            var value = parameterName == weightDecayName ? weightDecay : lr;
            throw new ArgumentOutOfRangeException(parameterName, value,
                $"{lrName} · {weightDecayName} = {lr.ToString("R", CultureInfo.InvariantCulture)} · {weightDecay.ToString("R", CultureInfo.InvariantCulture)} = " +
                $"{product.ToString("R", CultureInfo.InvariantCulture)}, but the decoupled weight decay multiplies every weight by 1 − {lrName} · {weightDecayName} " +
                $"at every step, which must stay positive (at 1 every weight becomes 0, above 1 every sign flips): lower {weightDecayName} below " +
                $"1 / {lrName} = {(1 / lr).ToString("R", CultureInfo.InvariantCulture)} (PyTorch's default is 0.01), or lower {lrName}");
        }
    }

    /// <summary>The learning rate (may be changed between steps, e.g. by a schedule): positive and finite, and below 1 / λ.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to zero, a negative number, NaN or infinity, or to a rate whose
    /// product with <see cref="WeightDecay"/> is 1 or more (the decay would zero or flip every weight).</exception>
    public double LearningRate
    {
        get => learningRate;
        set
        {
            // Checked here as in the constructor: NaN or infinity would turn every weight into NaN at the next step,
            // and a negative rate would climb the loss, both without any error.
            if (!(value > 0) || double.IsInfinity(value))
            {
                throw new ArgumentOutOfRangeException(nameof(LearningRate), value,
                    "the learning rate must be positive and finite (a schedule that reaches 0 should stop stepping instead)");
            }

            // A schedule that raises the rate must not reach lr · λ ≥ 1 either (see CheckDecayFactor).
            CheckDecayFactor(value, WeightDecay, nameof(LearningRate), nameof(WeightDecay), nameof(LearningRate));
            learningRate = value;
        }
    }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>λ, the decoupled weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>How many times <see cref="step"/> has been called.</summary>
    public long StepCount { get; private set; }

    /// <summary>Updates every parameter that has a gradient, in place.</summary>
    public void step()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        StepCount++;
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (p.grad is not { } grad)
            {
                continue;
            }

            var t = ++steps[i];
            if (expAvg[i] is null)
            {
                expAvg[i] = zeros_like(p).DetachFromDisposeScope();
                expAvgSq[i] = zeros_like(p).DetachFromDisposeScope();
            }

            var m = expAvg[i]!;
            var v = expAvgSq[i]!;
            // Every number is a Scalar held until libtorch has used it: a temporary one can be freed by a garbage
            // collection on another thread while the operation reads it (see KeptScalars).
            if (WeightDecay != 0)
            {
                using var decay = (1 - (LearningRate * WeightDecay)).ToScalar();
                p.mul_(decay);
            }

            var biasCorrection1 = 1 - Math.Pow(Beta1, t);
            var biasCorrection2 = 1 - Math.Pow(Beta2, t);
            using var beta1 = Beta1.ToScalar();
            using var oneMinusBeta1 = (1 - Beta1).ToScalar();
            using var beta2 = Beta2.ToScalar();
            using var oneMinusBeta2 = (1 - Beta2).ToScalar();
            using var correction2 = Math.Sqrt(biasCorrection2).ToScalar();
            using var epsilon = Epsilon.ToScalar();
            using var step = (-(LearningRate / biasCorrection1)).ToScalar();
            m.mul_(beta1).add_(grad, oneMinusBeta1);
            v.mul_(beta2).addcmul_(grad, grad, oneMinusBeta2);
            var denominator = v.sqrt().div_(correction2).add_(epsilon, One);
            p.addcdiv_(m, denominator, step);
        }
    }

    /// <summary>Clears the gradient of every parameter.</summary>
    public void zero_grad()
    {
        foreach (var p in parameters)
        {
            p.grad = null;
        }
    }

    /// <summary>Frees the moment estimates (the parameters stay their module's).</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        foreach (var t in expAvg.Concat(expAvgSq))
        {
            t?.Dispose();
        }
    }
}
