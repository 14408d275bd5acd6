using Attribution.Torch;
using static Attribution.Torch.torch;

namespace Attribution.Tests.Torch;

/// <summary>Module forward hooks and pre-hooks, dotted paths, submodule lookup and state dicts.</summary>
public class ModuleHookTests
{
    private static nn.Sequential Mlp(ulong seed)
    {
        using var g = new Generator(seed);
        var model = new nn.Sequential(new nn.Linear(3, 4, generator: g), new nn.Tanh(), new nn.Linear(4, 2, generator: g));
        model.to(ScalarType.Float64);
        return model;
    }

    [Fact]
    public void A_forward_hook_that_replaces_the_output_changes_the_result()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(1);
        var x = Inputs.Uniform([5, 3], 1);
        var plain = model.call(x).data<double>();
        using (model[1].register_forward_hook((_, _, output) => ((Tensor)output) * 0))
        {
            // With the hidden layer zeroed, the model outputs the last layer's bias.
            var hooked = model.call(x);
            var bias = ((nn.Linear)model[2]).bias!.data<double>();
            hooked.data<double>().Should().Equal(Enumerable.Repeat(bias, 5).SelectMany(b => b));
        }

        model.call(x).data<double>().Should().Equal(plain, "disposing the handle removed the hook");
    }

    [Fact]
    public void A_forward_hook_returning_null_only_observes()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(1);
        var x = Inputs.Uniform([5, 3], 1);
        var plain = model.call(x).data<double>();
        Tensor? seenInput = null, seenOutput = null;
        nn.Module? seenModule = null;
        using (model[0].register_forward_hook((m, input, output) =>
               {
                   seenModule = m;
                   seenInput = (Tensor)input;
                   seenOutput = (Tensor)output;
                   return null;
               }))
        {
            model.call(x).data<double>().Should().Equal(plain);
        }

        seenModule.Should().BeSameAs(model[0]);
        seenInput!.is_same(x).Should().BeTrue();
        seenOutput!.shape.Should().Equal(5, 4);
    }

    [Fact]
    public void A_pre_hook_that_replaces_the_input_changes_the_result()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(2);
        var x = Inputs.Uniform([5, 3], 1);
        var doubled = model.call(x * 2).data<double>();
        var plain = model.call(x).data<double>();
        using (model.register_forward_pre_hook((_, input) => ((Tensor)input) * 2))
        {
            model.call(x).data<double>().Should().Equal(doubled);
        }

        model.call(x).data<double>().Should().Equal(plain);

        // A pre-hook on an inner layer sees and replaces that layer's input.
        Tensor? hidden = null;
        using (model[2].register_forward_pre_hook((_, input) =>
               {
                   hidden = (Tensor)input;
                   return torch.zeros_like(hidden);
               }))
        {
            var output = model.call(x).data<double>();
            output.Should().Equal(Enumerable.Repeat(((nn.Linear)model[2]).bias!.data<double>(), 5).SelectMany(b => b));
        }

        hidden!.shape.Should().Equal(5, 4);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void The_gradient_with_respect_to_a_hooked_intermediate_matches_finite_differences(int layer)
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(3);
        var x = Inputs.Uniform([4, 3], 5);

        // Capture the intermediate output and differentiate the final sum with respect to it.
        Tensor? captured = null;
        Tensor analytic;
        using (model[layer].register_forward_hook((_, _, output) =>
               {
                   captured = (Tensor)output;
                   return null;
               }))
        {
            var y = model.call(x).sum();
            analytic = autograd.grad([y], [captured!])[0]!;
        }

        // Finite differences: perturb that intermediate through a hook that replaces it.
        var baseValues = captured!.detach().data<double>();
        var shape = captured.shape;
        var numeric = new double[baseValues.Length];
        const double h = 1e-6;
        for (var j = 0; j < baseValues.Length; j++)
        {
            numeric[j] = (Evaluate(j, h) - Evaluate(j, -h)) / (2 * h);
        }

        var a = analytic.data<double>();
        var difference = Math.Sqrt(a.Zip(numeric, (p, q) => (p - q) * (p - q)).Sum());
        var norm = Math.Sqrt(numeric.Sum(v => v * v));
        norm.Should().BeGreaterThan(0.1);
        (difference / norm).Should().BeLessThan(1e-6);
        return;

        double Evaluate(int index, double delta)
        {
            using var inner = NewDisposeScope();
            using var noGrad = no_grad();
            var perturbed = (double[])baseValues.Clone();
            perturbed[index] += delta;
            using var replace = model[layer].register_forward_hook((_, _, _) => torch.tensor(perturbed, shape));
            return model.call(x).sum().item<double>();
        }
    }

    private sealed class Split() : nn.Module<Tensor, (Tensor first, Tensor second)>(nameof(Split))
    {
        protected override (Tensor first, Tensor second) forward(Tensor input) => (input.narrow(-1, 0, 1), input.narrow(-1, 1, 1));
    }

    private sealed class Join() : nn.Module<(Tensor a, Tensor b), Tensor>(nameof(Join))
    {
        protected override Tensor forward((Tensor a, Tensor b) input) => input.a - input.b;
    }

    [Fact]
    public void Hooks_read_and_replace_tensors_inside_tuple_inputs_and_outputs()
    {
        using var scope = NewDisposeScope();
        using var split = new Split();
        using var join = new Join();
        var x = tensor(new[] { 1.0, 5, 2, 7 }, [2, 2]);
        Tensor Run() => join.call(split.call(x));
        Run().data<double>().Should().Equal(-4, -5);

        using (split.register_forward_hook((_, _, output) => ModuleIO.Replace(output, 1, zeros_like(ModuleIO.TensorAt(output, 1)))))
        {
            Run().data<double>().Should().Equal(1, 2);
        }

        using (join.register_forward_pre_hook((_, input) =>
               {
                   ModuleIO.Tensors(input).Should().HaveCount(2);
                   return ModuleIO.Replace(input, 0, ModuleIO.TensorAt(input, 0) * 10);
               }))
        {
            Run().data<double>().Should().Equal(5, 13);
        }

        Run().data<double>().Should().Equal(-4, -5);
    }

    [Fact]
    public void Hooks_are_removed_by_disposing_their_handles()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(4);
        var x = Inputs.Uniform([2, 3], 1);
        var calls = new List<string>();
        var pre = model[0].register_forward_pre_hook((_, _) =>
        {
            calls.Add("pre");
            return null;
        });
        var post = model[0].register_forward_hook((_, _, _) =>
        {
            calls.Add("post");
            return null;
        });
        var other = model[0].register_forward_hook((_, _, _) =>
        {
            calls.Add("other");
            return null;
        });
        model[0].HasHooks.Should().BeTrue();
        model.call(x);
        calls.Should().Equal("pre", "post", "other");

        calls.Clear();
        post.Dispose();
        post.Dispose();
        model.call(x);
        calls.Should().Equal("pre", "other");

        calls.Clear();
        pre.Dispose();
        other.Dispose();
        model.call(x);
        calls.Should().BeEmpty();
        model[0].HasHooks.Should().BeFalse();
    }

    [Fact]
    public void A_hook_can_remove_itself_while_running()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(4);
        var x = Inputs.Uniform([2, 3], 1);
        var calls = 0;
        IDisposable? handle = null;
        handle = model[1].register_forward_hook((_, _, _) =>
        {
            calls++;
            handle!.Dispose();
            return null;
        });
        model.call(x);
        model.call(x);
        calls.Should().Be(1);
    }

    [Fact]
    public void A_hook_returning_the_wrong_type_is_reported()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(4);
        using var handle = model[0].register_forward_hook((_, _, _) => "not a tensor");
        var act = () => model.call(Inputs.Uniform([2, 3], 1));
        act.Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("String").And.Contain("Tensor").And.Contain("Linear");
    }

    [Fact]
    public void An_exception_in_a_hook_reaches_the_caller()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(4);
        using var handle = model[1].register_forward_pre_hook((_, _) => throw new FormatException("pre-hook failed"));
        var act = () => model.call(Inputs.Uniform([2, 3], 1));
        act.Should().Throw<FormatException>().WithMessage("pre-hook failed");
    }

    [Fact]
    public void Named_modules_and_parameters_use_dotted_paths()
    {
        using var model = new nn.Sequential(new nn.Linear(2, 3), new nn.Sequential(new nn.Tanh(), new nn.LayerNorm(3)), new nn.Embedding(5, 2));
        model.named_modules().Select(m => m.name).Should().Equal("", "0", "1", "1.0", "1.1", "2");
        model.named_modules().Select(m => m.module.GetName()).Should().Equal("Sequential", "Linear", "Sequential", "Tanh", "LayerNorm", "Embedding");
        model.named_children().Select(m => m.name).Should().Equal("0", "1", "2");
        model.named_parameters().Select(p => p.name).Should().Equal("0.weight", "0.bias", "1.1.weight", "1.1.bias", "2.weight");
        model.named_parameters(recurse: false).Should().BeEmpty();
        model.get_submodule("1.1").Should().BeSameAs(((nn.Sequential)model[1])[1]);
        model.get_submodule("").Should().BeSameAs(model);

        using var list = new nn.ModuleList<nn.Linear>([new nn.Linear(1, 1), new nn.Linear(1, 2)]);
        list.named_parameters().Select(p => p.name).Should().Equal("0.weight", "0.bias", "1.weight", "1.bias");
        list[1].OutFeatures.Should().Be(2);
        list.Count.Should().Be(2);
    }

    [Fact]
    public void Get_submodule_with_an_unknown_path_lists_close_matches()
    {
        using var model = new nn.Sequential(new nn.Linear(2, 3), new nn.Sequential(new nn.Tanh(), new nn.LayerNorm(3)));
        var act = () => model.get_submodule("1.2");
        var e = act.Should().Throw<ArgumentException>().Which;
        e.Message.Should().Contain("'1.2'").And.Contain("1.1").And.Contain("1.0");
        e.ParamName.Should().Be("path");
    }

    [Fact]
    public void Train_and_eval_reach_every_descendant()
    {
        using var model = new nn.Sequential(new nn.Linear(2, 3), new nn.Sequential(new nn.Dropout(0.5)));
        model.training.Should().BeTrue();
        model.eval();
        model.named_modules().Should().OnlyContain(m => !m.module.training);
        model.train();
        model.named_modules().Should().OnlyContain(m => m.module.training);
    }

    [Fact]
    public void Load_state_dict_copies_values_and_strict_reports_missing_and_unexpected_keys()
    {
        using var scope = NewDisposeScope();
        using var source = Mlp(10);
        using var target = Mlp(11);
        var x = Inputs.Uniform([2, 3], 1);
        target.call(x).data<double>().Should().NotEqual(source.call(x).data<double>());
        var (missing, unexpected) = target.load_state_dict(source.state_dict());
        missing.Should().BeEmpty();
        unexpected.Should().BeEmpty();
        target.call(x).data<double>().Should().Equal(source.call(x).data<double>());
        target.state_dict().Keys.Should().BeEquivalentTo(["0.weight", "0.bias", "2.weight", "2.bias"]);

        var partial = source.state_dict().Where(kv => kv.Key != "2.bias").ToDictionary(kv => kv.Key, kv => kv.Value);
        partial["extra.weight"] = torch.zeros(1);
        var act = () => target.load_state_dict(partial);
        var e = act.Should().Throw<StateDictException>().Which;
        e.Missing.Should().Equal("2.bias");
        e.Unexpected.Should().Equal("extra.weight");
        e.Message.Should().Contain("2.bias").And.Contain("extra.weight");

        using var other = Mlp(12);
        var bias = ((nn.Linear)other[2]).bias!.data<double>();
        var (m2, u2) = other.load_state_dict(partial, strict: false);
        m2.Should().Equal("2.bias");
        u2.Should().Equal("extra.weight");
        allclose(other.call(x).sub(((nn.Linear)other[2]).bias!), source.call(x).sub(((nn.Linear)source[2]).bias!), rtol: 0, atol: 1e-15)
            .Should().BeTrue("every key but the missing bias was loaded");
        ((nn.Linear)other[2]).bias!.data<double>().Should().Equal(bias, "a missing key leaves the parameter alone");
    }

    [Fact]
    public void Load_state_dict_reports_shape_mismatches_with_both_shapes()
    {
        using var scope = NewDisposeScope();
        using var model = Mlp(10);
        var dict = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        dict["0.weight"] = torch.zeros([4, 5], ScalarType.Float64);
        var act = () => model.load_state_dict(dict);
        var e = act.Should().Throw<StateDictException>().Which;
        e.Mismatched.Should().ContainSingle().Which.Should().Contain("0.weight").And.Contain("[4, 3]").And.Contain("[4, 5]");
    }

    [Fact]
    public void Module_to_converts_parameters_and_keeps_them_trainable()
    {
        using var model = new nn.Sequential(new nn.Linear(2, 3), new nn.LayerNorm(3), new nn.Embedding(4, 2));
        model.to(ScalarType.Float64);
        model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float64 && p.requires_grad && p.is_leaf);
        model.requires_grad_(false);
        model.parameters().Should().OnlyContain(p => !p.requires_grad);
    }
}
