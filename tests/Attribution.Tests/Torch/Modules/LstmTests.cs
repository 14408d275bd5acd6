using Attribution.Torch;
using static Attribution.Torch.torch;

namespace Attribution.Tests.Torch.Modules;

public class LstmTests
{
    private const double Tolerance = 1e-10;

    /// <summary>
    /// The LSTM written out step by step with plain tensor ops, sequence first: per layer and direction,
    /// gates = W_ih·x + b_ih + W_hh·h + b_hh chunked into i, f, g, o; c' = σ(f)⊙c + σ(i)⊙tanh(g); h' = σ(o)⊙tanh(c').
    /// </summary>
    private static (Tensor output, Tensor h_n, Tensor c_n) Reference(nn.LSTM lstm, Tensor x, Tensor h0, Tensor c0)
    {
        var p = lstm.state_dict();
        var hidden = lstm.HiddenSize;
        var length = x.size(0);
        var layerInput = x;
        var hn = new List<Tensor>();
        var cn = new List<Tensor>();
        for (var layer = 0; layer < lstm.NumLayers; layer++)
        {
            var directions = new List<Tensor>();
            for (var direction = 0; direction < lstm.NumDirections; direction++)
            {
                var suffix = $"_l{layer}" + (direction == 1 ? "_reverse" : string.Empty);
                var wih = p["weight_ih" + suffix];
                var whh = p["weight_hh" + suffix];
                var row = (layer * lstm.NumDirections) + direction;
                var h = h0[row];
                var c = c0[row];
                var steps = new Tensor[length];
                for (var s = 0; s < length; s++)
                {
                    var t = direction == 0 ? s : length - 1 - s;
                    var gates = layerInput[t].matmul(wih.t()) + h.matmul(whh.t());
                    if (lstm.HasBias)
                    {
                        gates = gates + p["bias_ih" + suffix] + p["bias_hh" + suffix];
                    }

                    var i = gates.narrow(1, 0, hidden).sigmoid();
                    var f = gates.narrow(1, hidden, hidden).sigmoid();
                    var g = gates.narrow(1, 2 * hidden, hidden).tanh();
                    var o = gates.narrow(1, 3 * hidden, hidden).sigmoid();
                    c = (f * c) + (i * g);
                    h = o * c.tanh();
                    steps[t] = h;
                }

                directions.Add(stack(steps));
                hn.Add(h);
                cn.Add(c);
            }

            layerInput = cat(directions, 2);
        }

        return (layerInput, stack(hn), stack(cn));
    }

    private static double MaxDiff(Tensor a, Tensor b)
    {
        a.shape.Should().Equal(b.shape);
        return (a - b).abs().max().item<double>();
    }

    public static TheoryData<int, bool, bool, bool, bool> Configurations()
    {
        var data = new TheoryData<int, bool, bool, bool, bool>();
        foreach (var layers in new[] { 1, 2 })
        {
            foreach (var bidirectional in new[] { false, true })
            {
                foreach (var batchFirst in new[] { false, true })
                {
                    data.Add(layers, bidirectional, batchFirst, true, true);
                    data.Add(layers, bidirectional, batchFirst, true, false);
                }
            }
        }

        data.Add(2, true, true, false, true);
        data.Add(2, true, false, false, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Matches_a_step_by_step_reference_in_float64(int layers, bool bidirectional, bool batchFirst, bool hasBias, bool withState)
    {
        using var scope = NewDisposeScope();
        const long batch = 3, length = 5, inputSize = 4, hidden = 6;
        using var generator = new Generator(11);
        using var lstm = new nn.LSTM(inputSize, hidden, layers, hasBias, batchFirst, bidirectional: bidirectional, generator: generator);
        lstm.to(float64);
        var rows = layers * (bidirectional ? 2 : 1);
        var x = randn([length, batch, inputSize], float64, generator);
        var h0 = withState ? randn([rows, batch, hidden], float64, generator) : zeros([rows, batch, hidden], float64);
        var c0 = withState ? randn([rows, batch, hidden], float64, generator) : zeros([rows, batch, hidden], float64);

        var input = batchFirst ? x.transpose(0, 1) : x;
        var (output, hn, cn) = withState ? lstm.call(input, (h0, c0)) : lstm.call(input);
        var expected = Reference(lstm, x, h0, c0);

        output.dtype.Should().Be(ScalarType.Float64);
        var seqFirst = batchFirst ? output.transpose(0, 1) : output;
        output.shape.Should().Equal(batchFirst ? [batch, length, hidden * lstm.NumDirections] : [length, batch, hidden * lstm.NumDirections]);
        MaxDiff(seqFirst, expected.output).Should().BeLessThan(Tolerance);
        MaxDiff(hn, expected.h_n).Should().BeLessThan(Tolerance);
        MaxDiff(cn, expected.c_n).Should().BeLessThan(Tolerance);
    }

    [Fact]
    public void Unbatched_input_gives_unbatched_results()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        foreach (var batchFirst in new[] { false, true })
        {
            using var lstm = new nn.LSTM(3, 4, 2, batchFirst: batchFirst, bidirectional: true, generator: generator);
            var x = randn([5, 3], generator: generator);
            var h0 = randn([4, 4], generator: generator);
            var c0 = randn([4, 4], generator: generator);
            var (output, hn, cn) = lstm.call(x, (h0, c0));
            output.shape.Should().Equal(5, 8);
            hn.shape.Should().Equal(4, 4);
            cn.shape.Should().Equal(4, 4);

            var batched = lstm.call(x.unsqueeze(batchFirst ? 0 : 1), (h0.unsqueeze(1), c0.unsqueeze(1)));
            MaxDiff(output, batched.output.squeeze(batchFirst ? 0 : 1)).Should().Be(0);
            MaxDiff(hn, batched.h_n.squeeze(1)).Should().Be(0);
            MaxDiff(cn, batched.c_n.squeeze(1)).Should().Be(0);
        }
    }

    [Fact]
    public void Zero_state_is_the_default_and_no_temporaries_are_left_in_the_scope()
    {
        using var scope = NewDisposeScope();
        using var lstm = new nn.LSTM(3, 4, 2, bidirectional: true);
        var x = randn([5, 2, 3]);
        var zero = zeros([4, 2, 4]);
        var before = scope.Count;
        var (output, hn, cn) = lstm.call(x);
        scope.Count.Should().Be(before + 3);
        var explicitZero = lstm.call(x, (zero, zero));
        MaxDiff(output, explicitZero.output).Should().Be(0);
        MaxDiff(hn, explicitZero.h_n).Should().Be(0);
        MaxDiff(cn, explicitZero.c_n).Should().Be(0);

        before = scope.Count;
        lstm.call(randn([5, 3]));
        scope.Count.Should().Be(before + 4);
    }

    [Fact]
    public void Parameters_are_named_and_shaped_as_pytorch()
    {
        using var lstm = new nn.LSTM(5, 7, 2, bidirectional: true);
        var expected = new List<(string, long[])>();
        foreach (var layer in new[] { "l0", "l1" })
        {
            foreach (var suffix in new[] { string.Empty, "_reverse" })
            {
                var input = layer == "l0" ? 5 : 14;
                expected.Add(($"weight_ih_{layer}{suffix}", [28, input]));
                expected.Add(($"weight_hh_{layer}{suffix}", [28, 7]));
                expected.Add(($"bias_ih_{layer}{suffix}", [28]));
                expected.Add(($"bias_hh_{layer}{suffix}", [28]));
            }
        }

        var actual = lstm.named_parameters().ToList();
        actual.Select(p => p.name).Should().Equal(expected.Select(e => e.Item1));
        actual.Select(p => p.parameter.shape).Should().BeEquivalentTo(expected.Select(e => e.Item2), o => o.WithStrictOrdering());
        actual.Should().OnlyContain(p => p.parameter.requires_grad);
        lstm.flat_weights.Select((w, i) => w.is_same(actual[i].parameter)).Should().AllBeEquivalentTo(true);

        using var noBias = new nn.LSTM(5, 7, hasBias: false);
        noBias.named_parameters().Select(p => p.name).Should().Equal("weight_ih_l0", "weight_hh_l0");
    }

    [Fact]
    public void Initialization_is_uniform_within_one_over_root_hidden_and_seeded()
    {
        using var scope = NewDisposeScope();
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        using var a = new nn.LSTM(10, 16, generator: g1);
        using var b = new nn.LSTM(10, 16, generator: g2);
        var bound = (float)(1 / Math.Sqrt(16));
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
        {
            var values = pa.data<float>();
            values.Max(Math.Abs).Should().BeLessThanOrEqualTo(bound, name);
            pb.data<float>().Should().Equal(values, name);
        }

        a.state_dict()["weight_ih_l0"].data<float>().Max(Math.Abs).Should().BeGreaterThan(0.9f * bound);
    }

    [Fact]
    public void State_dict_round_trips()
    {
        using var scope = NewDisposeScope();
        using var a = new nn.LSTM(3, 4, 2, batchFirst: true, bidirectional: true);
        using var b = new nn.LSTM(3, 4, 2, batchFirst: true, bidirectional: true);
        var x = randn([2, 6, 3]);
        MaxDiff(a.call(x).output, b.call(x).output).Should().BeGreaterThan(0);

        var saved = a.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        b.load_state_dict(saved, strict: true);
        var (oa, ha, ca) = a.call(x);
        var (ob, hb, cb) = b.call(x);
        MaxDiff(oa, ob).Should().Be(0);
        MaxDiff(ha, hb).Should().Be(0);
        MaxDiff(ca, cb).Should().Be(0);

        saved.Remove("bias_hh_l1_reverse");
        var act = () => b.load_state_dict(saved, strict: true);
        act.Should().Throw<StateDictException>().Which.Missing.Should().Equal("bias_hh_l1_reverse");
    }

    [Fact]
    public void Dtype_moves_are_seen_by_the_forward_pass()
    {
        using var scope = NewDisposeScope();
        using var lstm = new nn.LSTM(3, 4);
        var x = randn([5, 2, 3]);
        var single = lstm.call(x).output;
        lstm.to(float64);
        lstm.flat_weights.Should().OnlyContain(w => w.dtype == ScalarType.Float64);
        var twice = lstm.call(x.to(float64)).output;
        twice.dtype.Should().Be(ScalarType.Float64);
        MaxDiff(twice.to(float32), single).Should().BeLessThan(1e-5);
    }

    [Fact]
    public void Gradients_reach_the_input_and_every_parameter()
    {
        using var scope = NewDisposeScope();
        using var lstm = new nn.LSTM(3, 4, 2, bidirectional: true);
        var x = randn([5, 2, 3]).requires_grad_();
        var (output, hn, _) = lstm.call(x);
        (output.sum() + hn.sum()).backward();
        x.grad.Should().NotBeNull();
        lstm.parameters().Should().OnlyContain(p => p.grad != null);
    }

    [Fact]
    public void Dropout_applies_in_training_mode_only()
    {
        using var scope = NewDisposeScope();
        using var lstm = new nn.LSTM(3, 8, 2, dropout: 0.5);
        using var plain = new nn.LSTM(3, 8, 2);
        plain.load_state_dict(lstm.state_dict());
        var x = randn([4, 2, 3]);
        lstm.eval();
        MaxDiff(lstm.call(x).output, plain.call(x).output).Should().Be(0);
        lstm.train();
        MaxDiff(lstm.call(x).output, plain.call(x).output).Should().BeGreaterThan(0);
    }

    [Fact]
    public void A_forward_hook_that_replaces_item_0_changes_the_result()
    {
        using var scope = NewDisposeScope();
        using var lstm = new nn.LSTM(3, 4);
        var x = randn([5, 2, 3]);
        var plain = lstm.call(x);
        var calls = 0;
        using (lstm.register_forward_hook((module, input, output) =>
               {
                   calls++;
                   ModuleIO.Tensors(input).Should().HaveCount(3);
                   ModuleIO.TensorAt(input, 0).is_same(x).Should().BeTrue();
                   ModuleIO.Tensors(output).Should().HaveCount(3);
                   return ModuleIO.Replace(output, 0, zeros_like(ModuleIO.TensorAt(output, 0)));
               }))
        {
            var (output, hn, cn) = lstm.call(x);
            calls.Should().Be(1);
            output.abs().max().item<float>().Should().Be(0);
            MaxDiff(hn, plain.h_n).Should().Be(0);
            MaxDiff(cn, plain.c_n).Should().Be(0);
        }

        MaxDiff(lstm.call(x).output, plain.output).Should().Be(0);
        calls.Should().Be(1);
    }

    [Fact]
    public void A_forward_pre_hook_can_replace_the_input_and_the_initial_state()
    {
        using var scope = NewDisposeScope();
        using var lstm = new nn.LSTM(3, 4);
        var x = randn([5, 2, 3]);
        var other = randn([5, 2, 3]);
        var h0 = randn([1, 2, 4]);
        var c0 = randn([1, 2, 4]);
        var expected = lstm.call(other, (h0, c0));
        using var handle = lstm.register_forward_pre_hook((_, input) =>
            ModuleIO.Replace(ModuleIO.Replace(ModuleIO.Replace(input, 0, other), 1, h0), 2, c0));
        var actual = lstm.call(x);
        MaxDiff(actual.output, expected.output).Should().Be(0);
        MaxDiff(actual.c_n, expected.c_n).Should().Be(0);
    }

    [Fact]
    public void Bad_inputs_are_reported_clearly()
    {
        using var scope = NewDisposeScope();
        using var lstm = new nn.LSTM(3, 4, 2);
        var wrongFeatures = () => lstm.call(randn([5, 2, 7]));
        wrongFeatures.Should().Throw<ArgumentException>().Which.Message.Should().Contain("(length, batch, 3)").And.Contain("[5, 2, 7]");
        var wrongState = () => lstm.call(randn([5, 2, 3]), (zeros(1, 2, 4), zeros(1, 2, 4)));
        wrongState.Should().Throw<ArgumentException>().Which.Message.Should().Contain("[2, 2, 4]");
        var halfState = () => lstm.call((randn([5, 2, 3]), zeros(2, 2, 4), null));
        halfState.Should().Throw<ArgumentException>().Which.Message.Should().Contain("both h0 and c0");
    }

    [Theory]
    [InlineData(0, 4, 1, 0.0, "inputSize")]
    [InlineData(3, 0, 1, 0.0, "hiddenSize")]
    [InlineData(3, 4, 0, 0.0, "numLayers")]
    [InlineData(3, 4, 2, -0.1, "dropout")]
    [InlineData(3, 4, 2, 1.5, "dropout")]
    [InlineData(3, 4, 2, double.NaN, "dropout")]
    public void Invalid_arguments_throw_naming_the_argument(long inputSize, long hiddenSize, long layers, double dropout, string parameter)
    {
        var act = () => new nn.LSTM(inputSize, hiddenSize, layers, dropout: dropout);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(parameter);
    }
}
