using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// One batch of texts being explained: the encoded input, the model's logits on it, the resolved targets, and the
/// helpers every method shares (scoring the target, repeating rows for path integrals, finding layers). Created
/// inside the caller's dispose scope; everything it makes is freed with that scope.
/// </summary>
internal sealed class AttributionContext
{
    public AttributionContext(ITextClassifier model, EncodedBatch batch, ExplainOptions options)
    {
        Model = model;
        Batch = batch;
        Options = options;
        using (no_grad())
        {
            Logits = model.Module.call(batch.Input).to(ScalarType.Float32);
        }

        LogitRows = Rows(Logits.to(ScalarType.Float64));
        NonFiniteValueException.CheckLogits(model.Name, LogitRows, batch.Texts);
        using (no_grad())
        {
            ProbabilityRows = Rows(Logits.to(ScalarType.Float64).softmax(-1));
        }

        Targets = new long[batch.Texts.Count];
        for (var i = 0; i < Targets.Length; i++)
        {
            var predicted = Array.IndexOf(LogitRows[i], LogitRows[i].Max());
            Targets[i] = options.Target.Resolve(model.Labels, predicted);
        }

        TargetTensor = tensor(Targets);
    }

    private readonly Dictionary<object, object> shared = [];

    public ITextClassifier Model { get; }

    /// <summary>Time spent encoding and running the first forward pass, shared by every method on this batch.</summary>
    public TimeSpan SharedTime { get; set; }

    /// <summary>A result several methods can reuse on this batch (e.g. one gradient pass for Gradient and Gradient × Input).</summary>
    public T Shared<T>(object key, Func<T> compute)
        where T : class
    {
        if (shared.TryGetValue(key, out var value))
        {
            return (T)value;
        }

        var result = compute();
        shared[key] = result;
        return result;
    }

    public EncodedBatch Batch { get; }

    public ExplainOptions Options { get; }

    public int Size => Batch.Texts.Count;

    /// <summary>Padded sequence length of the batch.</summary>
    public long Length => Batch.Input.InputIds.size(1);

    public Tensor Logits { get; }

    public double[][] LogitRows { get; }

    public double[][] ProbabilityRows { get; }

    public long[] Targets { get; }

    public Tensor TargetTensor { get; }

    /// <summary>
    /// The scored output of the target class for each row of <paramref name="logits"/>, whose rows are
    /// <paramref name="repeats"/> copies of the batch (alpha-major, as Captum expands inputs).
    /// </summary>
    public Tensor Score(Tensor logits, int repeats = 1)
    {
        var output = Options.Score switch
        {
            ScoreOutput.Logit => logits,
            ScoreOutput.Probability => logits.softmax(-1),
            ScoreOutput.LogProbability => logits.log_softmax(-1),
            _ => throw new ArgumentOutOfRangeException(nameof(Options.Score)),
        };
        var targets = repeats == 1 ? TargetTensor : TargetTensor.repeat(repeats);
        return output.gather(1, targets.unsqueeze(1)).squeeze(1);
    }

    /// <summary>The scored output per text, as numbers (for convergence deltas).</summary>
    public double[] ScoreValues(Tensor logits)
    {
        using (no_grad())
        {
            return Score(logits).to(ScalarType.Float64).data<double>().ToArray();
        }
    }

    /// <summary>The batch input with every row repeated <paramref name="repeats"/> times (all rows, then all rows again, …).</summary>
    public ModelInput Repeat(int repeats) => Repeat(Batch.Input, repeats);

    public static ModelInput Repeat(ModelInput input, int repeats) => repeats == 1
        ? input
        : new ModelInput(
            input.InputIds.repeat(repeats, 1),
            input.AttentionMask?.repeat(repeats, 1),
            input.TokenTypeIds?.repeat(repeats, 1));

    /// <summary>The same input with other token ids.</summary>
    public ModelInput WithIds(Tensor ids) => Batch.Input with { InputIds = ids };

    /// <summary>The module at a dotted path of the model (the word-embedding layer when null).</summary>
    public nn.Module Layer(string? path) => LayerPaths.Resolve(Model, path, "Layer");

    /// <summary>1 for real tokens, 0 for padding: [batch, length] float.</summary>
    public Tensor TokenMask => (Batch.Input.AttentionMask ?? ones_like(Batch.Input.InputIds)).to(ScalarType.Float32);

    private static double[][] Rows(Tensor matrix)
    {
        var values = matrix.data<double>().ToArray();
        var columns = (int)matrix.size(1);
        return Enumerable.Range(0, (int)matrix.size(0)).Select(r => values.AsSpan(r * columns, columns).ToArray()).ToArray();
    }
}

/// <summary>What a method computed for a batch.</summary>
/// <param name="Attributions">[batch, length, …] per-dimension attributions, or [batch, length] per-token scores.</param>
/// <param name="PerDimension">Whether <paramref name="Attributions"/> still has dimensions to reduce per token.</param>
/// <param name="Deltas">Convergence delta per text, where the method defines one.</param>
internal sealed record MethodOutput(Tensor Attributions, bool PerDimension, double[]? Deltas = null);
