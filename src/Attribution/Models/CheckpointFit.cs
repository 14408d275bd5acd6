using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// How a checkpoint's tensors fit a model's state dict, compared before anything is copied so the error lists every
/// missing, unexpected and mis-shaped entry at once. Shared by the loaders of every model family.
/// </summary>
internal sealed record CheckpointFit(List<string> Missing, List<string> Unexpected, List<string> Mismatched)
{
    private const int MaxListed = 20;

    public static CheckpointFit Compare(IReadOnlyDictionary<string, Tensor> own, IReadOnlyDictionary<string, Tensor> checkpoint) => new(
        own.Keys.Where(k => !checkpoint.ContainsKey(k)).Order(StringComparer.Ordinal).ToList(),
        checkpoint.Keys.Where(k => !own.ContainsKey(k)).Order(StringComparer.Ordinal).ToList(),
        own.Where(kv => checkpoint.TryGetValue(kv.Key, out var t) && (!t.shape.SequenceEqual(kv.Value.shape) || !t.is_floating_point()))
            .Select(kv => $"{kv.Key}: the model expects [{string.Join(", ", kv.Value.shape)}] floating point, the checkpoint has [{string.Join(", ", checkpoint[kv.Key].shape)}] {checkpoint[kv.Key].dtype}")
            .ToList());

    /// <summary>
    /// Throws a <see cref="ModelLoadException"/> describing every problem, with <paramref name="hint"/>'s advice, unless
    /// the checkpoint fits exactly.
    /// </summary>
    public void ThrowUnlessFits(string file, string modelName, Func<CheckpointFit, string> hint)
    {
        if (Missing.Count + Unexpected.Count + Mismatched.Count == 0)
        {
            return;
        }

        var parts = new List<string>();
        if (Missing.Count > 0)
        {
            parts.Add($"missing {Missing.Count} parameter(s): {List(Missing)}");
        }

        if (Unexpected.Count > 0)
        {
            parts.Add($"unexpected {Unexpected.Count} tensor(s): {List(Unexpected)}");
        }

        if (Mismatched.Count > 0)
        {
            parts.Add($"{Mismatched.Count} shape mismatch(es): {string.Join("; ", Mismatched.Take(MaxListed))}");
        }

        var all = Missing.Concat(Unexpected).Concat(Mismatched.Select(m => m.Split(':')[0])).ToList();
        throw new ModelLoadException(file, all.Count == 1 ? all[0] : null,
            $"{file} does not fit {modelName} built from config.json: {string.Join("; ", parts)}. Fix: {hint(this)}");
    }

    private static string List(List<string> items) =>
        string.Join(", ", items.Take(MaxListed)) + (items.Count > MaxListed ? $", … ({items.Count - MaxListed} more)" : string.Empty);
}
