using Attribution.Torch;
using static Attribution.Torch.torch;

namespace Attribution.Tests.Torch.Modules;

public class Conv1dTests
{
    [Theory]
    [InlineData(3, 4, 3, 1, 0, 1, 1, 10)]
    [InlineData(4, 6, 5, 2, 2, 1, 2, 11)]
    [InlineData(2, 2, 3, 3, 1, 2, 2, 9)]
    [InlineData(1, 5, 1, 1, 0, 1, 1, 1)]
    public void Output_shape_follows_the_pytorch_formula(long cin, long cout, long k, long stride, long padding, long dilation, long groups, long length)
    {
        using var scope = NewDisposeScope();
        using var conv = new nn.Conv1d(cin, cout, k, stride, padding, dilation, groups);
        var expectedLength = ((length + (2 * padding) - (dilation * (k - 1)) - 1) / stride) + 1;
        conv.OutputLength(length).Should().Be(expectedLength);
        conv.weight.shape.Should().Equal(cout, cin / groups, k);
        conv.bias!.shape.Should().Equal(cout);
        conv.call(randn([2, cin, length])).shape.Should().Equal(2, cout, expectedLength);
        conv.call(randn([cin, length])).shape.Should().Equal(cout, expectedLength);
    }

    [Fact]
    public void Values_match_hand_computation()
    {
        using var scope = NewDisposeScope();
        using var conv = new nn.Conv1d(1, 1, 3);
        conv.load_state_dict(new Dictionary<string, Tensor>
        {
            ["weight"] = tensor(new float[] { 1, 2, -1 }, [1, 1, 3]),
            ["bias"] = tensor(new float[] { 0.5f }, [1]),
        });
        var x = tensor(new float[] { 1, 2, 3, 4, 5 }, [1, 1, 5]);

        // 1·1 + 2·2 − 3 = 2; 2 + 6 − 4 = 4; 3 + 8 − 5 = 6; plus the bias.
        conv.call(x).data<float>().Should().Equal(2.5f, 4.5f, 6.5f);

        using var padded = new nn.Conv1d(1, 1, 3, stride: 2, padding: 1);
        padded.load_state_dict(conv.state_dict());

        // Padded input 0 1 2 3 4 5 0, windows at 0, 2, 4: 0 + 2 − 2 = 0; 2 + 6 − 4 = 4; 4 + 10 − 0 = 14.
        padded.call(x).data<float>().Should().Equal(0.5f, 4.5f, 14.5f);
    }

    [Theory]
    [InlineData(1, 0, 1, 1, true)]
    [InlineData(2, 1, 1, 1, false)]
    [InlineData(1, 2, 2, 1, true)]
    [InlineData(2, 1, 2, 2, true)]
    [InlineData(3, 3, 1, 2, false)]
    public void Values_match_a_direct_loop_in_float64(int stride, int padding, int dilation, int groups, bool hasBias)
    {
        using var scope = NewDisposeScope();
        const int batch = 2, cin = 4, cout = 6, k = 3, length = 9;
        using var generator = new Generator(7);
        using var conv = new nn.Conv1d(cin, cout, k, stride, padding, dilation, groups, hasBias, generator);
        conv.to(float64);
        var x = randn([batch, cin, length], float64, generator);
        var y = conv.call(x);

        var xs = x.data<double>();
        var w = conv.weight.data<double>();
        var b = hasBias ? conv.bias!.data<double>() : new double[cout];
        var inPerGroup = cin / groups;
        var outPerGroup = cout / groups;
        var outLength = ((length + (2 * padding) - (dilation * (k - 1)) - 1) / stride) + 1;
        var expected = new double[batch * cout * outLength];
        for (var n = 0; n < batch; n++)
        {
            for (var o = 0; o < cout; o++)
            {
                var g = o / outPerGroup;
                for (var t = 0; t < outLength; t++)
                {
                    var sum = b[o];
                    for (var ci = 0; ci < inPerGroup; ci++)
                    {
                        for (var j = 0; j < k; j++)
                        {
                            var position = (t * stride) - padding + (j * dilation);
                            if (position >= 0 && position < length)
                            {
                                sum += w[(((o * inPerGroup) + ci) * k) + j] * xs[(((n * cin) + (g * inPerGroup) + ci) * length) + position];
                            }
                        }
                    }

                    expected[(((n * cout) + o) * outLength) + t] = sum;
                }
            }
        }

        y.shape.Should().Equal(batch, cout, outLength);
        y.data<double>().Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThan(1e-12);
        (conv.bias is not null).Should().Be(hasBias);
    }

    [Fact]
    public void Initialization_is_uniform_within_one_over_root_fan_in_and_seeded()
    {
        using var scope = NewDisposeScope();
        using var g1 = new Generator(42);
        using var g2 = new Generator(42);
        using var a = new nn.Conv1d(8, 64, 5, groups: 2, generator: g1);
        using var b = new nn.Conv1d(8, 64, 5, groups: 2, generator: g2);
        using var c = new nn.Conv1d(8, 64, 5, groups: 2);
        var bound = 1 / Math.Sqrt(8 / 2 * 5);

        var w = a.weight.data<float>();
        w.Max(Math.Abs).Should().BeLessThanOrEqualTo((float)bound).And.BeGreaterThan((float)(0.9 * bound));
        a.bias!.data<float>().Max(Math.Abs).Should().BeLessThanOrEqualTo((float)bound);
        w.Average().Should().BeApproximately(0, (float)(0.1 * bound));
        b.weight.data<float>().Should().Equal(w);
        b.bias!.data<float>().Should().Equal(a.bias.data<float>());
        c.weight.data<float>().Should().NotEqual(w);
        a.weight.requires_grad.Should().BeTrue();
    }

    [Fact]
    public void Parameters_are_named_weight_and_bias_and_round_trip_through_the_state_dict()
    {
        using var scope = NewDisposeScope();
        using var a = new nn.Conv1d(3, 4, 2);
        using var b = new nn.Conv1d(3, 4, 2);
        using var noBias = new nn.Conv1d(3, 4, 2, hasBias: false);
        a.named_parameters().Select(p => p.name).Should().Equal("weight", "bias");
        noBias.named_parameters().Select(p => p.name).Should().Equal("weight");
        noBias.bias.Should().BeNull();

        var x = randn([2, 3, 7]);
        b.call(x).data<float>().Should().NotEqual(a.call(x).data<float>());
        b.load_state_dict(a.state_dict(), strict: true);
        b.call(x).data<float>().Should().Equal(a.call(x).data<float>());
        var missing = () => noBias.load_state_dict(a.state_dict(), strict: true);
        missing.Should().Throw<StateDictException>().Which.Unexpected.Should().Equal("bias");
    }

    [Fact]
    public void Forward_hooks_fire_and_may_replace_the_output()
    {
        using var scope = NewDisposeScope();
        using var conv = new nn.Conv1d(2, 3, 2);
        var x = randn([1, 2, 5]);
        var calls = 0;
        using (conv.register_forward_hook((m, input, output) =>
               {
                   calls++;
                   m.Should().BeSameAs(conv);
                   ModuleIO.TensorAt(input, 0).is_same(x).Should().BeTrue();
                   return ModuleIO.TensorAt(output, 0).mul(2);
               }))
        {
            var doubled = conv.call(x);
            calls.Should().Be(1);
            using var plain = new nn.Conv1d(2, 3, 2);
            plain.load_state_dict(conv.state_dict());
            allclose(doubled, plain.call(x).mul(2)).Should().BeTrue();
        }

        conv.call(x);
        calls.Should().Be(1);
    }

    [Fact]
    public void A_convolutional_text_classifier_runs_in_a_sequential()
    {
        using var scope = NewDisposeScope();
        using var model = new nn.Sequential(
            new nn.Conv1d(8, 16, 3, padding: 1),
            new nn.ReLU(),
            new nn.MaxPool1d(12),
            new nn.Flatten(),
            new nn.Linear(16, 2));
        var logits = model.call(randn([5, 8, 12]));
        logits.shape.Should().Equal(5, 2);
        model.named_parameters().Select(p => p.name).Should().Equal("0.weight", "0.bias", "4.weight", "4.bias");
    }

    [Fact]
    public void Wrong_input_shape_is_reported_with_the_expected_layout()
    {
        using var scope = NewDisposeScope();
        using var conv = new nn.Conv1d(3, 4, 2);
        var act = () => conv.call(randn([2, 5, 7]));
        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("(batch, 3, length)").And.Contain("[2, 5, 7]");
        var tooShort = () => conv.call(randn([2, 3, 1]));
        tooShort.Should().Throw<TorchException>();
    }

    [Theory]
    [InlineData(0, 4, 3, 1, 0, 1, 1, "inChannels")]
    [InlineData(3, 0, 3, 1, 0, 1, 1, "outChannels")]
    [InlineData(3, 4, 0, 1, 0, 1, 1, "kernelSize")]
    [InlineData(3, 4, 3, 0, 0, 1, 1, "stride")]
    [InlineData(3, 4, 3, 1, -1, 1, 1, "padding")]
    [InlineData(3, 4, 3, 1, 0, 0, 1, "dilation")]
    [InlineData(3, 4, 3, 1, 0, 1, 0, "groups")]
    [InlineData(3, 4, 3, 1, 0, 1, 2, "groups")]
    [InlineData(4, 6, 3, 1, 0, 1, 4, "groups")]
    public void Invalid_arguments_throw_naming_the_argument(long cin, long cout, long k, long stride, long padding, long dilation, long groups, string parameter)
    {
        var act = () => new nn.Conv1d(cin, cout, k, stride, padding, dilation, groups);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(parameter);
    }
}
