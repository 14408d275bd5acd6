using Attribution.Torch.Native;

namespace Attribution.Torch;

// Free functions over several tensors, plus linear algebra.
public static partial class torch
{
    private static unsafe Tensor Join(int kind, IReadOnlyList<Tensor> tensors, long dim)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0)
        {
            throw new ArgumentException($"{(kind == 0 ? "cat" : "stack")} needs at least one tensor", nameof(tensors));
        }

        var handles = new IntPtr[tensors.Count];
        for (var i = 0; i < handles.Length; i++)
        {
            handles[i] = tensors[i].RawHandle;
        }

        fixed (IntPtr* p = handles)
        {
            var result = Tensor.From(NativeMethods.ath_join(kind, p, handles.Length, dim, out var r), r);
            GC.KeepAlive(tensors);
            return result;
        }
    }

    /// <summary>Concatenates along an existing dimension.</summary>
    public static Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(0, tensors, dim);

    /// <summary>Stacks along a new dimension.</summary>
    public static Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(1, tensors, dim);

    /// <summary>Einstein summation, e.g. <c>einsum("bhqd,bhkd->bhqk", q, k)</c>.</summary>
    public static unsafe Tensor einsum(string equation, params Tensor[] operands)
    {
        ArgumentNullException.ThrowIfNull(equation);
        ArgumentNullException.ThrowIfNull(operands);
        var handles = operands.Select(o => o.RawHandle).ToArray();
        fixed (IntPtr* p = handles)
        {
            var result = Tensor.From(NativeMethods.ath_einsum(equation, p, handles.Length, out var r), r);
            GC.KeepAlive(operands);
            return result;
        }
    }

    /// <summary>Elementwise choice: <paramref name="a"/> where <paramref name="condition"/> holds, else <paramref name="b"/>.</summary>
    public static Tensor where(Tensor condition, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Tensor.From(NativeMethods.ath_where(condition.Handle, a.Handle, b.Handle, out var r), r);
    }

    /// <summary>Matrix product with broadcasting.</summary>
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    /// <summary>2-D matrix product.</summary>
    public static Tensor mm(Tensor a, Tensor b) => a.mm(b);
    /// <summary>Batched matrix product.</summary>
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);
    /// <summary>Outer product.</summary>
    public static Tensor outer(Tensor a, Tensor b) => a.outer(b);
    /// <summary>Sum of all elements.</summary>
    public static Tensor sum(Tensor x) => x.sum();
    /// <summary>Softmax along a dimension.</summary>
    public static Tensor softmax(Tensor x, long dim) => x.softmax(dim);
    /// <summary>Log-softmax along a dimension.</summary>
    public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);
    /// <summary>e^x.</summary>
    public static Tensor exp(Tensor x) => x.exp();
    /// <summary>Natural logarithm.</summary>
    public static Tensor log(Tensor x) => x.log();
    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor tanh(Tensor x) => x.tanh();
    /// <summary>Logistic sigmoid.</summary>
    public static Tensor sigmoid(Tensor x) => x.sigmoid();
    /// <summary>max(0, x).</summary>
    public static Tensor relu(Tensor x) => x.relu();
    /// <summary>Gauss error function.</summary>
    public static Tensor erf(Tensor x) => x.erf();
    /// <summary>True if every element of a and b agrees within atol + rtol·|b|.</summary>
    public static bool allclose(Tensor a, Tensor b, double rtol = 1e-5, double atol = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        using var scope = NewDisposeScope();
        var tolerance = b.abs().mul(rtol).add(atol);
        return (a - b).abs().le(tolerance).all().item<bool>();
    }

    /// <summary>Linear algebra (torch.linalg).</summary>
    public static class linalg
    {
        /// <summary>Solves A X = B for square A.</summary>
        public static Tensor solve(Tensor A, Tensor B) => Binary(0, A, B, false);

        /// <summary>Least-squares solution of A X ≈ B.</summary>
        public static Tensor lstsq(Tensor A, Tensor B) => Binary(2, A, B, false);

        /// <summary>Cholesky factor of a symmetric positive-definite matrix (lower unless <paramref name="upper"/>).</summary>
        public static Tensor cholesky(Tensor A, bool upper = false) => Unary(0, A, upper);

        /// <summary>Matrix inverse.</summary>
        public static Tensor inv(Tensor A) => Unary(1, A, false);

        /// <summary>Determinant.</summary>
        public static Tensor det(Tensor A) => Unary(2, A, false);

        /// <summary>Moore–Penrose pseudo-inverse.</summary>
        public static Tensor pinv(Tensor A) => Unary(3, A, false);

        internal static Tensor Binary(int kind, Tensor a, Tensor b, bool upper)
        {
            ArgumentNullException.ThrowIfNull(a);
            ArgumentNullException.ThrowIfNull(b);
            return Tensor.From(NativeMethods.ath_linalg2(kind, a.Handle, b.Handle, upper ? 1 : 0, out var r), r);
        }

        private static Tensor Unary(int kind, Tensor a, bool upper)
        {
            ArgumentNullException.ThrowIfNull(a);
            return Tensor.From(NativeMethods.ath_linalg1(kind, a.Handle, upper ? 1 : 0, out var r), r);
        }
    }

    /// <summary>Solves A X = B given the Cholesky factor L of A.</summary>
    public static Tensor cholesky_solve(Tensor B, Tensor L, bool upper = false) => linalg.Binary(1, B, L, upper);

    /// <summary>Automatic differentiation (torch.autograd).</summary>
    public static class autograd
    {
        /// <summary>
        /// Gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/>, without touching
        /// <c>.grad</c>. An input the outputs do not depend on yields null when <paramref name="allow_unused"/>
        /// is set (an error otherwise). <paramref name="retain_graph"/> defaults to <paramref name="create_graph"/>.
        /// </summary>
        public static unsafe Tensor?[] grad(
            IReadOnlyList<Tensor> outputs,
            IReadOnlyList<Tensor> inputs,
            IReadOnlyList<Tensor?>? grad_outputs = null,
            bool? retain_graph = null,
            bool create_graph = false,
            bool allow_unused = false)
        {
            ArgumentNullException.ThrowIfNull(outputs);
            ArgumentNullException.ThrowIfNull(inputs);
            if (grad_outputs is not null && grad_outputs.Count != outputs.Count)
            {
                throw new ArgumentException($"grad_outputs has {grad_outputs.Count} entries but there are {outputs.Count} outputs", nameof(grad_outputs));
            }

            var outs = outputs.Select(t => t.RawHandle).ToArray();
            var ins = inputs.Select(t => t.RawHandle).ToArray();
            var gouts = grad_outputs?.Select(t => t?.RawHandle ?? IntPtr.Zero).ToArray();
            var results = new IntPtr[ins.Length];
            NativeStatus.PendingHookException = null;
            fixed (IntPtr* o = outs)
            fixed (IntPtr* i = ins)
            fixed (IntPtr* g = gouts)
            fixed (IntPtr* r = results)
            {
                NativeStatus.Check(NativeMethods.ath_autograd_grad(
                    o, outs.Length, i, ins.Length, gouts is null ? null : g,
                    retain_graph is null ? -1 : retain_graph.Value ? 1 : 0,
                    create_graph ? 1 : 0, allow_unused ? 1 : 0, r));
            }

            GC.KeepAlive(outputs);
            GC.KeepAlive(inputs);
            GC.KeepAlive(grad_outputs);
            return results.Select(Tensor.WrapOrNull).ToArray();
        }
    }
}
