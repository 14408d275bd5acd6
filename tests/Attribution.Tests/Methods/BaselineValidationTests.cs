using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// An unk or mask baseline on a model whose tokenizer has no such token (the ids tokenizer of the random tiny BERT has
/// neither) is refused before any forward pass, as a settings error naming the setting, whether the path method runs
/// alone or after another method in one call; a null baseline likewise.
/// </summary>
public sealed class BaselineValidationTests
{
    private static readonly string[] Texts = ["5 9 12", "20 21"];

    public static TheoryData<string> Refused() => ["ig-unk", "ig-mask", "conductance-mask", "neuron-conductance-unk", "gradient-shap-mask", "ig-null", "smoothgrad-ig-unk"];

    private static (IAttributor Method, string Setting) Method(string name) => name switch
    {
        "ig-unk" => (new IntegratedGradients { Steps = 4, Baseline = Baseline.Unk }, "Baseline"),
        "ig-mask" => (new IntegratedGradients { Baseline = Baseline.Mask }, "Baseline"),
        "conductance-mask" => (new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 4, Baseline = Baseline.Mask }, "Baseline"),
        "neuron-conductance-unk" => (new NeuronConductance { Layer = "bert.encoder.layer.0", Position = 0, Unit = 1, Steps = 4, Baseline = Baseline.Unk }, "Baseline"),
        "gradient-shap-mask" => (new GradientShap { Baselines = [Baseline.Pad, Baseline.Mask] }, "Baselines"),
        "ig-null" => (new IntegratedGradients { Steps = 4, Baseline = null! }, "Baseline"),
        _ => (new NoiseTunnel(new IntegratedGradients { Steps = 4, Baseline = Baseline.Unk }), "Baseline"),
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_baseline_the_model_cannot_give_is_refused_before_any_forward_pass(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        using var forwards = new ForwardCounter(model);
        var (method, setting) = Method(name);

        var alone = FluentActions.Invoking(() => method.Explain(model, Texts)).Should().Throw<ArgumentException>().Which;
        alone.ParamName.Should().Be(setting);
        if (name != "ig-null")
        {
            alone.Message.Should().MatchRegex("random-tiny-bert's vocabulary has no (unknown|mask) token, which an? (unk|mask) baseline needs: ").And.Contain("Baseline.Pad");
        }

        FluentActions.Invoking(() => MethodRunner.AttributeAll(model, Texts, [new Gradient(), method]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be(setting);
        forwards.Calls.Should().Be(0, "the baseline is checked with the settings, before the first batch runs");

        // After a method that is not a TextAttributor (it runs its whole call at once): it ran every text before the
        // later method's settings were checked. Now every method is checked before any runs.
        FluentActions.Invoking(() => MethodRunner.AttributeAll(model, Texts, [new Occlusion { Perturbation = AbsentFeature.Baseline }, method]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be(setting);
        FluentActions.Invoking(() => MethodRunner.AttributeClasses(model, Texts, [new Occlusion { Perturbation = AbsentFeature.Baseline }, method], [0, 1]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be(setting);
        forwards.Calls.Should().Be(0, "no method runs before every method is checked");
    }

    [Fact]
    public void The_pad_and_zero_baselines_and_ids_are_accepted()
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        foreach (var baseline in new[] { Baseline.Pad, Baseline.Zero, Baseline.FromIds([0, 0]) })
        {
            new IntegratedGradients { Steps = 4, Baseline = baseline }.Explain(model, "5 9")
                .Scores.Should().HaveCount(2).And.OnlyContain(s => double.IsFinite(s));
        }
    }

    /// <summary>A negative baseline id reached the model's embedding midway through a call, whose error named the model's input.</summary>
    [Fact]
    public void A_negative_baseline_id_is_refused_when_the_baseline_is_made()
    {
        var act = () => Baseline.FromIds([101, -1, 102]);
        var error = act.Should().Throw<ArgumentOutOfRangeException>().Which;
        error.ParamName.Should().Be("ids");
        error.Message.Should().Contain("baseline id 1 is -1");
        Baseline.FromIds([101, 0, 102]).Ids.Should().Equal(101L, 0L, 102L);
    }

    /// <summary>
    /// A custom baseline id at or past the vocabulary (the tiny BERT's ids tokenizer has 50 ids, 0 to 49, and adds no special tokens: "5 9" is two tokens) reached the model's
    /// embedding at the baseline's forward pass, whose error named the model's input; now the settings check refuses it
    /// before any forward pass, naming the setting, the id, the vocabulary size and the fix. 49, the last id, is accepted.
    /// </summary>
    [Theory]
    [InlineData("ig")]
    [InlineData("conductance")]
    [InlineData("gradient-shap")]
    public void A_custom_baseline_id_beyond_the_vocabulary_is_refused_before_any_forward_pass(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        using var forwards = new ForwardCounter(model);
        var beyond = Baseline.FromIds([0, 50]);
        var (method, setting) = name switch
        {
            "ig" => ((IAttributor)new IntegratedGradients { Steps = 4, Baseline = beyond }, "Baseline"),
            "conductance" => (new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 4, Baseline = beyond }, "Baseline"),
            _ => (new GradientShap { Baselines = [Baseline.Pad, beyond] }, "Baselines"),
        };

        var error = FluentActions.Invoking(() => method.Explain(model, "5 9")).Should().Throw<ArgumentOutOfRangeException>().Which;
        error.ParamName.Should().Be(setting);
        error.ActualValue.Should().Be(50L);
        error.Message.Should().Contain("custom baseline's id 1 is 50").And.Contain("vocabulary of 50 ids (0 to 49)")
            .And.Contain("Baseline.FromIds the tokenizer's ids (e.g. its pad id, 0)");
        forwards.Calls.Should().Be(0, "the baseline is checked with the settings, before the first batch runs");

        new IntegratedGradients { Steps = 4, Baseline = Baseline.FromIds([0, 49]) }.Explain(model, "5 9")
            .Scores.Should().HaveCount(2).And.OnlyContain(s => double.IsFinite(s));
    }

    /// <summary>
    /// Custom baseline ids whose count is not a text's token count were found at the batch's baseline pass, after the
    /// batch's first forward pass (and, in one call with other methods, after their work), and the error named "baseline"
    /// rather than the setting. Now the call refuses them once the texts are tokenized, before any forward pass, naming the
    /// setting, the text, both lengths and the fix. The ids tokenizer adds no special tokens: "5 9 12" is 3 tokens and
    /// "20 21" 2, so three ids fit texts[0] and not texts[1].
    /// </summary>
    [Theory]
    [InlineData("ig")]
    [InlineData("conductance")]
    [InlineData("gradient-shap")]
    [InlineData("smoothgrad-ig")]
    public void A_custom_baseline_of_another_length_than_a_text_is_refused_before_any_forward_pass(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        using var forwards = new ForwardCounter(model);
        var three = Baseline.FromIds([0, 0, 0]);
        var (method, setting) = name switch
        {
            "ig" => ((IAttributor)new IntegratedGradients { Steps = 4, Baseline = three }, "Baseline"),
            "conductance" => (new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 4, Baseline = three }, "Baseline"),
            "gradient-shap" => (new GradientShap { Baselines = [Baseline.Pad, three] }, "Baselines"),
            _ => (new NoiseTunnel(new IntegratedGradients { Steps = 4, Baseline = three }), "Baseline"),
        };

        var alone = FluentActions.Invoking(() => method.Explain(model, Texts)).Should().Throw<ArgumentException>().Which;
        alone.ParamName.Should().Be(setting);
        forwards.Calls.Should().Be(0, "the texts' lengths are known once they are tokenized, before the first batch runs");
        alone.Message.Should().Contain("custom baseline has 3 ids (Baseline.FromIds) but texts[1] (\"20 21\") has 2 tokens, special tokens included")
            .And.Contain("give one id per token of the text");

        FluentActions.Invoking(() => MethodRunner.AttributeAll(model, Texts, [new Gradient(), method]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be(setting);
        forwards.Calls.Should().Be(0, "not after another method's pass either");
        FluentActions.Invoking(() => MethodRunner.AttributeAll(model, Texts, [new Occlusion { Perturbation = AbsentFeature.Baseline }, method]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be(setting);
        FluentActions.Invoking(() => MethodRunner.AttributeClasses(model, Texts, [new Occlusion { Perturbation = AbsentFeature.Baseline }, method], [0, 1]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be(setting);
        forwards.Calls.Should().Be(0, "nor after a method that is not a TextAttributor, which runs its whole call at once");

        method.Explain(model, Texts[0]).Scores.Should().HaveCount(3).And.OnlyContain(s => double.IsFinite(s));

        // The first text the one that differs ("20 21", 2 tokens, before "5 9 12"): found there too, before any pass.
        var before = forwards.Calls;
        var first = FluentActions.Invoking(() => method.Explain(model, [Texts[1], Texts[0]])).Should().Throw<ArgumentException>().Which;
        (first.ParamName, forwards.Calls - before).Should().Be((setting, 0));
        first.Message.Should().Contain("but texts[0] (\"20 21\") has 2 tokens");
    }

    /// <summary>
    /// Counterfactual comparison predicted every text (a forward pass each) before the explanations checked the methods'
    /// settings; now the settings are checked first. A null method failed with a NullReferenceException.
    /// </summary>
    [Fact]
    public void Counterfactuals_refuse_a_baseline_the_model_cannot_give_before_any_forward_pass()
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        using var forwards = new ForwardCounter(model);
        FluentActions.Invoking(() => Attribution.Evaluation.Counterfactuals.Compare(model, "5 9", ["5 10"], [new Gradient(), new IntegratedGradients { Steps = 4, Baseline = Baseline.Unk }]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "Baseline").WithMessage("random-tiny-bert's vocabulary has no unknown token*");
        forwards.Calls.Should().Be(0, "the settings are checked before the predictions");
        FluentActions.Invoking(() => Attribution.Evaluation.Counterfactuals.Compare(model, "5 9", ["5 10"], [new Gradient(), null!]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "methods").WithMessage("methods[1] is null*");
    }

    /// <summary>
    /// Max-sensitivity builds its own context and recomputes the method's explanation: a custom baseline of another
    /// length than the text was found only inside its first forward pass. Now it is refused as the method refuses it,
    /// naming the setting, before any forward pass ("20 21" is 2 tokens with the ids tokenizer; the baseline has 3 ids).
    /// </summary>
    [Fact]
    public void Max_sensitivity_refuses_a_custom_baseline_of_another_length_before_any_forward_pass()
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        using var forwards = new ForwardCounter(model);
        var method = new IntegratedGradients { Steps = 4, Baseline = Baseline.FromIds([0, 0, 0]) };
        FluentActions.Invoking(() => Attribution.Evaluation.MaxSensitivity.Compute(model, method, "20 21"))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "Baseline")
            .WithMessage("the custom baseline has 3 ids (Baseline.FromIds) but texts[0] (\"20 21\") has 2 tokens, special tokens included*");
        forwards.Calls.Should().Be(0, "the baseline is checked once the text is tokenized, before the reference explanation's pass");
    }

    /// <summary>
    /// A custom baseline activation of the wrong shape is known only at the layer's pass (its shape is the layer's), but
    /// its error named "baseline" rather than the setting; now it names Baseline (Gradient SHAP: Baselines).
    /// </summary>
    [Theory]
    [InlineData("ig")]
    [InlineData("gradient-shap")]
    public void A_custom_baseline_activation_of_the_wrong_shape_names_the_setting(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        using var scope = TorchSharp.torch.NewDisposeScope();
        var wrong = Baseline.FromActivation(TorchSharp.torch.zeros(7, 3));
        var (method, setting) = TakingBaseline(name, wrong);

        var error = FluentActions.Invoking(() => method.Explain(model, "5 9")).Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be(setting);
        error.Message.Should().Contain("custom baseline activation (Baseline.FromActivation) has shape [7, 3]");
    }

    /// <summary>
    /// A custom baseline activation whose tensor the caller disposed before the call (the baseline keeps only a
    /// reference) is refused before any forward pass naming the setting; it failed at the baseline's pass, after the
    /// input's, as TorchSharp's "Tensor invalid -- empty handle" (an InvalidOperationException naming nothing).
    /// </summary>
    [Theory]
    [InlineData("ig")]
    [InlineData("gradient-shap")]
    public void A_custom_baseline_activation_disposed_before_the_call_is_refused_naming_the_setting(string name)
    {
        var (model, module) = PowerOfSum.Counted(1);
        using (model)
        {
            // PowerOfSum's embedding output for one token is [1, 3]: the right shape, so only the disposal is wrong.
            var activation = TorchSharp.torch.zeros(1, 3);
            var baseline = Baseline.FromActivation(activation);
            activation.Dispose();
            var (method, setting) = TakingBaseline(name, baseline);

            var error = FluentActions.Invoking(() => method.Explain(model, "3")).Should().Throw<ArgumentException>().Which;
            error.ParamName.Should().Be(setting);
            error.Message.Should().StartWith("the custom baseline activation (Baseline.FromActivation) was disposed before this call");
            module.ForwardCalls.Should().Be(0, "the baseline is checked with the other settings, before the first forward pass");
        }
    }

    /// <summary>
    /// A null among Gradient SHAP's baselines is refused naming its index; it was refused as if the list were empty
    /// ("needs at least one baseline"), though the list held other baselines.
    /// </summary>
    [Fact]
    public void A_null_among_gradient_shap_baselines_is_named_by_its_index()
    {
        using var model = PowerOfSum.Classifier(1);
        var error = FluentActions.Invoking(() => new GradientShap { Baselines = [Baseline.Pad, null!, Baseline.Zero] }.Explain(model, "3 4"))
            .Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("Baselines");
        error.Message.Should().StartWith("Baselines[1] is null (of 3 baselines): give a baseline at every place");

        FluentActions.Invoking(() => new GradientShap { Baselines = [] }.Explain(model, "3 4")).Should().Throw<ArgumentException>()
            .WithMessage("Gradient SHAP needs at least one baseline to draw from*").Which.ParamName.Should().Be("Baselines");
    }

    /// <summary>Integrated Gradients with <paramref name="baseline"/> ("ig"), or Gradient SHAP drawing from it and the pad baseline; and the setting that holds it.</summary>
    private static (IAttributor Method, string Setting) TakingBaseline(string name, Baseline baseline) => name == "ig"
        ? (new IntegratedGradients { Steps = 4, Baseline = baseline }, "Baseline")
        : (new GradientShap { Baselines = [Baseline.Pad, baseline] }, "Baselines");
}
