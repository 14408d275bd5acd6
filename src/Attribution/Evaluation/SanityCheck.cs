using Attribution.Pipeline;
using System.Globalization;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Evaluation;

/// <summary>How the modules of a sanity check are randomized.</summary>
public enum RandomizationMode
{
    /// <summary>From the output to the input, each step keeping the randomization of the steps before (Adebayo et al.'s cascading randomization).</summary>
    Cascading,

    /// <summary>One module at a time, every other module keeping its trained weights.</summary>
    Independent,
}

/// <summary>Which attributions a sanity check compares.</summary>
public enum SanityVariant
{
    /// <summary>The method as given (for Integrated Gradients: multiplied by x − x′, Captum's default).</summary>
    Global,

    /// <summary>
    /// Integrated Gradients without the (x − x′) factor (<see cref="IntegratedGradients.MultiplyByInputs"/> false), each
    /// token's path-averaged gradient reduced to its L2 norm (a signed sum is rounding noise ahead of a LayerNorm).
    /// </summary>
    Local,
}

/// <summary>Settings of <see cref="SanityCheck.Run"/>.</summary>
public sealed record SanityOptions
{
    /// <summary>Cascading (default) or independent randomization.</summary>
    public RandomizationMode Mode { get; init; } = RandomizationMode.Cascading;

    /// <summary>Seed of the re-initialization; step k draws from a generator seeded with <c>Seed + k</c>, so a module gets the same weights in both modes.</summary>
    public ulong Seed { get; init; }

    /// <summary>The modules to randomize, in order, by dotted path; null for <see cref="SanityCheck.DefaultOrder"/>.</summary>
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>The variants to compare; null for both when the method is <see cref="IntegratedGradients"/>, otherwise <see cref="SanityVariant.Global"/>.</summary>
    public IReadOnlyList<SanityVariant>? Variants { get; init; }

    /// <summary>
    /// Cascading mode only: a folder that receives the model after each step as a Hugging Face folder <c>NN-&lt;layer path&gt;</c>;
    /// null for none. Each step's files are staged beside its folder and moved in once all are written, so a failed write leaves no half folder.
    /// </summary>
    public string? SaveRandomizedDirectory { get; init; }

    /// <summary>Explanation options (score, post-processing). The target of every randomized explanation is the class the original explanation of that text was for.</summary>
    public ExplainOptions? Explain { get; init; }
}

/// <summary>The similarity of one text's explanation on a randomized model to its explanation on the original model.</summary>
/// <param name="Text">The text.</param>
/// <param name="Cosine">Cosine similarity of the token scores (NaN when either is all zero).</param>
/// <param name="Spearman">Spearman's ρ of the token scores (NaN when either is constant).</param>
/// <param name="SpearmanAbsolute">
/// Spearman's ρ of the scores' absolute values (NaN when either is constant): Adebayo et al. report both, since a method
/// whose scores flip sign under randomization while keeping their magnitudes has ρ near −1 but the same importance ranking.
/// </param>
public sealed record SanityTextResult(string Text, double Cosine, double Spearman, double SpearmanAbsolute);

/// <summary>One variant at one step.</summary>
/// <param name="Variant">The variant.</param>
/// <param name="Texts">Per text, in input order.</param>
/// <param name="CosineMedian">Median of the finite per-text cosines (NaN when none).</param>
/// <param name="SpearmanMedian">Median of the finite per-text Spearman's ρ (NaN when none).</param>
/// <param name="SpearmanAbsoluteMedian">Median of the finite per-text Spearman's ρ of absolute values (NaN when none).</param>
/// <param name="Original">The explanations on the original model.</param>
/// <param name="Randomized">The explanations on the randomized model.</param>
public sealed record SanityVariantResult(SanityVariant Variant, IReadOnlyList<SanityTextResult> Texts, double CosineMedian, double SpearmanMedian,
    double SpearmanAbsoluteMedian, IReadOnlyList<Explanation> Original, IReadOnlyList<Explanation> Randomized);

/// <summary>One randomization step.</summary>
/// <param name="Index">0-based step number.</param>
/// <param name="Layer">The dotted path of the module randomized at this step.</param>
/// <param name="Parameters">The parameters re-initialized at this step (full dotted names).</param>
/// <param name="Variants">The comparison per variant.</param>
/// <param name="SavedTo">The folder the randomized model was written to, or null.</param>
public sealed record SanityStep(int Index, string Layer, IReadOnlyList<string> Parameters, IReadOnlyList<SanityVariantResult> Variants, string? SavedTo);

/// <summary>The result of a sanity check.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Method">The method's name.</param>
/// <param name="Settings">The method's settings.</param>
/// <param name="Mode">Cascading or independent.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Steps">The steps, in order.</param>
public sealed record SanityResult(string Model, string Method, IReadOnlyList<KeyValuePair<string, string>> Settings, RandomizationMode Mode, ulong Seed,
    IReadOnlyList<SanityStep> Steps);

/// <summary>
/// Model-parameter randomization tests (Adebayo et al. 2018, "Sanity checks for saliency maps"; the text protocol of
/// Kokhlikyan et al.): the model's modules are re-initialized one after the other — from the output to the input
/// (cascading), or one at a time (independent) — and at every step the explanations of the randomized model are
/// compared with the original model's by cosine similarity and Spearman's ρ of the token scores, signed and absolute
/// (the seed paper's rank correlation "with and without absolute values"). An explanation
/// that stays similar while the weights it should depend on are destroyed is not explaining the model.
/// </summary>
/// <remarks>
/// The randomized model is a copy loaded again from the model's folder; the caller's model is only read.
/// Re-initialization: parameters with two or more dimensions ~ Xavier-uniform (bound √(6 / (fan_in + fan_out)),
/// fan = size × receptive field), the others ~ U(−0.1, 0.1); buffers are kept. Step k draws from a libtorch
/// generator seeded with <see cref="SanityOptions.Seed"/> + k, parameters in <c>named_parameters</c> order.
/// </remarks>
public static class SanityCheck
{
    /// <summary>Bound of the uniform re-initialization of one-dimensional parameters (biases, LayerNorm).</summary>
    public const double VectorBound = 0.1;

    /// <summary>
    /// The cascading order: the model's modules from the output to the input. Children are taken in reverse
    /// registration order, modules without parameters are skipped, and a module is opened when it contains a
    /// <c>ModuleList</c> (whose items are listed last to first). For BERT: <c>classifier</c>, <c>bert.pooler</c>,
    /// <c>bert.encoder.layer.{L−1…0}</c>, <c>bert.embeddings</c>; DistilBERT: <c>classifier</c>, <c>pre_classifier</c>,
    /// <c>distilbert.transformer.layer.{L−1…0}</c>, <c>distilbert.embeddings</c>; RoBERTa: <c>classifier</c>,
    /// <c>roberta.encoder.layer.{L−1…0}</c>, <c>roberta.embeddings</c>; the CNN: <c>classifier</c>, <c>convs.{n−1…0}</c>,
    /// <c>embeddings</c>; the LSTM and the MLP: <c>classifier</c>, <c>lstm</c> or <c>hidden</c>, <c>embeddings</c>.
    /// </summary>
    public static IReadOnlyList<string> DefaultOrder(ITextClassifier model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var lease = ModelLease.Enter(model);
        var order = new List<string>();
        Expand(model.Module, string.Empty, order);
        return order;
    }

    private static void Expand(nn.Module module, string prefix, List<string> order)
    {
        var children = module.named_children().ToList();
        children.Reverse();
        foreach (var (name, child) in children)
        {
            var path = prefix.Length == 0 ? name : prefix + "." + name;
            if (!child.parameters().Any())
            {
                continue;
            }

            if (IsModuleList(child) || ContainsModuleList(child))
            {
                Expand(child, path, order);
            }
            else
            {
                order.Add(path);
            }
        }
    }

    private static bool IsModuleList(nn.Module module)
    {
        var type = module.GetType();
        return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ModuleList<>);
    }

    private static bool ContainsModuleList(nn.Module module) => module.modules().Any(IsModuleList);

    /// <summary>
    /// Runs the sanity check of <paramref name="attributor"/> on <paramref name="model"/>, whose folder
    /// <paramref name="modelDirectory"/> is loaded again for the randomized copies.
    /// </summary>
    /// <param name="model">The trained model; only read.</param>
    /// <param name="modelDirectory">The folder <paramref name="model"/> was loaded from (its weights must equal the model's).</param>
    /// <param name="attributor">Any attributor; <see cref="SanityVariant.Local"/> needs <see cref="IntegratedGradients"/>.</param>
    /// <param name="texts">The texts to explain (non-empty).</param>
    /// <param name="options">Mode, seed, layers, variants; defaults when null.</param>
    /// <exception cref="ArgumentException">No text (<c>texts</c>); in <c>options</c>: an unknown layer path, no layer, a layer
    /// given twice, no variant or one given twice, a local variant for another method, or <see cref="SanityOptions.SaveRandomizedDirectory"/>
    /// in the independent mode; a null or empty folder, or one whose weights differ from the model's
    /// (<c>modelDirectory</c>); or the texts and explanation options are refused as by the method itself.</exception>
    public static SanityResult Run(TextClassifier model, string modelDirectory, IAttributor attributor, IReadOnlyList<string> texts, SanityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        // The model's weights are read and its module run for the whole check: one lease (ModelLease).
        using var lease = ModelLease.Enter(model);
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        ArgumentNullException.ThrowIfNull(attributor);
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            throw new ArgumentException("give at least one text", nameof(texts));
        }

        options ??= new SanityOptions();
        // An undefined mode ran as cascading, an undefined variant as global, without a word.
        Methods.Internal.EnumSettings.Check(options.Mode, "options.Mode", nameof(options));

        var variants = options.Variants ?? (attributor is IntegratedGradients ? [SanityVariant.Global, SanityVariant.Local] : [SanityVariant.Global]);
        if (variants.Count == 0 || variants.Distinct().Count() != variants.Count)
        {
            throw new ArgumentException("give each variant once, at least one", nameof(options));
        }

        foreach (var variant in variants)
        {
            Methods.Internal.EnumSettings.Check(variant, "options.Variants", nameof(options));
        }

        if (variants.Contains(SanityVariant.Local) && attributor is not IntegratedGradients)
        {
            throw new ArgumentException($"the local variant (no multiplication by x − x′) exists only for integrated-gradients, not {attributor.Name}", nameof(options));
        }

        var layers = options.Layers ?? DefaultOrder(model);
        if (layers.Count == 0)
        {
            throw new ArgumentException("no layer to randomize", nameof(options));
        }

        foreach (var layer in layers)
        {
            if (layer is null)
            {
                // It failed inside the path lookup naming "path", which is no parameter of this method.
                throw new ArgumentException("options.Layers holds null: give dotted module paths (SanityCheck.DefaultOrder lists them)", nameof(options));
            }

            model.Module.FindSubmodule(layer, nameof(options));
        }

        // A layer listed twice ran as two steps (the second redrawing the same module with the next seed): duplicate
        // steps reported as if two modules had been randomized.
        var firstPosition = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var k = 0; k < layers.Count; k++)
        {
            if (!firstPosition.TryAdd(layers[k], k))
            {
                throw new ArgumentException($"options.Layers holds '{layers[k]}' twice, at positions {firstPosition[layers[k]]} and {k} (0-based): "
                    + "give each module once", nameof(options));
            }
        }

        if (options.SaveRandomizedDirectory is not null && options.Mode != RandomizationMode.Cascading)
        {
            throw new ArgumentException("saving the randomized models is for the cascading mode", nameof(options));
        }

        var explain = options.Explain ?? new ExplainOptions();
        // The local maps are the path-averaged gradients' L2 norm per token: their signed sum is rounding noise ahead of
        // a LayerNorm (a transformer's word embeddings), whose input gradients sum to zero over the hidden dimension.
        var methods = variants.Select(v => (Variant: v, Method: v == SanityVariant.Local
            ? ((IntegratedGradients)attributor).WithMultiplyByInputs(false).WithReduce(HiddenReduction.L2)
            : attributor)).ToList();
        var originals = methods.Select(m => m.Method.Explain(model, texts, explain)).ToList();

        // The class each text is explained for, fixed by the original model's first variant.
        var targets = originals[0].Select(e => e.Target).ToArray();

        var steps = new List<SanityStep>();
        TextClassifier? copy = null;
        try
        {
            for (var k = 0; k < layers.Count; k++)
            {
                if (copy is null || options.Mode == RandomizationMode.Independent)
                {
                    copy?.Dispose();
                    copy = LoadCopy(model, modelDirectory);
                }

                var parameters = Randomize(copy.Module.FindSubmodule(layers[k], nameof(options)), layers[k], options.Seed + (ulong)k);
                string? saved = null;
                if (options.SaveRandomizedDirectory is { } root)
                {
                    saved = Path.Combine(root, $"{k.ToString("00", CultureInfo.InvariantCulture)}-{layers[k]}");
                    SaveFolder(copy, modelDirectory, saved);
                }

                var results = new List<SanityVariantResult>();
                for (var v = 0; v < methods.Count; v++)
                {
                    var randomized = ExplainFor(methods[v].Method, copy, texts, targets, explain);
                    results.Add(Compare(methods[v].Variant, originals[v], randomized));
                }

                steps.Add(new SanityStep(k, layers[k], parameters, results, saved));
            }
        }
        finally
        {
            copy?.Dispose();
        }

        return new SanityResult(model.Name, attributor.Name, attributor.Settings, options.Mode, options.Seed, steps);
    }

    /// <summary>
    /// Cosine similarity of two score vectors, computed without overflow or underflow for any finite scores; NaN when
    /// they are empty, either has norm zero, or either holds a NaN or infinite score.
    /// </summary>
    /// <exception cref="ArgumentException">The two have different lengths (as <see cref="MethodAgreement.Spearman"/> refuses them).</exception>
    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);

        // Vectors of different lengths are scores of different tokens: a NaN said nothing of the mismatch.
        if (a.Count != b.Count)
        {
            throw new ArgumentException($"the score vectors have {a.Count} and {b.Count} values: give one score per token in both", nameof(b));
        }

        if (a.Count == 0)
        {
            return double.NaN;
        }

        // Each vector divided by its largest magnitude first (cosine does not change with a positive scale): the squares
        // of scores around 1e200 overflowed to ∞ (∞ / ∞ = NaN), and those of scores around 1e-200 underflowed to 0 (a
        // nonzero vector read as a zero one). Scaled, every value is at most 1 in magnitude and the largest is 1.
        double scaleA = 0, scaleB = 0;
        for (var i = 0; i < a.Count; i++)
        {
            scaleA = Math.Max(scaleA, Math.Abs(a[i]));
            scaleB = Math.Max(scaleB, Math.Abs(b[i]));
        }

        if (scaleA == 0 || scaleB == 0 || !double.IsFinite(scaleA) || !double.IsFinite(scaleB))
        {
            // A zero vector has no direction; a NaN or infinite score gives no cosine either (Math.Max keeps a NaN).
            return double.NaN;
        }

        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Count; i++)
        {
            var x = a[i] / scaleA;
            var y = b[i] / scaleB;
            dot += x * y;
            na += x * x;
            nb += y * y;
        }

        return dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }

    /// <summary>
    /// Re-initializes every parameter of <paramref name="module"/> (Xavier-uniform for two or more dimensions,
    /// U(−0.1, 0.1) otherwise) from a generator seeded with <paramref name="seed"/>; returns the parameters' names,
    /// prefixed with <paramref name="path"/>.
    /// </summary>
    public static IReadOnlyList<string> Randomize(nn.Module module, string path, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        using var generator = new Generator(seed);
        using var noGrad = no_grad();
        var names = new List<string>();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (parameter.dim() >= 2)
            {
                long receptive = 1;
                for (var d = 2; d < parameter.dim(); d++)
                {
                    receptive *= parameter.size(d);
                }

                var fanIn = parameter.size(1) * receptive;
                var fanOut = parameter.size(0) * receptive;
                var bound = Math.Sqrt(6.0 / (fanIn + fanOut));
                parameter.uniform_(-bound, bound, generator);
            }
            else
            {
                parameter.uniform_(-VectorBound, VectorBound, generator);
            }

            names.Add(path.Length == 0 ? name : path + "." + name);
        }

        return names;
    }

    private static TextClassifier LoadCopy(TextClassifier model, string directory)
    {
        var copy = ClassifierLoader.Load(directory);
        if (!SameWeights(model.Module, copy.Module))
        {
            copy.Dispose();
            throw new ArgumentException($"the weights in '{directory}' differ from the model's: give the folder the model was loaded from", "modelDirectory");
        }

        return copy;
    }

    /// <summary>Whether the two modules' state dicts hold the same names, shapes, dtypes and values (bit for bit).</summary>
    internal static bool SameWeights(nn.Module a, nn.Module b)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var own = a.state_dict();
        var other = b.state_dict();
        return own.Count == other.Count && own.All(kv => other.TryGetValue(kv.Key, out var t) && t.shape.SequenceEqual(kv.Value.shape)
            && t.dtype == kv.Value.dtype && t.eq(kv.Value.to(t.device)).all().item<bool>());
    }

    private static IReadOnlyList<Explanation> ExplainFor(IAttributor method, TextClassifier model, IReadOnlyList<string> texts, int[] targets, ExplainOptions explain)
    {
        var results = new Explanation[texts.Count];
        foreach (var group in Enumerable.Range(0, texts.Count).GroupBy(i => targets[i]))
        {
            var indices = group.ToList();
            // A group is a subset of the texts: its sentence pairs are the same subset (the whole list would be one
            // pair per text of all groups, refused, or paired with the wrong texts).
            var explained = method.Explain(model, indices.Select(i => texts[i]).ToList(), explain with
            {
                Target = Target.Class(group.Key),
                Pairs = explain.Pairs is { } pairs ? indices.Select(i => pairs[i]).ToList() : null,
            });
            for (var j = 0; j < indices.Count; j++)
            {
                results[indices[j]] = explained[j];
            }
        }

        return results;
    }

    private static SanityVariantResult Compare(SanityVariant variant, IReadOnlyList<Explanation> original, IReadOnlyList<Explanation> randomized)
    {
        var texts = original.Select((e, i) => Similarity(e.Text, e.Scores, randomized[i].Scores)).ToList();
        return new SanityVariantResult(variant, texts, Median(texts.Select(t => t.Cosine)), Median(texts.Select(t => t.Spearman)),
            Median(texts.Select(t => t.SpearmanAbsolute)), original, randomized);
    }

    /// <summary>Cosine, Spearman's ρ and Spearman's ρ of the absolute values of one text's original and randomized token scores (NaN when the lengths differ).</summary>
    internal static SanityTextResult Similarity(string text, IReadOnlyList<double> original, IReadOnlyList<double> randomized)
    {
        if (original.Count != randomized.Count)
        {
            return new SanityTextResult(text, double.NaN, double.NaN, double.NaN);
        }

        return new SanityTextResult(text, Cosine(original, randomized), MethodAgreement.Spearman(original, randomized),
            MethodAgreement.Spearman(original.Select(Math.Abs).ToArray(), randomized.Select(Math.Abs).ToArray()));
    }

    /// <summary>The median of the finite values; NaN when there are none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        if (sorted.Length % 2 == 1)
        {
            return sorted[mid];
        }

        // Two finite values above half the largest double summed to ∞: halved first then (the sum is kept otherwise,
        // since halving a tiny value first can round it to 0).
        var (low, high) = (sorted[mid - 1], sorted[mid]);
        return double.IsFinite(low + high) ? (low + high) / 2 : (low / 2) + (high / 2);
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a Hugging Face folder: the source folder's config and tokenizer files copied,
    /// <c>model.safetensors</c> from the model's state dict. The folder loads with <see cref="ClassifierLoader.Load"/>.
    /// The files are staged beside <paramref name="directory"/> and moved in once all are written
    /// (<see cref="StagedFolder"/>), so a copy that fails midway leaves no half folder that looks like a model.
    /// </summary>
    private static void SaveFolder(TextClassifier model, string sourceDirectory, string directory)
    {
        StagedFolder.Write(directory, nameof(SanityOptions.SaveRandomizedDirectory), staging =>
        {
            foreach (var file in Directory.EnumerateFiles(sourceDirectory))
            {
                var name = Path.GetFileName(file);
                if (name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal)
                    || name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".onnx", StringComparison.Ordinal) || name == "training.json")
                {
                    continue;
                }

                File.Copy(file, Path.Combine(staging, name));
            }

            SafeTensors.Save(Path.Combine(staging, StagedFolder.WeightsFile), model.Module.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        });
    }
}
