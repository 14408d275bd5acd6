using Attribution.Salience;

namespace Attribution.Tests.Salience;

public class ExplanationGroupTests
{
    [Fact]
    public void From_methods_transposes_method_by_text_results()
    {
        var texts = new[] { "good film", "bad plot", "fine" };
        var ig = texts.Select(t => SalienceSamples.Make(t)).ToList();
        var grad = texts.Select(t => SalienceSamples.Make(t, method: "gradient")).ToList();
        var groups = ExplanationGroup.FromMethods([ig, grad]);
        groups.Select(g => g.Text).Should().Equal(texts);
        groups.Should().AllSatisfy(g => g.Explanations.Select(e => e.Method).Should().Equal("integrated-gradients", "gradient"));
    }

    [Fact]
    public void By_text_keeps_first_appearance_order()
    {
        var a = SalienceSamples.Make("b text");
        var b = SalienceSamples.Make("a text");
        var c = SalienceSamples.Make("b text", method: "gradient");
        var groups = ExplanationGroup.ByText([a, b, c]);
        groups.Select(g => g.Text).Should().Equal("b text", "a text");
        groups[0].Explanations.Select(e => e.Method).Should().Equal("integrated-gradients", "gradient");
    }

    [Fact]
    public void Mismatched_inputs_are_refused()
    {
        var a = SalienceSamples.Make("good film");
        var other = () => new ExplanationGroup("bad plot", [a]);
        other.Should().Throw<ArgumentException>().WithMessage("*explains another text*");
        var empty = () => new ExplanationGroup("good film", []);
        empty.Should().Throw<ArgumentException>();
        var ragged = () => ExplanationGroup.FromMethods([[a, a], [a]]);
        ragged.Should().Throw<ArgumentException>().WithMessage("*method 1 has 1 results but method 0 has 2*");
        var differentTexts = () => ExplanationGroup.FromMethods([[a], [SalienceSamples.Make("bad plot", method: "gradient")]]);
        differentTexts.Should().Throw<ArgumentException>()
            .WithMessage("resultsByMethod[1][0] (gradient) explains another text than resultsByMethod[0][0] (integrated-gradients)*")
            .Which.ParamName.Should().Be("resultsByMethod");
        var nullMember = () => ExplanationGroup.ByText([a, null!]);
        nullMember.Should().Throw<ArgumentNullException>().WithParameterName("explanations");
        ExplanationGroup.FromMethods([]).Should().BeEmpty();
    }

    /// <summary>
    /// FromMethods refused explanations of another text naming <c>explanations</c> (the constructor's parameter, with its
    /// index within the group), and a null method list failed with a NullReferenceException. Both now name
    /// <c>resultsByMethod</c> and the [m][t] index.
    /// </summary>
    [Fact]
    public void From_methods_names_its_own_argument_and_the_method_and_text_index()
    {
        var a = SalienceSamples.Make("good film");
        var b = SalienceSamples.Make("bad plot");
        FluentActions.Invoking(() => ExplanationGroup.FromMethods([[a, b], null!])).Should().Throw<ArgumentNullException>()
            .WithMessage("resultsByMethod[1] is null*").Which.ParamName.Should().Be("resultsByMethod");
        FluentActions.Invoking(() => ExplanationGroup.FromMethods([null!, [a, b]])).Should().Throw<ArgumentNullException>()
            .WithMessage("resultsByMethod[0] is null*").Which.ParamName.Should().Be("resultsByMethod");
        FluentActions.Invoking(() => ExplanationGroup.FromMethods([[a, b], [a, null!]])).Should().Throw<ArgumentNullException>()
            .WithMessage("resultsByMethod[1][1] is null*").Which.ParamName.Should().Be("resultsByMethod");
        FluentActions.Invoking(() => ExplanationGroup.FromMethods([[null!, b], [a, b]])).Should().Throw<ArgumentNullException>()
            .WithMessage("resultsByMethod[0][0] is null*").Which.ParamName.Should().Be("resultsByMethod");
        var malformed = b with { Scores = [1.0] };
        FluentActions.Invoking(() => ExplanationGroup.FromMethods([[a, b], [a, malformed]])).Should().Throw<ArgumentException>()
            .WithMessage($"resultsByMethod[1][1].Scores has 1 entries for {b.Tokens.Length} tokens*").Which.ParamName.Should().Be("resultsByMethod");
        FluentActions.Invoking(() => ExplanationGroup.FromMethods([[a, b], [a, a]])).Should().Throw<ArgumentException>()
            .WithMessage("resultsByMethod[1][1] (integrated-gradients) explains another text than resultsByMethod[0][1]*")
            .Which.ParamName.Should().Be("resultsByMethod");
    }

    [Fact]
    public void Colours_clamp_and_treat_non_finite_scores_as_zero()
    {
        SalienceColors.Background(5, 1, signed: true).Should().Be(SalienceColors.Green);
        SalienceColors.Background(-5, 1, signed: true).Should().Be(SalienceColors.Red);
        SalienceColors.Background(0, 1, signed: true).Should().Be(SalienceColors.White);
        SalienceColors.Background(double.NaN, 1, signed: true).Should().Be(SalienceColors.White);
        SalienceColors.Background(1, 0, signed: false).Should().Be(SalienceColors.White, "a row of zeros is white");
        SalienceColors.Background(-1, 1, signed: false).Should().Be(SalienceColors.Purple, "unsigned colours use the magnitude");
        SalienceColors.Scale([0.5, -2, double.NaN, double.PositiveInfinity]).Should().Be(2);
        SalienceColors.Foreground(SalienceColors.Purple).Should().Be(SalienceColors.White);
        SalienceColors.Foreground(SalienceColors.White).Should().NotBe(SalienceColors.White);
        SalienceColors.Green.ToHex().Should().Be("#1a9850");
    }

    /// <summary>
    /// Model outputs a renderer cannot show are refused when the group is made, naming the field: before, the HTML report
    /// failed with an IndexOutOfRangeException reading the target's logit, the console and Markdown renderers wrote
    /// "class 2, p = ?" without a word, and unset logits were a NullReferenceException in all three.
    /// </summary>
    [Theory]
    [InlineData("target", "explanations[0].Target is 2, not a class of its 2 logits (0..1)*")]
    [InlineData("negative target", "explanations[0].Target is -1, not a class of its 2 logits (0..1)*")]
    [InlineData("no logits", "explanations[0].Logits is empty*")]
    [InlineData("unset logits", "explanations[0].Logits is not set*")]
    [InlineData("one probability", "explanations[0].Probabilities has 1 entries for 2 logits: a single_label_classification head has one per logit*")]
    public void Outputs_a_renderer_cannot_show_are_refused_naming_the_field(string fault, string message)
    {
        var good = SalienceSamples.Make("good film");
        var bad = fault switch
        {
            "target" => good with { Target = 2 },
            "negative target" => good with { Target = -1 },
            "no logits" => good with { Logits = [], Probabilities = [] },
            "unset logits" => good with { Logits = default },
            _ => good with { Probabilities = [0.5] },
        };

        var byText = () => ExplanationGroup.ByText([bad]);
        byText.Should().Throw<ArgumentException>().WithMessage(message).Which.ParamName.Should().Be("explanations");
        var byMethod = () => ExplanationGroup.FromMethods([[good], [bad]]);
        byMethod.Should().Throw<ArgumentException>().WithMessage(message.Replace("explanations[0]", "resultsByMethod[1][0]")).Which.ParamName.Should().Be("resultsByMethod");

        // The same result as each renderer takes it: the refusal, not an index error or a "p = ?" line.
        var document = ExplanationDocument.For([bad]);
        FluentActions.Invoking(() => HtmlReport.Render(document)).Should().Throw<ArgumentException>().WithMessage(message);
        FluentActions.Invoking(() => MarkdownRenderer.Render(document)).Should().Throw<ArgumentException>().WithMessage(message);
        FluentActions.Invoking(() => ConsoleRenderer.Render(ExplanationGroup.ByText([bad]))).Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void A_regression_result_without_probabilities_makes_a_group()
    {
        var regression = SalienceSamples.Make("good film", target: 0, logits: [0.31]) with { Probabilities = [], Head = Attribution.Models.OutputHead.Regression };

        ExplanationGroup.ByText([regression]).Single().Explanations.Should().ContainSingle();
        HtmlReport.Render(ExplanationGroup.ByText([regression]), "t").Should().Contain("score = 0.3100");
    }

    /// <summary>
    /// A classifier's result without probabilities (attributions made elsewhere, the model's probabilities unknown) still
    /// renders, its likelihood shown as "p = ?": only some-but-not-one-per-logit probabilities cannot be matched to classes.
    /// </summary>
    [Fact]
    public void A_classifier_result_without_probabilities_renders_them_as_unknown()
    {
        var unknown = SalienceSamples.Make("good film") with { Probabilities = [] };

        ExplanationGroup.ByText([unknown]).Single().Explanations.Should().ContainSingle();
        var document = ExplanationDocument.For([unknown]);
        HtmlReport.Render(document).Should().Contain("p = ?");
        MarkdownRenderer.Render(document).Should().Contain("p = ?");
        ConsoleRenderer.Render(ExplanationGroup.ByText([unknown])).Should().Contain("p = ?");
    }
}
