using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Methods.Lrp;

/// <summary>
/// Layer-wise relevance propagation as gradient × input with rewritten gradients: the rules of an
/// <see cref="LrpRuleSet"/> are attached to the model's modules by type (forward hooks that keep every value and
/// change only gradients), one ordinary forward/backward runs from the target logit (seed 1), and the relevance of
/// any tensor is the tensor ⊙ its gradient. The hooks live for one call and are removed afterwards, on exceptions too.
/// </summary>
public static class LrpPropagation
{
    /// <summary>
    /// Checks that every module of <paramref name="model"/> has a rule (see <see cref="LrpRuleSet.Find"/>).
    /// </summary>
    /// <exception cref="LrpNotSupportedException">Some module has no rule; the message names each one by path and type.</exception>
    public static void Check(nn.Module model, LrpRuleSet? rules = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Plan(model, rules ?? LrpRuleSet.Default);
    }

    /// <summary>
    /// Attaches the rules to every module of <paramref name="model"/> (after checking them all, so nothing is attached
    /// when a module is unsupported). Dispose the result to remove every hook. While attached, any forward/backward
    /// propagates relevance; the forward values are exactly the stock ones.
    /// </summary>
    /// <exception cref="LrpNotSupportedException">Some module has no rule.</exception>
    public static IDisposable Attach(nn.Module model, LrpSettings? settings = null) => Attach(model, settings, out _);

    /// <summary><see cref="Attach(nn.Module, LrpSettings?)"/>, also saying which modules got a hook.</summary>
    private static IDisposable Attach(nn.Module model, LrpSettings? settings, out List<nn.Module> hooked)
    {
        ArgumentNullException.ThrowIfNull(model);
        settings ??= new LrpSettings();
        var plan = Plan(model, settings.Rules);
        hooked = [];

        // Dispatchers on the whole model before any of its forward passes, so no thread that is running it sees its
        // hook dictionaries change (see ModuleHooks).
        ModuleHooks.Prepare(model);
        var handles = new List<IDisposable>();
        try
        {
            foreach (var (_, module, rule) in plan)
            {
                if (rule.Attach(module, settings) is { } handle)
                {
                    handles.Add(handle);
                    hooked.Add(module);
                }
            }
        }
        catch
        {
            DisposeAll(handles);
            throw;
        }

        return new Handles(handles);
    }

    /// <summary>
    /// Relevance of each element of <paramref name="input"/> for the output <paramref name="targets"/>[i] of row i
    /// (seed: that logit), for a module mapping a float tensor [batch, …] to scores [batch, classes]. The result has
    /// the input's shape, belongs to the caller's dispose scope and needs no gradient. Row i's relevance sums to its
    /// logit minus what biases, ε and leaky rules absorbed.
    /// </summary>
    /// <exception cref="LrpNotSupportedException">Some module has no rule.</exception>
    /// <exception cref="ArgumentException"><paramref name="input"/> is not floating-point or has no batch dimension, or
    /// <paramref name="targets"/> is not one target per row.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is not a column of the output (<paramref name="targets"/>).</exception>
    /// <exception cref="InvalidOperationException">The model's output is not [batch, classes].</exception>
    public static Tensor Relevance(nn.Module<Tensor, Tensor> model, Tensor input, IReadOnlyList<long> targets, LrpSettings? settings = null) =>
        Relevance(model, input, targets, settings, nameof(targets));

    private static Tensor Relevance(nn.Module<Tensor, Tensor> model, Tensor input, IReadOnlyList<long> targets, LrpSettings? settings, string targetParameter)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(targets);
        if (!input.is_floating_point() || input.dim() < 1)
        {
            throw new ArgumentException($"LRP needs a floating-point input with a batch dimension, got {input}", nameof(input));
        }

        var batch = input.size(0);
        if (targets.Count != batch)
        {
            throw new ArgumentException($"{targets.Count} target(s) for a batch of {batch}: give one target per row", nameof(targets));
        }

        using var rules = Attach(model, settings);
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var leaf = input.detach().requires_grad_();
        var output = model.call(leaf);
        var score = TargetScores(output, targets.ToArray(), targetParameter);
        var gradient = Gradients.OfOrZeros(score.sum(), leaf);
        using var value = leaf.detach();
        return (value * gradient).MoveToOuterDisposeScope();
    }

    /// <summary>Relevance for the same target class in every row; see <see cref="Relevance(nn.Module{Tensor, Tensor}, Tensor, IReadOnlyList{long}, LrpSettings?)"/>.</summary>
    /// <exception cref="LrpNotSupportedException">Some module has no rule.</exception>
    /// <exception cref="ArgumentException"><paramref name="input"/> is not floating-point or has no batch dimension.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="target"/> is not a column of the output.</exception>
    /// <exception cref="InvalidOperationException">The model's output is not [batch, classes].</exception>
    public static Tensor Relevance(nn.Module<Tensor, Tensor> model, Tensor input, int target, LrpSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Relevance(model, input, Enumerable.Repeat((long)target, input.dim() < 1 ? 0 : (int)input.size(0)).ToArray(), settings, nameof(target));
    }

    /// <summary>
    /// Token relevance for a text classifier module: relevance at the output of the word-embedding module
    /// (per hidden dimension) and, separately, at the output of every other embedding module (positions, token
    /// types), per token. Embeddings shared by the batch (positions 0..n−1 looked up once) are given one copy per
    /// row so each text gets its own share. Tensors belong to the caller's dispose scope.
    /// </summary>
    /// <param name="model">ModelInput → logits [batch, classes].</param>
    /// <param name="input">The batch.</param>
    /// <param name="targets">Target class per row.</param>
    /// <param name="wordEmbeddingPath">Dotted path of the word-embedding module.</param>
    /// <param name="settings">ε, attention rule and rule set.</param>
    /// <exception cref="LrpNotSupportedException">Some module has no rule.</exception>
    /// <exception cref="ArgumentException"><see cref="ModelInput.InputIds"/> is not [batch, sequence] (<paramref name="input"/>),
    /// <paramref name="targets"/> is not one target per row, or <paramref name="wordEmbeddingPath"/> is empty or names
    /// no module.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is not a column of the output (<paramref name="targets"/>).</exception>
    /// <exception cref="InvalidOperationException">The model's output is not [batch, classes].</exception>
    public static LrpTokenRelevance TokenRelevance(nn.Module<ModelInput, Tensor> model, ModelInput input, IReadOnlyList<long> targets, string wordEmbeddingPath, LrpSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentException.ThrowIfNullOrEmpty(wordEmbeddingPath);
        var ids = input.InputIds;
        if (ids.dim() != 2)
        {
            throw new ArgumentException($"InputIds must be [batch, sequence], got {ids}", nameof(input));
        }

        if (targets.Count != ids.size(0))
        {
            throw new ArgumentException($"{targets.Count} target(s) for a batch of {ids.size(0)}: give one target per row", nameof(targets));
        }

        return Forward(model, input, wordEmbeddingPath, settings).Relevance(targets, nameof(targets));
    }

    /// <summary>
    /// The forward half of <see cref="TokenRelevance"/>: the rules and the embedding taps are attached for this one
    /// pass and removed after it (a rule only shapes the graph the forward pass builds; see <see cref="ILrpRule"/>),
    /// and the graph is kept for <see cref="LrpForwardPass.Relevance"/>. Its logits are the stock forward's, so the
    /// batch's prediction can be read from them (<see cref="AttributionContext"/> does, when LRP runs on a batch).
    /// </summary>
    internal static LrpForwardPass Forward(nn.Module<ModelInput, Tensor> model, ModelInput input, string wordEmbeddingPath, LrpSettings? settings)
    {
        var batch = input.InputIds.size(0);
        var length = input.InputIds.size(1);
        var wordModule = model.Submodule(wordEmbeddingPath);
        var taps = model.SelfAndDescendants()
            .Where(m => m.Module is Embedding || ReferenceEquals(m.Module, wordModule))
            .Select(m => (m.Path, m.Module))
            .DistinctBy(m => m.Module)
            .ToList();

        using var rules = Attach(model, settings, out var hooked);
        var leaves = taps.Select(_ => new List<Tensor>()).ToArray();
        var hooks = new List<IDisposable>();
        try
        {
            for (var i = 0; i < taps.Count; i++)
            {
                var slot = leaves[i];
                var path = taps[i].Path;
                hooks.Add(ModuleHooks.AddForwardHook(taps[i].Module, (_, moduleInput, moduleOutput) =>
                {
                    var value = ModuleIO.TensorAt(moduleOutput, 0);
                    var leaf = PerRowLeaf(value, ModuleIO.Tensors(moduleInput).FirstOrDefault(), batch, length, path);
                    slot.Add(leaf);

                    // A handle of its own for the model, which may dispose it (TorchSharp's Sequential does).
                    return ModuleIO.Replace(moduleOutput, 0, leaf.alias());
                }));
            }

            using var grad = enable_grad();
            var logitsOnly = LogitsOnlyGivesTheSameRelevance(model, hooked, taps.Select(t => t.Module).ToArray());
            var logits = model.call(logitsOnly ? input with { LogitsOnly = true } : input);
            return new LrpForwardPass(model, wordEmbeddingPath, wordModule, taps, leaves, logits);
        }
        finally
        {
            DisposeAll(hooks);
        }
    }

    /// <summary>
    /// Whether a logits-only pass (<see cref="ModelInput.LogitsOnly"/>: a transformer's last layer for the first token
    /// alone) propagates the relevance a full pass does: the embeddings read are upstream of the last layer
    /// (<see cref="TransformerClassifier.WholeWhenLogitsOnly"/>); no rule hooks a composite module (the encoder and the
    /// last layer's blocks are not called as modules in that pass, while every leaf module still is, so the rules on
    /// leaves fire as before, for the first token's rows, the only ones that carry relevance); and no hook but the
    /// rules' and the taps' is on the model (<see cref="ModuleHooks.OnlyFlowHooksOn"/>).
    /// </summary>
    private static bool LogitsOnlyGivesTheSameRelevance(nn.Module model, List<nn.Module> hooked, nn.Module[] taps)
    {
        return taps.Length > 0
            && taps.All(tap => TransformerClassifier.WholeWhenLogitsOnlyIn(model, tap))
            && hooked.All(module => module is not ICompositeModule)
            && ModuleHooks.OnlyFlowHooksOn(model, [.. hooked, .. taps]);
    }

    /// <summary>
    /// A leaf that requires grad, with the embedding's values, laid out [batch, length, …]: an embedding looked up
    /// once for the whole batch (ids without a batch dimension, e.g. positions 0..n−1) is repeated per row.
    /// </summary>
    private static Tensor PerRowLeaf(Tensor value, Tensor? ids, long batch, long length, string path)
    {
        using var detached = value.detach();
        if (ids is not null && ids.dim() == 1 && value.dim() >= 1 && value.size(0) == length)
        {
            using var unsqueezed = detached.unsqueeze(0);
            var sizes = new long[unsqueezed.dim()];
            Array.Fill(sizes, -1L);
            sizes[0] = batch;
            using var expanded = unsqueezed.expand(sizes);
            return expanded.contiguous().requires_grad_();
        }

        if (value.dim() < 2 || value.size(0) != batch || value.size(1) != length)
        {
            throw new InvalidOperationException(
                $"the embedding '{path}' produced [{string.Join(", ", value.shape)}], which is neither [batch = {batch}, length = {length}, …] nor shared by the batch ([length, …]); LRP cannot give its relevance per token");
        }

        return detached.clone().requires_grad_();
    }

    private static Tensor PerToken(Tensor relevance, long batch, long length, string path) =>
        relevance.dim() == 2 ? relevance.alias()
        : relevance.dim() > 2 ? relevance.reshape(batch, length, -1).sum(-1)
        : throw new InvalidOperationException($"the embedding '{path}' has relevance of shape [{string.Join(", ", relevance.shape)}]");

    /// <summary>The output at each row's target: [batch].</summary>
    private static Tensor TargetScores(Tensor output, long[] targets, string parameter)
    {
        if (output.dim() != 2 || output.size(0) != targets.Length)
        {
            throw new InvalidOperationException(
                $"LRP needs a model output of [batch = {targets.Length}, classes] (logits), got [{string.Join(", ", output.shape)}]");
        }

        var classes = output.size(1);
        for (var i = 0; i < targets.Length; i++)
        {
            if (targets[i] < 0 || targets[i] >= classes)
            {
                throw new ArgumentOutOfRangeException(parameter, targets[i], $"target {targets[i]} of row {i} is outside [0, {classes})");
            }
        }

        using var index = tensor(targets);
        using var column = index.unsqueeze(1);
        using var gathered = output.gather(1, column);
        return gathered.squeeze(1);
    }

    /// <summary>Every module (once, however many paths reach it) with its rule, parents first; refuses the model when any module has none.</summary>
    private static List<(string Path, nn.Module Module, ILrpRule Rule)> Plan(nn.Module model, LrpRuleSet rules)
    {
        var plan = new List<(string, nn.Module, ILrpRule)>();
        var missing = new List<(string, Type)>();
        var covered = new List<string>();

        // A module reachable by two paths (a field aliasing a layer, a layer tied in two places) is one module: its rule
        // is attached once, where it is first met. Attached twice, both hooks would rewrite its gradient (the ε rule
        // applied twice). A module first met inside a subtree whose rule covers it stays covered by that rule alone.
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        foreach (var (path, found) in model.SelfAndDescendants())
        {
            if (!seen.Add(found))
            {
                continue;
            }

            if (covered.Any(prefix => prefix.Length == 0 || path.StartsWith(prefix + ".", StringComparison.Ordinal)))
            {
                continue;
            }

            // A wrapped TorchSharp model (TextClassifier.FromTorchSharp) is judged as the user's own root module: the
            // adapter only passes ids and mask through, and its children are the user's. A TorchScript classifier
            // (TextClassifier.FromTorchScript) is judged as its script, which no rule covers: LRP refuses it.
            var module = found switch
            {
                TorchSharpAdapter adapter => adapter.Model,
                TorchScriptAdapter script => script.Script,
                _ => found,
            };

            var rule = rules.Find(module);
            if (rule is null)
            {
                missing.Add((path, module.GetType()));
                continue;
            }

            plan.Add((path, module, rule));
            if (rule.CoversSubmodules)
            {
                covered.Add(path);
            }
        }

        if (missing.Count > 0)
        {
            throw new LrpNotSupportedException(missing, rules);
        }

        return plan;
    }

    private static void DisposeAll(List<IDisposable> handles)
    {
        for (var i = handles.Count - 1; i >= 0; i--)
        {
            handles[i].Dispose();
        }
    }

    /// <summary>
    /// A forward pass with LRP's rules (see <see cref="Forward"/>): the logits with their rewritten graph and the
    /// embedding leaves, waiting for the targets. Its tensors belong to the dispose scope it was made in.
    /// </summary>
    internal sealed class LrpForwardPass(
        nn.Module model, string wordEmbeddingPath, nn.Module wordModule, List<(string Path, nn.Module Module)> taps, List<Tensor>[] leaves, Tensor logits)
    {
        /// <summary>The logits, [batch, classes], with the graph that carries relevance.</summary>
        public Tensor Logits => logits;

        /// <summary>
        /// One backward from each row's target logit: the token relevance (see <see cref="TokenRelevance"/>). With
        /// <paramref name="retainGraph"/> the graph stays for another backward (other targets).
        /// </summary>
        public LrpTokenRelevance Relevance(IReadOnlyList<long> targets, string parameter, bool retainGraph = false)
        {
            using var grad = enable_grad();
            var scores = TargetScores(logits, targets.ToArray(), parameter);
            var wordIndex = taps.FindIndex(t => ReferenceEquals(t.Module, wordModule));
            if (leaves[wordIndex].Count != 1)
            {
                throw new InvalidOperationException(leaves[wordIndex].Count == 0
                    ? Internal.LayerTap.DidNotRun(model.GetName(), model, wordModule)
                    : $"the word-embedding module '{wordEmbeddingPath}' ran {leaves[wordIndex].Count} times in one forward pass; LRP needs it to run exactly once");
            }

            var batch = logits.size(0);
            var length = leaves[wordIndex][0].size(1);
            var all = leaves.SelectMany(l => l).ToArray();
            var gradients = Gradients.Of([scores.sum()], all, retainGraph: retainGraph);
            var relevance = all.Select((leaf, k) =>
            {
                using var value = leaf.detach();
                return gradients[k] is { } g ? value * g : zeros_like(value);
            }).ToArray();

            Tensor? word = null;
            var others = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var at = 0;
            for (var i = 0; i < taps.Count; i++)
            {
                foreach (var _ in leaves[i])
                {
                    var r = relevance[at++];
                    if (i == wordIndex)
                    {
                        word = r;
                        continue;
                    }

                    var perToken = PerToken(r, batch, length, taps[i].Path);
                    others[taps[i].Path] = others.TryGetValue(taps[i].Path, out var sum) ? sum.Plus(perToken) : perToken;
                }
            }

            using (no_grad())
            {
                return new LrpTokenRelevance(word!, others, logits.detach(), scores.detach());
            }
        }
    }

    private sealed class Handles(List<IDisposable> handles) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                DisposeAll(handles);
            }
        }
    }
}

/// <summary>What <see cref="LrpPropagation.TokenRelevance"/> found for a batch (tensors in the caller's dispose scope).</summary>
/// <param name="Word">Relevance at the word-embedding output, [batch, length, hidden]: a token's relevance is its row summed over hidden.</param>
/// <param name="Embeddings">
/// Relevance at every other embedding module's output (e.g. <c>bert.embeddings.position_embeddings</c>,
/// <c>bert.embeddings.token_type_embeddings</c>), by dotted path, per token: [batch, length].
/// </param>
/// <param name="Logits">The logits with the rules attached (equal to the stock forward), [batch, classes].</param>
/// <param name="TargetLogits">Each row's target logit, the seed of the propagation: [batch].</param>
public sealed record LrpTokenRelevance(Tensor Word, IReadOnlyDictionary<string, Tensor> Embeddings, Tensor Logits, Tensor TargetLogits);
