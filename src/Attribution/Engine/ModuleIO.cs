using System.Reflection;
using System.Runtime.CompilerServices;

using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>
/// Reads and rewrites the tensors inside a module's input or output, whatever its shape: a tensor, a value tuple
/// of tensors (and nulls or other values), or a list of tensors. Hooks written against this work on any module.
/// </summary>
public static class ModuleIO
{
    /// <summary>The tensors in <paramref name="value"/>, by position (non-tensor items are null; null gives none).</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is neither a tensor, a list of tensors nor a tuple.</exception>
    public static IReadOnlyList<Tensor?> Tensors(object? value) => value switch
    {
        null => [],
        Tensor t => [t],
        IReadOnlyList<Tensor> list => list.ToArray(),
        ITuple tuple => Enumerable.Range(0, tuple.Length).Select(i => tuple[i] as Tensor).ToArray(),
        _ => throw new ArgumentException($"a {value.GetType().Name} holds no tensors", nameof(value)),
    };

    /// <summary>The tensor at position <paramref name="index"/> of <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not the position of a tensor in <paramref name="value"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> is neither a tensor, a list of tensors nor a tuple.</exception>
    public static Tensor TensorAt(object? value, int index)
    {
        var tensors = Tensors(value);
        if (index < 0 || index >= tensors.Count || tensors[index] is null)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"no tensor at position {index}; the value has {tensors.Count} item(s) and tensors at [{string.Join(", ", Enumerable.Range(0, tensors.Count).Where(i => tensors[i] is not null))}]");
        }

        return tensors[index]!;
    }

    /// <summary>A copy of <paramref name="value"/> with the tensor at <paramref name="index"/> replaced.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a position of <paramref name="value"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not a tensor, a <c>Tensor[]</c>, a <c>List&lt;Tensor&gt;</c>
    /// or a value tuple whose item <paramref name="index"/> (one of the first seven) is a tensor field.</exception>
    public static object Replace(object value, int index, Tensor replacement)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(replacement);
        var count = value switch
        {
            Tensor => 1,
            IReadOnlyList<Tensor> list => list.Count,
            ITuple tuple => tuple.Length,
            _ => -1,
        };
        if (count >= 0 && (index < 0 || index >= count))
        {
            // A list would otherwise come back unchanged (the replacement dropped) and an array throw IndexOutOfRange.
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"a {value.GetType().Name} of {count} item(s) has no position {index}; use a position in [0, {count})");
        }

        switch (value)
        {
            case Tensor when index == 0:
                return replacement;
            case Tensor[] array:
                var copy = (Tensor[])array.Clone();
                copy[index] = replacement;
                return copy;
            case List<Tensor> list:
                return list.Select((t, i) => i == index ? replacement : t).ToList();
            case ITuple when index < 7:
                // Value tuples are structs: set the field on a boxed copy.
                var boxed = RuntimeHelpers.GetObjectValue(value);
                var field = value.GetType().GetField("Item" + (index + 1), BindingFlags.Public | BindingFlags.Instance)
                    ?? throw new ArgumentException($"cannot replace item {index} of a {value.GetType().Name}", nameof(value));
                if (!field.FieldType.IsAssignableFrom(typeof(Tensor)))
                {
                    // Reflection's own refusal ("Object of type ... cannot be converted") named neither the position nor the argument.
                    var tensors = Tensors(value);
                    throw new ArgumentException(
                        $"item {index} of a {value.GetType().Name} is a {field.FieldType.Name}, not a tensor; use the position of a tensor " +
                        $"(tensors at [{string.Join(", ", Enumerable.Range(0, tensors.Count).Where(i => tensors[i] is not null))}])", nameof(index));
                }

                field.SetValue(boxed, replacement);
                return boxed;
            default:
                throw new ArgumentException($"cannot replace item {index} of a {value.GetType().Name}", nameof(value));
        }
    }
}
