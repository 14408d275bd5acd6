using Attribution.Torch;
using F = Attribution.Torch.torch.nn.functional;

namespace Attribution.Tests.Torch;

/// <summary>
/// Every differentiable op of the binding against central finite differences in float64 (relative error ≤ 1e-6),
/// through <see cref="GradCheck"/>. Inputs are chosen away from kinks (relu, abs, clamp, max) and singularities.
/// </summary>
public class GradCheckTests
{
    private sealed record Case(Func<Tensor[]> Inputs, Func<Tensor[], Tensor> F);

    private static Tensor U(long[] shape, int seed, double lo = -1, double hi = 1) => Inputs.Uniform(shape, seed, lo, hi);

    private static Tensor Pos(long[] shape, int seed) => Inputs.Uniform(shape, seed, 0.5, 2);

    private static Tensor Away(long[] shape, int seed) => Inputs.AwayFromZero(shape, seed);

    private static Tensor Distinct(long[] shape, int seed) => Inputs.Distinct(shape, seed);

    private static Tensor Mask() => torch.tensor(new[] { true, false, true, false, false, true }, [2, 3]);

    private static Tensor Long(long[] values, params long[] shape) => torch.tensor(values, shape);

    /// <summary>A well-conditioned 3×3 matrix.</summary>
    private static Tensor WellConditioned(int seed) => U([3, 3], seed) + (torch.eye(3, ScalarType.Float64) * 3);

    private static readonly Dictionary<string, Case> Cases = Build();

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_central_differences(string op)
    {
        using var scope = torch.NewDisposeScope();
        var c = Cases[op];
        GradCheck.Check(c.F, c.Inputs());
    }

    [Fact]
    public void The_checker_rejects_a_wrong_gradient()
    {
        // A hook that scales the gradient by 1.01 must be caught: the checker is not vacuous.
        using var scope = torch.NewDisposeScope();
        var errors = GradCheck.RelativeErrors(
            x =>
            {
                var y = x[0].mul(1.0);
                if (y.requires_grad)
                {
                    y.register_hook(g => g * 1.01);
                }

                return y.sin();
            },
            U([4], 1));
        errors[0].Should().BeApproximately(0.01, 1e-6);
    }

    [Fact]
    public void Embedding_padding_row_gets_no_gradient_and_others_accumulate()
    {
        using var scope = torch.NewDisposeScope();
        var weight = U([4, 2], 3).requires_grad_();
        var ids = Long([1, 0, 1, 3], 4);
        F.embedding(ids, weight, padding_idx: 0).sum().backward();
        weight.grad!.data<double>().Should().Equal(0, 0, 2, 2, 0, 0, 1, 1);
    }

    private static Dictionary<string, Case> Build()
    {
        var c = new Dictionary<string, Case>
        {
            // ---- arithmetic, tensor and scalar, with broadcasting ----
            ["add"] = new(() => [U([2, 3], 1), U([2, 3], 2)], x => x[0] + x[1]),
            ["add_scalar"] = new(() => [U([2, 3], 1)], x => x[0] + 1.5),
            ["scalar_add"] = new(() => [U([2, 3], 1)], x => 1.5 + x[0]),
            ["add_broadcast"] = new(() => [U([3, 1], 1), U([4], 2)], x => x[0].add(x[1])),
            ["sub"] = new(() => [U([2, 3], 1), U([2, 3], 2)], x => x[0] - x[1]),
            ["sub_scalar"] = new(() => [U([2, 3], 1)], x => x[0].sub(0.7)),
            ["rsub_scalar"] = new(() => [U([2, 3], 1)], x => 0.7 - x[0]),
            ["sub_broadcast"] = new(() => [U([2, 1, 4], 1), U([3, 1], 2)], x => x[0] - x[1]),
            ["mul"] = new(() => [U([2, 3], 1), U([2, 3], 2)], x => x[0] * x[1]),
            ["mul_scalar"] = new(() => [U([2, 3], 1)], x => x[0] * 2.5),
            ["scalar_mul"] = new(() => [U([2, 3], 1)], x => 2.5 * x[0]),
            ["mul_broadcast"] = new(() => [U([2, 3], 1), U([3], 2)], x => x[0].mul(x[1])),
            ["div"] = new(() => [U([2, 3], 1), Pos([2, 3], 2)], x => x[0] / x[1]),
            ["div_scalar"] = new(() => [U([2, 3], 1)], x => x[0] / 4.0),
            ["rdiv_scalar"] = new(() => [Pos([2, 3], 1)], x => 2.0 / x[0]),
            ["div_broadcast"] = new(() => [U([2, 3], 1), Pos([2, 1], 2)], x => x[0].div(x[1])),
            ["pow_scalar"] = new(() => [Pos([2, 3], 1)], x => x[0].pow(2.5)),
            ["pow_integer_exponent"] = new(() => [U([2, 3], 1)], x => x[0].pow(3)),
            ["pow_tensor"] = new(() => [Pos([2, 3], 1), U([2, 3], 2)], x => x[0].pow(x[1])),
            ["pow_broadcast"] = new(() => [Pos([2, 3], 1), U([3], 2)], x => x[0].pow(x[1])),
            ["neg"] = new(() => [U([2, 3], 1)], x => x[0].neg()),
            ["neg_operator"] = new(() => [U([2, 3], 1)], x => -x[0]),
            ["atan2"] = new(() => [U([2, 3], 1), Pos([2, 3], 2)], x => x[0].atan2(x[1])),
            ["remainder"] = new(() => [U([2, 3], 1, 0.1, 0.9)], x => x[0].remainder(1.0)),

            // ---- elementwise functions ----
            ["abs"] = new(() => [Away([2, 3], 1)], x => x[0].abs()),
            ["sqrt"] = new(() => [Pos([2, 3], 1)], x => x[0].sqrt()),
            ["rsqrt"] = new(() => [Pos([2, 3], 1)], x => x[0].rsqrt()),
            ["exp"] = new(() => [U([2, 3], 1)], x => x[0].exp()),
            ["log"] = new(() => [Pos([2, 3], 1)], x => x[0].log()),
            ["log1p"] = new(() => [U([2, 3], 1, -0.5, 1)], x => x[0].log1p()),
            ["square"] = new(() => [U([2, 3], 1)], x => x[0].square()),
            ["reciprocal"] = new(() => [Pos([2, 3], 1)], x => x[0].reciprocal()),
            ["sin"] = new(() => [U([2, 3], 1, -3, 3)], x => x[0].sin()),
            ["cos"] = new(() => [U([2, 3], 1, -3, 3)], x => x[0].cos()),
            ["relu"] = new(() => [Away([2, 3], 1)], x => x[0].relu()),
            ["tanh"] = new(() => [U([2, 3], 1, -2, 2)], x => x[0].tanh()),
            ["sigmoid"] = new(() => [U([2, 3], 1, -3, 3)], x => x[0].sigmoid()),
            ["erf"] = new(() => [U([2, 3], 1, -2, 2)], x => x[0].erf()),
            ["gelu"] = new(() => [U([2, 3], 1, -3, 3)], x => x[0].gelu()),
            ["gelu_tanh"] = new(() => [U([2, 3], 1, -3, 3)], x => x[0].gelu("tanh")),
            ["softplus"] = new(() => [U([2, 3], 1, -3, 3)], x => x[0].softplus()),
            ["softplus_beta"] = new(() => [U([2, 3], 1, -2, 2)], x => F.softplus(x[0], beta: 2, threshold: 5)),
            ["softplus_above_threshold"] = new(() => [U([2, 3], 1, 3, 4)], x => x[0].softplus(beta: 2, threshold: 5)),
            ["clamp"] = new(() => [Away([3, 4], 1)], x => x[0].clamp(-0.55, 0.65)),
            ["clamp_min"] = new(() => [Away([3, 4], 1)], x => x[0].clamp_min(-0.55)),
            ["clamp_max"] = new(() => [Away([3, 4], 1)], x => x[0].clamp_max(0.65)),
            ["maximum"] = new(() => [U([3, 4], 1), U([3, 4], 2)], x => x[0].maximum(x[1])),
            ["minimum"] = new(() => [U([3, 4], 1), U([3, 4], 2)], x => x[0].minimum(x[1])),
            ["maximum_broadcast"] = new(() => [U([3, 4], 1), U([4], 2)], x => x[0].maximum(x[1])),
            ["where"] = new(() => [U([2, 3], 1), U([2, 3], 2)], x => torch.where(Mask(), x[0], x[1])),
            ["where_broadcast"] = new(() => [U([3], 1), U([], 2)], x => torch.where(Mask(), x[0], x[1])),
            ["masked_fill"] = new(() => [U([2, 3], 1)], x => x[0].masked_fill(Mask(), 3.0)),

            // ---- products ----
            ["matmul"] = new(() => [U([3, 4], 1), U([4, 2], 2)], x => x[0].matmul(x[1])),
            ["matmul_batched_broadcast"] = new(() => [U([2, 3, 4], 1), U([4, 5], 2)], x => torch.matmul(x[0], x[1])),
            ["matmul_vector_matrix"] = new(() => [U([4], 1), U([4, 3], 2)], x => x[0].matmul(x[1])),
            ["matmul_matrix_vector"] = new(() => [U([3, 4], 1), U([4], 2)], x => x[0].matmul(x[1])),
            ["mm"] = new(() => [U([3, 4], 1), U([4, 2], 2)], x => x[0].mm(x[1])),
            ["bmm"] = new(() => [U([2, 3, 4], 1), U([2, 4, 2], 2)], x => x[0].bmm(x[1])),
            ["outer"] = new(() => [U([3], 1), U([4], 2)], x => x[0].outer(x[1])),
            ["einsum_batched_matmul"] = new(() => [U([2, 3, 4], 1), U([2, 4, 2], 2)], x => torch.einsum("bij,bjk->bik", x[0], x[1])),
            ["einsum_attention_scores"] = new(() => [U([1, 2, 3, 4], 1), U([1, 2, 5, 4], 2)], x => torch.einsum("bhqd,bhkd->bhqk", x[0], x[1])),
            ["einsum_trace"] = new(() => [U([3, 3], 1)], x => torch.einsum("ii->", x[0])),

            // ---- layers ----
            ["linear"] = new(() => [U([2, 3], 1), U([4, 3], 2), U([4], 3)], x => F.linear(x[0], x[1], x[2])),
            ["linear_no_bias"] = new(() => [U([2, 3], 1), U([4, 3], 2)], x => F.linear(x[0], x[1])),
            ["linear_3d"] = new(() => [U([2, 5, 3], 1), U([4, 3], 2), U([4], 3)], x => F.linear(x[0], x[1], x[2])),
            ["layer_norm"] = new(() => [U([2, 3, 4], 1), U([4], 2), U([4], 3)], x => F.layer_norm(x[0], [4], x[1], x[2])),
            ["layer_norm_two_dims"] = new(() => [U([2, 3, 4], 1), U([3, 4], 2), U([3, 4], 3)], x => F.layer_norm(x[0], [3, 4], x[1], x[2], eps: 1e-3)),
            ["layer_norm_no_affine"] = new(() => [U([2, 5], 1)], x => F.layer_norm(x[0], [5])),
            ["embedding_weight"] = new(() => [U([5, 3], 1)], x => F.embedding(Long([0, 2, 2, 4, 1, 0], 2, 3), x[0])),
            ["conv1d"] = new(() => [U([2, 4, 7], 1), U([6, 2, 3], 2), U([6], 3)], x => F.conv1d(x[0], x[1], x[2], stride: 2, padding: 1, groups: 2)),
            ["conv1d_dilated_no_bias"] = new(() => [U([1, 3, 9], 1), U([2, 3, 2], 2)], x => F.conv1d(x[0], x[1], dilation: 3)),
            ["max_pool1d"] = new(() => [Distinct([2, 3, 8], 1)], x => F.max_pool1d(x[0], 3, stride: 2, padding: 1)),
            ["max_pool1d_default_stride"] = new(() => [Distinct([2, 3, 8], 1)], x => F.max_pool1d(x[0], 2)),
            ["dropout_eval"] = new(() => [U([2, 3], 1)], x => F.dropout(x[0], 0.5, training: false)),
            ["dropout_module_eval"] = new(() => [U([2, 3], 1)], x => EvalDropout(x[0])),
            ["dropout_p0_training"] = new(() => [U([2, 3], 1)], x => F.dropout(x[0], 0, training: true)),
            ["dropout_p1_training_seeded"] = new(() => [U([2, 3], 1)], x => SeededDropout(x[0], 1)),
            ["dropout_training_seeded"] = new(() => [U([4, 5], 1)], x => SeededDropout(x[0], 0.4)),
            ["cross_entropy_mean"] = new(() => [U([4, 5], 1, -2, 2)], x => F.cross_entropy(x[0], Long([1, 0, 4, 2], 4))),
            ["cross_entropy_sum"] = new(() => [U([4, 5], 1, -2, 2)], x => F.cross_entropy(x[0], Long([1, 0, 4, 2], 4), reduction: "sum")),
            ["cross_entropy_none"] = new(() => [U([4, 5], 1, -2, 2)], x => F.cross_entropy(x[0], Long([1, 0, 4, 2], 4), reduction: "none")),
            ["cross_entropy_class_weights"] = new(() => [U([4, 5], 1, -2, 2)], x => F.cross_entropy(x[0], Long([1, 0, 4, 2], 4), weight: torch.tensor(new[] { 0.5, 2, 1, 1.5, 0.25 }))),
            ["cross_entropy_label_smoothing"] = new(() => [U([4, 5], 1, -2, 2)], x => F.cross_entropy(x[0], Long([1, 0, 4, 2], 4), label_smoothing: 0.1)),
            ["cross_entropy_ignore_index"] = new(() => [U([4, 5], 1, -2, 2)], x => F.cross_entropy(x[0], Long([1, -100, 4, 2], 4))),
            ["cross_entropy_sequence"] = new(() => [U([2, 5, 3], 1, -2, 2)], x => F.cross_entropy(x[0], Long([1, 0, 4, 2, 3, 3], 2, 3))),
            ["lstm_bidirectional_two_layers"] = new(LstmInputs(inputSize: 3, hidden: 2, layers: 2, directions: 2, biases: true, batchFirst: false), x => Lstm(x, 2, true, true, false)),
            ["lstm_batch_first_no_bias"] = new(LstmInputs(inputSize: 3, hidden: 2, layers: 1, directions: 1, biases: false, batchFirst: true), x => Lstm(x, 1, false, false, true)),

            // ---- reductions and normalizers ----
            ["sum"] = new(() => [U([2, 3, 4], 1)], x => x[0].sum()),
            ["sum_dim"] = new(() => [U([2, 3, 4], 1)], x => x[0].sum(1)),
            ["sum_dims_keepdim"] = new(() => [U([2, 3, 4], 1)], x => x[0].sum([0, 2], keepdim: true)),
            ["mean"] = new(() => [U([2, 3, 4], 1)], x => x[0].mean()),
            ["mean_dim_keepdim"] = new(() => [U([2, 3, 4], 1)], x => x[0].mean(-1, keepdim: true)),
            ["mean_dims"] = new(() => [U([2, 3, 4], 1)], x => x[0].mean([0, 1])),
            ["prod"] = new(() => [Pos([2, 3], 1)], x => x[0].prod()),
            ["prod_dim"] = new(() => [U([2, 3], 1)], x => x[0].prod(1)),
            ["amax"] = new(() => [Distinct([3, 4], 1)], x => x[0].amax([1])),
            ["amax_all_keepdim"] = new(() => [Distinct([3, 4], 1)], x => x[0].amax([0, 1], keepdim: true)),
            ["amin"] = new(() => [Distinct([3, 4], 1)], x => x[0].amin([0])),
            ["max"] = new(() => [Distinct([3, 4], 1)], x => x[0].max()),
            ["min"] = new(() => [Distinct([3, 4], 1)], x => x[0].min()),
            ["max_dim_values"] = new(() => [Distinct([3, 4], 1)], x => x[0].max(1).values),
            ["min_dim_values"] = new(() => [Distinct([3, 4], 1)], x => x[0].min(0, keepdim: true).values),
            ["sort_values"] = new(() => [Distinct([3, 4], 1)], x => x[0].sort(1, descending: true).values),
            ["topk_values"] = new(() => [Distinct([3, 5], 1)], x => x[0].topk(2).values),
            ["logsumexp"] = new(() => [U([3, 4], 1, -2, 2)], x => x[0].logsumexp(1)),
            ["logsumexp_keepdim"] = new(() => [U([3, 4], 1, -2, 2)], x => x[0].logsumexp(0, keepdim: true)),
            ["norm_p1"] = new(() => [Away([3, 4], 1)], x => x[0].norm(1.0)),
            ["norm_p2"] = new(() => [U([3, 4], 1)], x => x[0].norm()),
            ["norm_dim_p2"] = new(() => [U([3, 4], 1)], x => x[0].norm(2, 1L, keepdim: true)),
            ["norm_dims_p1"] = new(() => [Away([2, 3, 4], 1)], x => x[0].norm(1, [0, 2])),
            ["std"] = new(() => [U([3, 4], 1)], x => x[0].std()),
            ["std_dim"] = new(() => [U([3, 4], 1)], x => x[0].std(1)),
            ["var_dim"] = new(() => [U([3, 4], 1)], x => x[0].var(0, keepdim: true)),
            ["cumsum"] = new(() => [U([3, 4], 1)], x => x[0].cumsum(1)),
            ["softmax"] = new(() => [U([3, 4], 1, -2, 2)], x => x[0].softmax(-1)),
            ["softmax_dim0"] = new(() => [U([3, 4], 1, -2, 2)], x => torch.softmax(x[0], 0)),
            ["log_softmax"] = new(() => [U([3, 4], 1, -2, 2)], x => F.log_softmax(x[0], 1)),

            // ---- shapes, views and indexing ----
            ["reshape"] = new(() => [U([2, 3, 4], 1)], x => x[0].reshape(4, -1)),
            ["view"] = new(() => [U([2, 3, 4], 1)], x => x[0].view(6, 4)),
            ["transpose"] = new(() => [U([2, 3, 4], 1)], x => x[0].transpose(0, 2)),
            ["t"] = new(() => [U([2, 3], 1)], x => x[0].t()),
            ["permute"] = new(() => [U([2, 3, 4], 1)], x => x[0].permute(2, 0, 1)),
            ["movedim"] = new(() => [U([2, 3, 4], 1)], x => x[0].movedim(0, 2)),
            ["squeeze"] = new(() => [U([2, 1, 3, 1], 1)], x => x[0].squeeze()),
            ["squeeze_dim"] = new(() => [U([2, 1, 3], 1)], x => x[0].squeeze(1)),
            ["unsqueeze"] = new(() => [U([2, 3], 1)], x => x[0].unsqueeze(1)),
            ["narrow"] = new(() => [U([4, 5], 1)], x => x[0].narrow(1, 1, 3)),
            ["slice"] = new(() => [U([4, 5], 1)], x => x[0].slice(0, 1, 3)),
            ["slice_step"] = new(() => [U([4, 5], 1)], x => x[0].slice(1, 0, 5, 2)),
            ["select"] = new(() => [U([4, 5], 1)], x => x[0].select(1, 2)),
            ["indexer"] = new(() => [U([2, 3, 4], 1)], x => x[0][1, -1]),
            ["index_select"] = new(() => [U([4, 3], 1)], x => x[0].index_select(0, Long([3, 0, 3], 3))),
            ["gather"] = new(() => [U([3, 4], 1)], x => x[0].gather(1, Long([0, 3, 1, 1, 2, 2], 3, 2))),
            ["scatter_add"] = new(() => [U([3, 4], 1), U([3, 2], 2)], x => x[0].scatter_add(1, Long([0, 3, 1, 1, 2, 2], 3, 2), x[1])),
            ["index_add"] = new(() => [U([4, 3], 1), U([2, 3], 2)], x => x[0].index_add(0, Long([3, 3], 2), x[1])),
            ["masked_select"] = new(() => [U([2, 3], 1)], x => x[0].masked_select(Mask())),
            ["cat"] = new(() => [U([2, 3], 1), U([1, 3], 2)], x => torch.cat([x[0], x[1]])),
            ["cat_dim1"] = new(() => [U([2, 3], 1), U([2, 1], 2)], x => torch.cat([x[0], x[1]], 1)),
            ["stack"] = new(() => [U([2, 3], 1), U([2, 3], 2)], x => torch.stack([x[0], x[1]], 1)),
            ["expand"] = new(() => [U([3, 1], 1)], x => x[0].expand(2, 3, 4)),
            ["repeat"] = new(() => [U([2, 3], 1)], x => x[0].repeat(2, 1, 3)),
            ["repeat_interleave"] = new(() => [U([2, 3], 1)], x => x[0].repeat_interleave(2, 1)),
            ["repeat_interleave_tensor"] = new(() => [U([3, 2], 1)], x => x[0].repeat_interleave(Long([2, 0, 3], 3), 0)),
            ["flip"] = new(() => [U([2, 3], 1)], x => x[0].flip(1)),
            ["flatten"] = new(() => [U([2, 3, 4], 1)], x => x[0].flatten()),
            ["flatten_range"] = new(() => [U([2, 3, 4], 1)], x => x[0].flatten(1, 2)),
            ["clone"] = new(() => [U([2, 3], 1)], x => x[0].clone()),
            ["contiguous"] = new(() => [U([2, 3], 1)], x => x[0].t().contiguous()),
            ["alias"] = new(() => [U([2, 3], 1)], x => x[0].alias()),

            // ---- in place on non-leaf tensors (recorded by autograd) ----
            ["inplace_arithmetic"] = new(() => [U([2, 3], 1), U([2, 3], 2), Pos([2, 3], 3)], x => x[0].mul(1.0).add_(x[1], 2).sub_(x[1], 0.5).mul_(x[2]).div_(x[2].add(1)).add_(0.5).sub_(0.25).mul_(3).div_(2)),
            ["inplace_pow"] = new(() => [Pos([2, 3], 1)], x => x[0].mul(1.0).pow_(1.5)),
            ["addcmul_"] = new(() => [U([2, 3], 1), U([2, 3], 2), U([2, 3], 3)], x => x[0].mul(1.0).addcmul_(x[1], x[2], 0.5)),
            ["addcdiv_"] = new(() => [U([2, 3], 1), U([2, 3], 2), Pos([2, 3], 3)], x => x[0].mul(1.0).addcdiv_(x[1], x[2], 0.5)),
            ["copy_"] = new(() => [U([2, 3], 1), U([3], 2)], x => x[0].mul(2.0).copy_(x[1]).mul(x[0])),

            // ---- linear algebra ----
            ["linalg_solve"] = new(() => [WellConditioned(1), U([3, 2], 2)], x => torch.linalg.solve(x[0], x[1])),
            ["cholesky"] = new(() => [U([3, 3], 1)], x => torch.linalg.cholesky(Spd(x[0]))),
            ["cholesky_upper"] = new(() => [U([3, 3], 1)], x => torch.linalg.cholesky(Spd(x[0]), upper: true)),
            ["cholesky_solve"] = new(() => [U([3, 2], 1), U([3, 3], 2)], x => torch.cholesky_solve(x[0], torch.linalg.cholesky(Spd(x[1])))),
            ["inv"] = new(() => [WellConditioned(1)], x => torch.linalg.inv(x[0])),
            ["det"] = new(() => [WellConditioned(1)], x => torch.linalg.det(x[0])),
            ["pinv"] = new(() => [U([4, 3], 1)], x => torch.linalg.pinv(x[0])),
            ["lstsq"] = new(() => [U([5, 3], 1), U([5, 2], 2)], x => torch.linalg.lstsq(x[0], x[1])),
        };
        return c;
    }

    /// <summary>Training-mode dropout with a fresh generator per evaluation, so every finite-difference run draws the same mask.</summary>
    private static Tensor SeededDropout(Tensor x, double p)
    {
        using var generator = new Generator(99);
        return F.dropout(x, p, training: true, generator: generator);
    }

    private static Tensor Spd(Tensor a) => a.matmul(a.t()) + (torch.eye(a.size(0), ScalarType.Float64) * a.size(0));

    private static Tensor EvalDropout(Tensor x)
    {
        using var dropout = new torch.nn.Dropout(0.3);
        dropout.eval();
        return dropout.call(x);
    }

    private static Func<Tensor[]> LstmInputs(int inputSize, int hidden, int layers, int directions, bool biases, bool batchFirst) => () =>
    {
        const int steps = 3, batch = 2;
        var seed = 10;
        var list = new List<Tensor>
        {
            U(batchFirst ? [batch, steps, inputSize] : [steps, batch, inputSize], seed++),
            U([layers * directions, batch, hidden], seed++),
            U([layers * directions, batch, hidden], seed++),
        };
        for (var layer = 0; layer < layers; layer++)
        {
            var layerInput = layer == 0 ? inputSize : hidden * directions;
            for (var d = 0; d < directions; d++)
            {
                list.Add(U([4 * hidden, layerInput], seed++));
                list.Add(U([4 * hidden, hidden], seed++));
                if (biases)
                {
                    list.Add(U([4 * hidden], seed++));
                    list.Add(U([4 * hidden], seed++));
                }
            }
        }

        return [.. list];
    };

    private static Tensor Lstm(Tensor[] x, long layers, bool biases, bool bidirectional, bool batchFirst)
    {
        var (output, h, c) = F.lstm(x[0], x[1], x[2], x[3..], biases, layers, dropout: 0, train: false, bidirectional, batchFirst);
        return torch.cat([output.flatten(), h.flatten(), c.flatten()]);
    }
}
