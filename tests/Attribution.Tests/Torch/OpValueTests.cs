using Attribution.Torch;
using F = Attribution.Torch.torch.nn.functional;

namespace Attribution.Tests.Torch;

/// <summary>Forward values of each op family against known results (closed forms or hand computation).</summary>
public class OpValueTests
{
    private static Tensor D(params double[] values) => torch.tensor(values);

    private static Tensor D(double[] values, params long[] shape) => torch.tensor(values, shape);

    private static void Expect(Tensor actual, params double[] expected) => ExpectWithin(1e-12, actual, expected);

    private static void ExpectWithin(double tolerance, Tensor actual, params double[] expected)
    {
        using var scope = torch.NewDisposeScope();
        var values = actual.to(ScalarType.Float64).data<double>();
        values.Should().HaveCount(expected.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            values[i].Should().BeApproximately(expected[i], tolerance, $"element {i} of [{string.Join(", ", values)}]");
        }
    }

    [Fact]
    public void Arithmetic_broadcasts_and_keeps_integer_types()
    {
        using var scope = torch.NewDisposeScope();
        var a = D([1, 2, 3, 4, 5, 6], 2, 3);
        var row = D(10, 20, 30);
        var column = D([100, 200], 2, 1);
        Expect(a + row, 11, 22, 33, 14, 25, 36);
        Expect(a - column, -99, -98, -97, -196, -195, -194);
        Expect(a * row, 10, 40, 90, 40, 100, 180);
        Expect(a / column, 0.01, 0.02, 0.03, 0.02, 0.025, 0.03);
        Expect(2.0 - a, 1, 0, -1, -2, -3, -4);
        Expect(3.0 / a, 3, 1.5, 1, 0.75, 0.6, 0.5);
        Expect(a.pow(2), 1, 4, 9, 16, 25, 36);
        Expect(D(2, 3).pow(D(3, 2)), 8, 9);
        Expect(D(-3, 3, 5.5).remainder(2), 1, 1, 1.5);
        Expect(D(1, -1).atan2(D(1, 1)), Math.PI / 4, -Math.PI / 4);
        Expect(D(1, 2).maximum(D(2, 1)), 2, 2);
        Expect(D(1, 2).minimum(D(2, 1)), 1, 1);

        var ints = torch.tensor(new long[] { 1, 2, 3 });
        (ints + 1).dtype.Should().Be(ScalarType.Int64);
        (ints * 2).data<long>().Should().Equal(2, 4, 6);
        (ints + 0.5).dtype.Should().Be(ScalarType.Float32, "an int tensor plus a fractional scalar promotes to the default float type");
        (ints / 2).data<float>().Should().Equal(0.5f, 1f, 1.5f);
    }

    [Fact]
    public void Elementwise_functions_match_closed_forms()
    {
        using var scope = torch.NewDisposeScope();
        Expect(D(-2, 0, 3).neg(), 2, 0, -3);
        Expect(D(-2, 0, 3).abs(), 2, 0, 3);
        Expect(D(4, 9).sqrt(), 2, 3);
        Expect(D(4, 0.25).rsqrt(), 0.5, 2);
        Expect(D(0, 1).exp(), 1, Math.E);
        Expect(D(1, Math.E).log(), 0, 1);
        Expect(D(0, Math.E - 1).log1p(), 0, 1);
        Expect(D(-3, 0.5).square(), 9, 0.25);
        Expect(D(4, -0.5).reciprocal(), 0.25, -2);
        Expect(D(0, Math.PI / 2).sin(), 0, 1);
        Expect(D(0, Math.PI).cos(), 1, -1);
        Expect(D(-1, 0, 2).relu(), 0, 0, 2);
        Expect(D(0, Math.Log(2)).tanh(), 0, 0.6);
        Expect(D(0, Math.Log(3)).sigmoid(), 0.5, 0.75);
        Expect(D(-2, 0, 3).sign(), -1, 0, 1);
        Expect(D(1.5, -1.5, 2.5, 0.5).floor(), 1, -2, 2, 0);
        Expect(D(1.5, -1.5, 2.5, 0.5).ceil(), 2, -1, 3, 1);
        Expect(D(1.5, -1.5, 2.5, 0.5).round(), 2, -2, 2, 0);

        // erf and GELU: erf(0.5), erf(1); GELU(x) = x Φ(x); the tanh form 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
        Expect(D(0, 0.5, 1, -1).erf(), 0, 0.5204998778130465, 0.8427007929497149, -0.8427007929497149);
        Expect(D(1).gelu(), 0.8413447460685429);
        Expect(D(-1, 0).gelu(), -0.15865525393145707, 0);
        var tanhGelu = 0.5 * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (1 + 0.044715)));
        Expect(F.gelu(D(1), "tanh"), tanhGelu);
        Expect(D(0, 1).softplus(), Math.Log(2), Math.Log(1 + Math.E));
        Expect(D(0, 30).softplus(beta: 2, threshold: 20), Math.Log(2) / 2, 30);
        Expect(D(-2, 0.2, 3).clamp(-1, 1), -1, 0.2, 1);
        Expect(D(-2, 0.2, 3).clamp_min(0), 0, 0.2, 3);
        Expect(D(-2, 0.2, 3).clamp_max(0), -2, 0, 0);

        var withNan = D(1, double.NaN, double.PositiveInfinity, -0.0);
        withNan.isnan().data<bool>().Should().Equal(false, true, false, false);
        withNan.isfinite().data<bool>().Should().Equal(true, false, false, true);
        D(1, -2, 0.0, -0.0).signbit().data<bool>().Should().Equal(false, true, false, true);
    }

    [Fact]
    public void Comparisons_and_logic_give_bool_tensors()
    {
        using var scope = torch.NewDisposeScope();
        var a = D(1, 2, 3);
        var b = D(3, 2, 1);
        a.eq(b).data<bool>().Should().Equal(false, true, false);
        a.ne(b).data<bool>().Should().Equal(true, false, true);
        a.lt(b).data<bool>().Should().Equal(true, false, false);
        a.le(b).data<bool>().Should().Equal(true, true, false);
        a.gt(b).data<bool>().Should().Equal(false, false, true);
        a.ge(b).data<bool>().Should().Equal(false, true, true);
        a.eq(2).data<bool>().Should().Equal(false, true, false);
        a.gt(1.5).logical_and(a.lt(2.5)).data<bool>().Should().Equal(false, true, false);
        a.lt(1.5).logical_or(a.gt(2.5)).data<bool>().Should().Equal(true, false, true);
        a.lt(1.5).logical_not().data<bool>().Should().Equal(false, true, true);
        a.gt(0).all().item<bool>().Should().BeTrue();
        a.gt(2).any().item<bool>().Should().BeTrue();
        a.gt(3).any().item<bool>().Should().BeFalse();
        torch.allclose(a, a + 1e-9).Should().BeTrue();
        torch.allclose(a, a + 1e-3).Should().BeFalse();
    }

    [Fact]
    public void Where_and_masked_fill_select_elementwise()
    {
        using var scope = torch.NewDisposeScope();
        var mask = torch.tensor(new[] { true, false, true });
        Expect(torch.where(mask, D(1, 2, 3), D(-1, -2, -3)), 1, -2, 3);
        Expect(torch.where(mask, D(1, 2, 3), torch.tensor(0.0)), 1, 0, 3);
        Expect(D(1, 2, 3).masked_fill(mask, -9), -9, 2, -9);
        Expect(D(1, 2, 3).masked_select(mask), 1, 3);
    }

    [Fact]
    public void Products_match_hand_computation()
    {
        using var scope = torch.NewDisposeScope();
        var a = D([1, 2, 3, 4], 2, 2);
        var b = D([5, 6, 7, 8], 2, 2);
        Expect(a.matmul(b), 19, 22, 43, 50);
        Expect(torch.mm(a, b), 19, 22, 43, 50);
        Expect(a.matmul(D(1, 1)), 3, 7);
        Expect(torch.bmm(torch.stack([a, b]), torch.stack([b, a])), 19, 22, 43, 50, 23, 34, 31, 46);
        Expect(torch.outer(D(1, 2), D(3, 4, 5)), 3, 4, 5, 6, 8, 10);
        Expect(torch.einsum("ii->", a), 5);
        Expect(torch.einsum("ij,jk->ik", a, b), 19, 22, 43, 50);
        Expect(torch.einsum("i,i->", D(1, 2, 3), D(4, 5, 6)), 32);
        torch.matmul(torch.ones([2, 3, 4], ScalarType.Float64), torch.ones([4, 5], ScalarType.Float64)).shape.Should().Equal(2, 3, 5);
    }

    [Fact]
    public void Reductions_match_hand_computation()
    {
        using var scope = torch.NewDisposeScope();
        var x = D([1, 2, 3, 4, 5, 6], 2, 3);
        Expect(x.sum(), 21);
        Expect(torch.sum(x), 21);
        Expect(x.sum(0), 5, 7, 9);
        x.sum(1, keepdim: true).shape.Should().Equal(2, 1);
        Expect(x.sum([0, 1]), 21);
        Expect(x.mean(), 3.5);
        Expect(x.mean(1), 2, 5);
        Expect(x.prod(), 720);
        Expect(x.prod(1), 6, 120);
        Expect(x.amax([1]), 3, 6);
        Expect(x.amin([0]), 1, 2, 3);
        Expect(x.max(), 6);
        Expect(x.min(), 1);
        var (values, indices) = D([3, 9, 1, 4, 0, 8], 2, 3).max(1);
        Expect(values, 9, 8);
        indices.data<long>().Should().Equal(1, 2);
        var (minValues, minIndices) = D([3, 9, 1, 4, 0, 8], 2, 3).min(0);
        Expect(minValues, 3, 0, 1);
        minIndices.data<long>().Should().Equal(0, 1, 0);
        D(3, 9, 1).argmax().item<long>().Should().Be(1);
        D(3, 9, 1).argmin().item<long>().Should().Be(2);
        D([3, 9, 1, 4, 0, 8], 2, 3).argmax(1).data<long>().Should().Equal(1, 2);
        D([3, 9, 1, 4, 0, 8], 2, 3).argmin(1, keepdim: true).shape.Should().Equal(2, 1);
        Expect(D(0, Math.Log(3)).logsumexp(0), Math.Log(4));
        Expect(D(1000, 1000).logsumexp(0), 1000 + Math.Log(2));
        Expect(D(1, 2, 3, 4).std(), Math.Sqrt(5.0 / 3));
        Expect(D([1, 2, 3, 4, 2, 2, 2, 2], 2, 4).std(1), Math.Sqrt(5.0 / 3), 0);
        Expect(D([1, 2, 3, 4], 1, 4).var(1), 5.0 / 3);
        Expect(D(3, -4).norm(), 5);
        Expect(D(3, -4).norm(1.0), 7);
        Expect(D(3, -4).norm(p: 1), 7);
        Expect(D(3, -4).norm(1), 7); // an integer literal is the order p, as in PyTorch, not a dimension
        Expect(D(3, -4).norm(double.PositiveInfinity), 4);
        Expect(D([3, -4, 6, 8], 2, 2).norm(2, 1L), 5, 10);
        Expect(D(1, 2, 3).cumsum(0), 1, 3, 6);
    }

    [Fact]
    public void Softmax_of_zero_and_ln2_is_one_third_two_thirds()
    {
        using var scope = torch.NewDisposeScope();
        var x = D(0, Math.Log(2));
        Expect(x.softmax(0), 1.0 / 3, 2.0 / 3);
        Expect(F.softmax(x, 0), 1.0 / 3, 2.0 / 3);
        Expect(x.log_softmax(0), Math.Log(1.0 / 3), Math.Log(2.0 / 3));
        Expect(D(1000, 1000 + Math.Log(2)).softmax(0), 1.0 / 3, 2.0 / 3);
        Expect(D([0, Math.Log(2), 5, 5], 2, 2).softmax(1), 1.0 / 3, 2.0 / 3, 0.5, 0.5);
    }

    [Fact]
    public void Sort_and_topk_return_values_and_permutation()
    {
        using var scope = torch.NewDisposeScope();
        var (values, indices) = D(3, 1, 2).sort();
        Expect(values, 1, 2, 3);
        indices.data<long>().Should().Equal(1, 2, 0);
        var (desc, descIndices) = D(3, 1, 2).sort(descending: true);
        Expect(desc, 3, 2, 1);
        descIndices.data<long>().Should().Equal(0, 2, 1);
        var (top, topIndices) = D(5, 1, 9, 7).topk(2);
        Expect(top, 9, 7);
        topIndices.data<long>().Should().Equal(2, 3);
        var (bottom, _) = D(5, 1, 9, 7).topk(2, largest: false);
        Expect(bottom, 1, 5);
    }

    [Fact]
    public void Shape_ops_move_elements_as_pytorch_does()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(0, 6, 1, ScalarType.Float64).reshape(2, 3);
        Expect(x.t(), 0, 3, 1, 4, 2, 5);
        Expect(x.transpose(0, 1), 0, 3, 1, 4, 2, 5);
        Expect(x.view(3, 2).select(0, 1), 2, 3);
        Expect(x.reshape(-1), 0, 1, 2, 3, 4, 5);
        var cube = torch.arange(0, 24, 1, ScalarType.Float64).reshape(2, 3, 4);
        cube.permute(2, 0, 1).shape.Should().Equal(4, 2, 3);
        Expect(cube.permute(2, 0, 1)[1, 1], 13, 17, 21);
        cube.movedim(0, 2).shape.Should().Equal(3, 4, 2);
        Expect(cube[1, 2], 20, 21, 22, 23);
        Expect(cube[-1, -1, -1], 23);
        x.unsqueeze(0).shape.Should().Equal(1, 2, 3);
        x.unsqueeze(-1).shape.Should().Equal(2, 3, 1);
        torch.zeros(1, 2, 1, 3).squeeze().shape.Should().Equal(2, 3);
        torch.zeros(1, 2, 1, 3).squeeze(2).shape.Should().Equal(1, 2, 3);
        torch.zeros(1, 2, 1, 3).squeeze(1).shape.Should().Equal([1L, 2, 1, 3], "squeezing a dimension that is not 1 is a no-op");
        Expect(x.narrow(1, 1, 2), 1, 2, 4, 5);
        Expect(x.slice(1, 0, 3, 2), 0, 2, 3, 5);
        Expect(x.select(1, 2), 2, 5);
        Expect(x.index_select(1, torch.tensor(new long[] { 2, 0, 2 })), 2, 0, 2, 5, 3, 5);
        Expect(x.gather(1, torch.tensor(new long[] { 2, 0, 1, 1 }, [2, 2])), 2, 0, 4, 4);
        Expect(torch.zeros([2, 3], ScalarType.Float64).scatter_add(1, torch.tensor(new long[] { 0, 0, 2, 2 }, [2, 2]), D([1, 2, 3, 4], 2, 2)), 3, 0, 0, 0, 0, 7);
        Expect(torch.zeros([3, 2], ScalarType.Float64).index_add(0, torch.tensor(new long[] { 2, 2 }), D([1, 2, 3, 4], 2, 2)), 0, 0, 0, 0, 4, 6);
        Expect(torch.cat([x, x.slice(0, 0, 1)]), 0, 1, 2, 3, 4, 5, 0, 1, 2);
        Expect(torch.cat([x, x], 1), 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5);
        Expect(torch.stack([D(1, 2), D(3, 4)], 1), 1, 3, 2, 4);
        Expect(D([1, 2], 2, 1).expand(2, 3), 1, 1, 1, 2, 2, 2);
        Expect(D([1, 2], 2, 1).expand(-1, 2), 1, 1, 2, 2);
        Expect(D(1, 2).repeat(2), 1, 2, 1, 2);
        D(1, 2).repeat(3, 2).shape.Should().Equal(3, 4);
        Expect(D(1, 2).repeat_interleave(2, 0), 1, 1, 2, 2);
        Expect(D(1, 2, 3).repeat_interleave(torch.tensor(new long[] { 0, 2, 1 }), 0), 2, 2, 3);
        Expect(x.flip(1), 2, 1, 0, 5, 4, 3);
        cube.flatten().shape.Should().Equal(24);
        cube.flatten(1).shape.Should().Equal(2, 12);
        cube.flatten(0, 1).shape.Should().Equal(6, 4);
    }

    [Fact]
    public void Layer_norm_matches_hand_computation()
    {
        using var scope = torch.NewDisposeScope();
        var x = D([1, 2, 3, 4, 10, 10, 10, 14], 2, 4);
        var w = D(1, 2, 0.5, -1);
        var b = D(0, 1, 0, 0.5);
        const double eps = 1e-5;
        // Row 1: mean 2.5, biased variance 1.25. Row 2: mean 11, variance 3.
        var s1 = Math.Sqrt(1.25 + eps);
        var s2 = Math.Sqrt(3 + eps);
        double[] expected =
        [
            -1.5 / s1, (2 * -0.5 / s1) + 1, 0.5 * 0.5 / s1, (-1.5 / s1) + 0.5,
            -1 / s2, (2 * -1 / s2) + 1, 0.5 * -1 / s2, (-3 / s2) + 0.5,
        ];
        Expect(F.layer_norm(x, [4], w, b, eps), expected);

        using var module = new torch.nn.LayerNorm(4);
        module.to(ScalarType.Float64);
        Expect(module.call(x), -1.5 / s1, -0.5 / s1, 0.5 / s1, 1.5 / s1, -1 / s2, -1 / s2, -1 / s2, 3 / s2);
    }

    [Fact]
    public void Linear_and_embedding_match_hand_computation()
    {
        using var scope = torch.NewDisposeScope();
        var x = D([1, 2, 3, 4], 2, 2);
        var w = D([1, 0, 1, 1, 0, -1], 3, 2);
        Expect(F.linear(x, w, D(10, 20, 30)), 11, 23, 28, 13, 27, 26);
        Expect(F.linear(x, w), 1, 3, -2, 3, 7, -4);

        var table = D([0, 0, 1, 1, 2, 2], 3, 2);
        Expect(F.embedding(torch.tensor(new long[] { 2, 0, 1, 2 }, [2, 2]), table), 2, 2, 0, 0, 1, 1, 2, 2);
        F.embedding(torch.tensor(new long[] { 2, 0, 1, 2 }, [2, 2]), table).shape.Should().Equal(2, 2, 2);
    }

    [Fact]
    public void Conv1d_and_max_pool1d_match_hand_computation()
    {
        using var scope = torch.NewDisposeScope();
        var x = D([1, 2, 3, 4, 5], 1, 1, 5);
        var w = D([1, 0, -1], 1, 1, 3);
        Expect(F.conv1d(x, w), -2, -2, -2);
        Expect(F.conv1d(x, w, D(1)), -1, -1, -1);
        Expect(F.conv1d(x, w, padding: 1), -2, -2, -2, -2, 4);
        Expect(F.conv1d(x, w, stride: 2), -2, -2);
        Expect(F.conv1d(x, D([1, 1], 1, 1, 2), dilation: 2), 4, 6, 8);
        // Two groups: each output channel sees one input channel.
        var two = D([1, 2, 3, 10, 20, 30], 1, 2, 3);
        Expect(F.conv1d(two, D([1, 1], 2, 1, 1), groups: 2), 1, 2, 3, 10, 20, 30);

        var p = D([1, 5, 2, 4, 3, 0], 1, 1, 6);
        Expect(F.max_pool1d(p, 2), 5, 4, 3);
        Expect(F.max_pool1d(p, 3, stride: 1), 5, 5, 4, 4);
        Expect(F.max_pool1d(p, 2, stride: 2, padding: 1), 1, 5, 4, 0);
        Expect(F.max_pool1d(D([1, 5, 2, 4, 3], 1, 1, 5), 2, ceil_mode: true), 5, 4, 3);
    }

    [Fact]
    public void Cross_entropy_matches_closed_forms()
    {
        using var scope = torch.NewDisposeScope();
        var logits = D([0, 0, Math.Log(3), 0], 2, 2);
        var target = torch.tensor(new long[] { 0, 0 });
        // Row 1: uniform over 2 classes → ln 2. Row 2: p(class 0) = 3/4 → −ln(3/4).
        Expect(F.cross_entropy(logits, target, reduction: "none"), Math.Log(2), -Math.Log(0.75));
        Expect(F.cross_entropy(logits, target), (Math.Log(2) - Math.Log(0.75)) / 2);
        Expect(F.cross_entropy(logits, target, reduction: "sum"), Math.Log(2) - Math.Log(0.75));
        Expect(F.cross_entropy(logits, torch.tensor(new long[] { 0, -100 })), Math.Log(2));
        // Class weights: a weighted mean divides by the summed weights of the targets.
        Expect(F.cross_entropy(logits, torch.tensor(new long[] { 0, 1 }), weight: D(1, 3)), (Math.Log(2) + (3 * -Math.Log(0.25))) / 4);
        // Label smoothing ε over C classes: (1 − ε)·nll + ε·mean over classes of −log p.
        const double e = 0.2;
        var smoothed = ((1 - e) * Math.Log(2)) + (e * Math.Log(2));
        Expect(F.cross_entropy(D([0, 0], 1, 2), torch.tensor(new long[] { 1 }), label_smoothing: e), smoothed);
        Expect(F.cross_entropy(logits, torch.tensor(new long[] { 1, 1 }), reduction: "none", label_smoothing: e), Math.Log(2), ((1 - e) * -Math.Log(0.25)) + (e * (-Math.Log(0.75) - Math.Log(0.25)) / 2));
    }

    [Fact]
    public void Dropout_is_identity_in_eval_and_scales_kept_values_in_training()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones([1000], ScalarType.Float64);
        Expect(F.dropout(D(1, 2, 3), 0.5, training: false), 1, 2, 3);
        Expect(F.dropout(D(1, 2, 3), 0, training: true), 1, 2, 3);
        Expect(F.dropout(D(1, 2, 3), 1, training: true), 0, 0, 0);
        using var g = new Generator(7);
        Expect(F.dropout(D(1, 2, 3), 1, training: true, generator: g), 0, 0, 0);
        var y = F.dropout(x, 0.25, training: true, generator: g).data<double>();
        y.Should().OnlyContain(v => v == 0 || Math.Abs(v - (1 / 0.75)) < 1e-12);
        y.Count(v => v == 0).Should().BeInRange(200, 300);
        var unseeded = F.dropout(x, 0.25, training: true).data<double>();
        unseeded.Should().OnlyContain(v => v == 0 || Math.Abs(v - (1 / 0.75)) < 1e-12);

        using var module = new torch.nn.Dropout(0.5);
        module.eval();
        Expect(module.call(D(1, 2, 3)), 1, 2, 3);
    }

    [Fact]
    public void Lstm_matches_a_hand_written_cell_for_two_bidirectional_layers()
    {
        using var scope = torch.NewDisposeScope();
        const int steps = 4, batch = 2, input = 3, hidden = 2, layers = 2;
        var seed = 100;
        var x = Inputs.Uniform([steps, batch, input], seed++);
        var h0 = Inputs.Uniform([layers * 2, batch, hidden], seed++);
        var c0 = Inputs.Uniform([layers * 2, batch, hidden], seed++);
        var parameters = new List<Tensor>();
        for (var layer = 0; layer < layers; layer++)
        {
            for (var d = 0; d < 2; d++)
            {
                parameters.Add(Inputs.Uniform([4 * hidden, layer == 0 ? input : 2 * hidden], seed++));
                parameters.Add(Inputs.Uniform([4 * hidden, hidden], seed++));
                parameters.Add(Inputs.Uniform([4 * hidden], seed++));
                parameters.Add(Inputs.Uniform([4 * hidden], seed++));
            }
        }

        var (output, hn, cn) = F.lstm(x, h0, c0, parameters, has_biases: true, num_layers: layers, dropout: 0, train: false, bidirectional: true, batch_first: false);
        output.shape.Should().Equal(steps, batch, 2 * hidden);
        hn.shape.Should().Equal(layers * 2, batch, hidden);

        // Reference: gates i, f, g, o in that order (PyTorch's layout); the reverse direction reads time backwards.
        var layerInput = x;
        var finalH = new List<Tensor>();
        var finalC = new List<Tensor>();
        for (var layer = 0; layer < layers; layer++)
        {
            var directionOutputs = new List<Tensor>();
            for (var d = 0; d < 2; d++)
            {
                var k = (layer * 2) + d;
                var (wih, whh, bih, bhh) = (parameters[4 * k], parameters[(4 * k) + 1], parameters[(4 * k) + 2], parameters[(4 * k) + 3]);
                var h = h0.select(0, k);
                var c = c0.select(0, k);
                var outputs = new Tensor[steps];
                for (var s = 0; s < steps; s++)
                {
                    var t = d == 0 ? s : steps - 1 - s;
                    var gates = F.linear(layerInput.select(0, t), wih, bih) + F.linear(h, whh, bhh);
                    var i = gates.narrow(1, 0, hidden).sigmoid();
                    var f = gates.narrow(1, hidden, hidden).sigmoid();
                    var g = gates.narrow(1, 2 * hidden, hidden).tanh();
                    var o = gates.narrow(1, 3 * hidden, hidden).sigmoid();
                    c = (f * c) + (i * g);
                    h = o * c.tanh();
                    outputs[t] = h;
                }

                directionOutputs.Add(torch.stack(outputs));
                finalH.Add(h);
                finalC.Add(c);
            }

            layerInput = torch.cat(directionOutputs, 2);
        }

        ExpectWithin(1e-12, output, layerInput.data<double>());
        ExpectWithin(1e-12, hn, torch.stack(finalH).data<double>());
        ExpectWithin(1e-12, cn, torch.stack(finalC).data<double>());
    }

    [Fact]
    public void Linear_algebra_matches_known_results()
    {
        using var scope = torch.NewDisposeScope();
        var a = D([2, 0, 0, 4], 2, 2);
        Expect(torch.linalg.solve(a, D([2, 4], 2, 1)), 1, 1);
        var spd = D([4, 2, 2, 3], 2, 2);
        Expect(torch.linalg.cholesky(spd), 2, 0, 1, Math.Sqrt(2));
        Expect(torch.linalg.cholesky(spd, upper: true), 2, 1, 0, Math.Sqrt(2));
        Expect(torch.cholesky_solve(D([8, 7], 2, 1), torch.linalg.cholesky(spd)), 1.25, 1.5);
        Expect(torch.linalg.inv(a), 0.5, 0, 0, 0.25);
        Expect(torch.linalg.det(spd), 8);
        ExpectWithin(1e-12, torch.linalg.pinv(D([1, 0, 0, 0, 2, 0], 2, 3)), 1, 0, 0, 0.5, 0, 0);
        // Least squares: fit y = 1 + 2t exactly through three points.
        ExpectWithin(1e-10, torch.linalg.lstsq(D([1, 0, 1, 1, 1, 2], 3, 2), D([1, 3, 5], 3, 1)), 1, 2);
    }

    [Fact]
    public void Creation_functions_fill_as_documented()
    {
        using var scope = torch.NewDisposeScope();
        torch.zeros(2, 3).data<float>().Should().OnlyContain(v => v == 0);
        torch.ones([2], ScalarType.Float64).data<double>().Should().Equal(1, 1);
        torch.full([2, 2], 7.5, ScalarType.Float64).data<double>().Should().Equal(7.5, 7.5, 7.5, 7.5);
        torch.arange(5).data<long>().Should().Equal(0, 1, 2, 3, 4);
        torch.arange(1, 2, 0.25, ScalarType.Float64).data<double>().Should().Equal(1, 1.25, 1.5, 1.75);
        torch.linspace(0, 1, 5, ScalarType.Float64).data<double>().Should().Equal(0, 0.25, 0.5, 0.75, 1);
        torch.eye(2).data<float>().Should().Equal(1, 0, 0, 1);
        var like = torch.zeros([2, 3], ScalarType.Float64);
        torch.ones_like(like).dtype.Should().Be(ScalarType.Float64);
        torch.full_like(like, 3).data<double>().Should().OnlyContain(v => v == 3);
        torch.zeros_like(like).shape.Should().Equal(2, 3);
        torch.tensor(2.5).shape.Should().BeEmpty();
        torch.tensor(new[] { 1.5, -2 }).ToString(true).Should().Contain("1.5000").And.Contain("-2.0000").And.Contain("CPUDoubleType{2}");
        torch.tensor(new[] { 1.5f }, [1, 1]).ToString().Should().Be("[1, 1], Float32");
        torch.tensor(2.5).item<double>().Should().Be(2.5);
        torch.tensor(3L).item<long>().Should().Be(3);
        torch.tensor(new[] { 1, 2 }).dtype.Should().Be(ScalarType.Int32);
        torch.tensor(new[] { 1f, 2f }).to(ScalarType.Float64).data<double>().Should().Equal(1, 2);
        torch.tensor(new[] { 1.7, -1.7 }).@long().data<long>().Should().Equal(1, -1);
        torch.frombuffer(BitConverter.GetBytes(1.5f), ScalarType.Float32, [1]).item<float>().Should().Be(1.5f);
        var half = torch.tensor(new[] { 1.5f, -2f }).to(ScalarType.Float16);
        half.data<Half>().Should().Equal((Half)1.5f, (Half)(-2f));
        half.to(ScalarType.BFloat16).@float().data<float>().Should().Equal(1.5f, -2f);
    }

    [Fact]
    public void In_place_ops_update_the_tensor()
    {
        using var scope = torch.NewDisposeScope();
        var x = D(1, 2, 3);
        x.add_(D(1, 1, 1), alpha: 2).sub_(D(1, 0, 0)).mul_(D(2, 2, 2)).div_(D(1, 2, 4));
        Expect(x, 4, 4, 2.5);
        x.add_(1).sub_(0.5).mul_(2).div_(4);
        Expect(x, 2.25, 2.25, 1.5);
        x.pow_(2);
        Expect(x, 5.0625, 5.0625, 2.25);
        x.addcmul_(D(1, 2, 3), D(2, 2, 2), 0.5).addcdiv_(D(1, 1, 1), D(2, 4, 8));
        Expect(x, 6.5625, 7.3125, 5.375);
        x.fill_(3);
        Expect(x, 3, 3, 3);
        x.copy_(D(7, 8, 9));
        Expect(x, 7, 8, 9);
        x.zero_();
        Expect(x, 0, 0, 0);
    }
}
