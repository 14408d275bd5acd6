using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// A matrix product as a module. Use it for the two products of self-attention (Q·Kᵀ and A·V) in a model of your
/// own: as modules they are visible to attribution methods, which act through module hooks (LRP's attention rules
/// rewrite their gradients; attention views read around them). A plain <c>a.matmul(b)</c> inside a forward pass is
/// invisible to every hook.
/// </summary>
public sealed class MatMul() : nn.Module<(Tensor Left, Tensor Right), Tensor>(nameof(MatMul))
{
    /// <inheritdoc />
    public override Tensor forward((Tensor Left, Tensor Right) input) => input.Left.matmul(input.Right);
}

/// <summary>
/// The softmax over the key dimension that turns masked attention scores [batch, heads, queries, keys] into attention
/// probabilities, as a module. Use it in your own attention blocks so attribution methods can find the attention
/// probabilities (CP-LRP holds them constant; attention rollout reads them).
/// </summary>
public sealed class AttentionSoftmax() : nn.Module<Tensor, Tensor>(nameof(AttentionSoftmax))
{
    /// <inheritdoc />
    public override Tensor forward(Tensor input) => input.softmax(-1);
}

/// <summary>
/// Marks a module whose own forward code only composes what its submodules compute: adds, reshapes, head splits,
/// selects, concatenations, constant scaling, masks with constants, dropout. No parameter of its own is used
/// directly and no nonlinearity is applied outside a submodule. A fact about the model that attribution methods may
/// rely on (LRP treats such a module as a container and lets its submodules' rules decide); implement it on your
/// own container modules when it is true of them.
/// </summary>
public interface ICompositeModule
{
}
