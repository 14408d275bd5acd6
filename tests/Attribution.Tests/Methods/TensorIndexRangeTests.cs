using Attribution.Methods;

namespace Attribution.Tests.Methods;

/// <summary>
/// A layer method's TensorIndex past the layer's tensors is refused naming TensorIndex, the value and the positions that
/// hold tensors; it was refused naming "index" (ModuleIO.TensorAt's own parameter), no setting of any method.
/// </summary>
public sealed class TensorIndexRangeTests
{
    [Fact]
    public void A_tensor_index_past_the_layer_output_names_the_setting()
    {
        using var model = PowerOfSum.Classifier(1);
        foreach (IAttributor method in new IAttributor[] { new LayerConductance { Layer = "embeddings", TensorIndex = 5, Steps = 4 }, new Gradient { Layer = "embeddings", TensorIndex = 1 } })
        {
            var error = FluentActions.Invoking(() => method.Explain(model, "3 4")).Should().Throw<ArgumentOutOfRangeException>().Which;
            error.ParamName.Should().Be("TensorIndex", method.Name);
            error.Message.Should().StartWith("the layer's output has 1 item(s), with tensors at [0], and none at", method.Name);
            error.Message.Should().Contain("give a tensor index (a layer method's TensorIndex) that is one of those positions (e.g. 0)", method.Name);
        }
    }

    /// <summary>
    /// A user's own method asking for a negative index through the public <see cref="AttributionContext.Site"/> gets the
    /// same typed refusal; it was an IndexOutOfRangeException once the tap ran.
    /// </summary>
    [Fact]
    public void A_negative_tensor_index_from_a_users_own_site_is_refused_naming_the_setting()
    {
        using var model = PowerOfSum.Classifier(1);
        var error = FluentActions.Invoking(() => new NegativeSiteMethod().Explain(model, "3 4")).Should().Throw<ArgumentOutOfRangeException>().Which;
        error.ParamName.Should().Be("TensorIndex");
        error.ActualValue.Should().Be(-1);
        error.Message.Should().StartWith("the layer's output has 1 item(s), with tensors at [0], and none at -1");
    }

    private sealed class NegativeSiteMethod : TextAttributor
    {
        public override string Name => "negative-site";

        public override Signedness Signedness => Signedness.Signed;

        public override HiddenReduction Reduction => HiddenReduction.Sum;

        protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() => [];

        protected override MethodOutput Attribute(AttributionContext context) =>
            new(context.GradientAt(context.Site(null, LayerSide.Output, -1)).Gradient, PerDimension: true);
    }
}
