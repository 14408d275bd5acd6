using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// Infidelity and max-sensitivity against Captum's definitions recomputed in float64 in the test, with explicit
/// perturbations, on a model written here whose output and gradient are known in closed form:
/// F(e) = W₂·tanh(W₁·mean(e) + c₁) + c₂, ∂F_k/∂e_t = (1/n)·W₁ᵀ[(1 − h²) ⊙ W₂[k]]. Tolerance 1e-5 relative: the model
/// runs in float32. The infidelity tests here take the raw perturbations (MultiplyByInputs = false: a = I·Φ) on
/// Gradient × Input's map; the multiply-by-inputs form is checked in <see cref="InfidelityMultiplyByInputsTests"/>.
/// </summary>
public sealed class EmbeddingMetricsTests : IDisposable
{
    private const int Dim = 5, Hidden = 4, Target = 1;
    private const string Text = "a dull film";

    private readonly string root = Directory.CreateTempSubdirectory("attribution-embedding-metrics-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>The model (inputs of at most <paramref name="maxLength"/> tokens) and x, the word embeddings of <paramref name="text"/> cut to that length.</summary>
    /// <remarks>With <paramref name="zeroEmbeddings"/>, every word embedding is 0, so x is 0 and Gradient × Input's explanation of it is all zeros.</remarks>
    private (TextClassifier Classifier, double[][] X, Func<double[][], double> F, Func<double[][], double[]> Gradient) Setup(string text = Text, int maxLength = 16, bool zeroEmbeddings = false)
    {
        var (classifier, model, tokenizer) = MaskedMeanKit.Create(root, ["a", "dull", "film"], Dim, Hidden, seed: 23, scale: 0.8, maxLength: maxLength);
        if (zeroEmbeddings)
        {
            using var noGrad = no_grad();
            model.embedding.weight!.zero_();
        }

        var form = new MaskedMeanClosedForm(model);
        var x = form.Embeddings(tokenizer.Encode(text, maxLength: maxLength).Ids);
        double F(double[][] e) => form.Logits(e)[Target];
        double[] Gradient(double[][] e) => form.LogitGradient(e, Target);

        return (classifier, x, F, Gradient);
    }

    private static List<double[][]> Perturbations(int count, int tokens, double scale, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, tokens).Select(_ => Enumerable.Range(0, Dim).Select(_ => (random.NextDouble() - 0.5) * 2 * scale).ToArray()).ToArray()).ToList();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Infidelity_equals_captums_definition(bool normalize)
    {
        var (classifier, x, f, gradient) = Setup();
        using var _ = classifier;
        var explanation = new GradientXInput().Explain(classifier, Text, new ExplainOptions
        {
            Target = Attribution.Methods.Target.Class(Target), KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true },
        });
        var phi = x.Select(row => row.Zip(gradient(x), (v, g) => v * g).ToArray()).ToArray();
        var perturbations = Perturbations(6, x.Length, 0.3, seed: 4);
        var a = perturbations.Select(p => p.Select((row, t) => row.Select((v, d) => v * phi[t][d]).Sum()).Sum()).ToArray();
        var b = perturbations.Select(p => f(x) - f(x.Select((row, t) => row.Select((v, d) => v - p[t][d]).ToArray()).ToArray())).ToArray();
        double expected;
        if (normalize)
        {
            var beta = a.Zip(b).Sum(q => q.First * q.Second) / a.Sum(v => v * v);
            expected = a.Zip(b).Average(q => Math.Pow((beta * q.First) - q.Second, 2));
        }
        else
        {
            expected = a.Zip(b).Average(q => Math.Pow(q.First - q.Second, 2));
        }

        var result = Infidelity.Compute(classifier, explanation, new InfidelitySettings { Perturbations = perturbations, Normalize = normalize, MultiplyByInputs = false });
        result.Value.Should().BeApproximately(expected, 1e-5 * Math.Abs(expected) + 1e-12);
        result.Steps.Should().HaveCount(6);
    }

    [Fact]
    public void Infidelity_steps_write_their_figures_in_the_invariant_culture()
    {
        // The command writes each step's detail into its JSON: in a German culture it read "I.phi = 0,0123, …".
        var (classifier, x, _, _) = Setup();
        using var _ = classifier;
        var explanation = new GradientXInput().Explain(classifier, Text, new ExplainOptions
        {
            Target = Attribution.Methods.Target.Class(Target), KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true },
        });
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = TestCultures.DecimalComma;
        try
        {
            var steps = Infidelity.Compute(classifier, explanation, new InfidelitySettings { Perturbations = Perturbations(3, x.Length, 0.3, seed: 4), MultiplyByInputs = false }).Steps;
            foreach (var step in steps)
            {
                // Both figures read back as invariant numbers and give the step's value, (I.phi - (f(x) - f(x - I)))^2, to
                // their 6 significant digits (relative 1e-4 covers the rounding of each to 6 digits and the difference).
                var match = System.Text.RegularExpressions.Regex.Match(step.Detail, @"^I\.phi = (\S+), f\(x\) - f\(x - I\) = (\S+)$");
                match.Success.Should().BeTrue(step.Detail);
                var a = double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                var b = double.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                Math.Sqrt(step.Value).Should().BeApproximately(Math.Abs(a - b), 1e-4 * (Math.Abs(a) + Math.Abs(b)));
            }
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Infidelity_of_an_explanation_made_with_truncation_perturbs_the_kept_tokens()
    {
        // 9 words, 11 tokens; the model takes 6: [CLS] a dull film a [SEP]. Refused before as a shape mismatch (the
        // whole text was embedded), while the explanation is of the kept tokens.
        const string Long = "a dull film a dull film a dull film";
        var (classifier, x, f, gradient) = Setup(Long, maxLength: 6);
        using var _ = classifier;
        x.Should().HaveCount(6);
        var explanation = new GradientXInput().Explain(classifier, Long, new ExplainOptions
        {
            Target = Attribution.Methods.Target.Class(Target), KeepRawAttributions = true, Truncate = true, Salience = new SalienceOptions { KeepSpecialTokens = true },
        });
        var phi = x.Select(row => row.Zip(gradient(x), (v, g) => v * g).ToArray()).ToArray();
        var perturbations = Perturbations(5, x.Length, 0.3, seed: 8);
        var expected = perturbations.Average(p =>
        {
            var a = p.Select((row, t) => row.Select((v, d) => v * phi[t][d]).Sum()).Sum();
            var b = f(x) - f(x.Select((row, t) => row.Select((v, d) => v - p[t][d]).ToArray()).ToArray());
            return (a - b) * (a - b);
        });

        // The class's tolerance: the model runs in float32.
        Infidelity.Compute(classifier, explanation, new InfidelitySettings { Perturbations = perturbations, MultiplyByInputs = false }).Value
            .Should().BeApproximately(expected, 1e-5 * Math.Abs(expected) + 1e-12);
    }

    [Fact]
    public void Max_sensitivity_equals_the_definition_for_gradient_x_input()
    {
        var (classifier, x, _, gradient) = Setup();
        using var _ = classifier;
        double[][] Phi(double[][] e)
        {
            var g = gradient(e);
            return e.Select(row => row.Zip(g, (v, gd) => v * gd).ToArray()).ToArray();
        }

        double Norm(double[][] m) => Math.Sqrt(m.Sum(row => row.Sum(v => v * v)));
        var reference = Phi(x);
        var deltas = Perturbations(4, x.Length, 0.2, seed: 9);
        var expected = deltas.Max(delta =>
        {
            var moved = Phi(x.Select((row, t) => row.Select((v, d) => v + delta[t][d]).ToArray()).ToArray());
            return Norm(reference.Select((row, t) => row.Select((v, d) => v - moved[t][d]).ToArray()).ToArray()) / Norm(reference);
        });

        var result = MaxSensitivity.Compute(classifier, new GradientXInput(), Text, new ExplainOptions { Target = Attribution.Methods.Target.Class(Target) },
            new SensitivitySettings { Perturbations = deltas });
        result.Value.Should().BeApproximately(expected, 1e-5 * expected);
    }

    [Fact]
    public void Max_sensitivity_of_an_all_zero_explanation_is_the_absolute_change_as_in_captum()
    {
        // Captum divides by 1 where the explanation's norm is 0: max over δ of ‖Φ(x + δ)‖, here with x = 0.
        var (classifier, x, _, gradient) = Setup(zeroEmbeddings: true);
        using var _ = classifier;
        x.SelectMany(row => row).Should().OnlyContain(v => v == 0);
        double Norm(double[][] m) => Math.Sqrt(m.Sum(row => row.Sum(v => v * v)));
        var deltas = Perturbations(4, x.Length, 0.2, seed: 9);
        var expected = deltas.Max(delta =>
        {
            var g = gradient(delta);
            return Norm(delta.Select(row => row.Zip(g, (v, gd) => v * gd).ToArray()).ToArray());
        });

        var result = MaxSensitivity.Compute(classifier, new GradientXInput(), Text, new ExplainOptions { Target = Attribution.Methods.Target.Class(Target) },
            new SensitivitySettings { Perturbations = deltas });
        expected.Should().BeGreaterThan(0);
        result.Value.Should().BeApproximately(expected, 1e-5 * expected);
        result.Note.Should().Contain("all zeros");
    }

    [Fact]
    public void A_missing_text_is_refused_naming_text()
    {
        // It was refused naming "texts", which is no parameter of Compute.
        var (classifier, _, _, _) = Setup();
        using var _ = classifier;
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput(), " ")).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "text").WithMessage("text is empty or whitespace: there is nothing to explain*");
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput(), null!)).Should().Throw<ArgumentNullException>()
            .Where(e => e.ParamName == "text");
    }

    [Fact]
    public void A_perturbation_that_is_not_finite_is_refused_naming_where()
    {
        // Max-sensitivity reported the other sample's change (LINQ's Max passes over NaN) and infidelity blamed the model
        // ("the perturbation is too large, or the weights hold NaN") for a NaN the caller gave.
        var (classifier, x, _, _) = Setup();
        using var _ = classifier;
        var fine = Perturbations(1, x.Length, 0.1, seed: 3)[0];
        var bad = Perturbations(1, x.Length, 0.1, seed: 5)[0];
        bad[2][3] = double.NaN;
        var options = new ExplainOptions { Target = Attribution.Methods.Target.Class(Target) };
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput(), Text, options, new SensitivitySettings { Perturbations = [fine, bad] }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "settings")
            .WithMessage("SensitivitySettings.Perturbations[1][2][3] is NaN: every perturbation value must be finite*");
        bad[2][3] = double.PositiveInfinity;
        var explanation = new GradientXInput().Explain(classifier, Text, options with
        {
            KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true },
        });
        FluentActions.Invoking(() => Infidelity.Compute(classifier, explanation, new InfidelitySettings { Perturbations = [fine, bad] }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "settings")
            .WithMessage("InfidelitySettings.Perturbations[1][2][3] is Infinity: every perturbation value must be finite*");
        FluentActions.Invoking(() => Infidelity.Compute(classifier, explanation, new InfidelitySettings { Perturbations = [null!] }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "settings").WithMessage("InfidelitySettings.Perturbations[0] is null*");
    }

    [Fact]
    public void Max_sensitivity_refuses_a_perturbation_laid_out_otherwise_than_tokens_by_hidden()
    {
        // [CLS] a dull film [SEP]: 5 tokens of 5 dimensions. One row of all 25 values was reshaped silently (only the
        // count was checked); infidelity refuses it.
        var (classifier, x, _, _) = Setup();
        using var _ = classifier;
        x.Should().HaveCount(5);
        var flat = new[] { Perturbations(1, x.Length, 0.1, seed: 3)[0].SelectMany(row => row).ToArray() };
        flat[0].Should().HaveCount(25);
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput(), Text, new ExplainOptions { Target = Attribution.Methods.Target.Class(Target) },
                new SensitivitySettings { Perturbations = [flat] }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "settings")
            .WithMessage("SensitivitySettings.Perturbations[0] is not [5][5]*");
    }

    [Fact]
    public void Max_sensitivity_does_not_pass_over_a_perturbed_explanation_that_is_not_a_number()
    {
        // δ = float32's largest value is finite in every value (1e39, infinite in float32, is refused up front now:
        // PerturbationScaleTests), but the model's sum over the tokens of x + δ overflows float32 to ∞, and the
        // explanation at that point is not finite. The maximum passed over that sample and reported the other one's change.
        var (classifier, x, _, _) = Setup();
        using var _ = classifier;
        var huge = x.Select(row => row.Select(_ => (double)float.MaxValue).ToArray()).ToArray();
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput(), Text, new ExplainOptions { Target = Attribution.Methods.Target.Class(Target) },
                new SensitivitySettings { Perturbations = [Perturbations(1, x.Length, 0.1, seed: 3)[0], huge] }))
            .Should().Throw<NonFiniteValueException>().WithMessage("*perturbed embedding 2*");
    }

    [Fact]
    public void Infidelity_refuses_an_explanation_whose_attributions_are_not_finite()
    {
        // A NaN attribution made I·Φ, and so the value, NaN with no note.
        var (classifier, _, _, _) = Setup();
        using var _ = classifier;
        var explanation = new GradientXInput().Explain(classifier, Text, new ExplainOptions
        {
            Target = Attribution.Methods.Target.Class(Target), KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true },
        });
        var broken = explanation with
        {
            RawAttributions = [.. explanation.RawAttributions!.Select((row, t) => t == 1 ? row.SetItem(4, float.NaN) : row)],
        };
        FluentActions.Invoking(() => Infidelity.Compute(classifier, broken)).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "explanation").WithMessage("infidelity needs finite attributions, but the explanation's attribution at token 1, dimension 4 is NaN*");
    }

    [Fact]
    public void Refusals_say_what_to_change()
    {
        var (classifier, _, _, _) = Setup();
        using var _ = classifier;
        var plain = new GradientXInput().Explain(classifier, Text);
        FluentActions.Invoking(() => Infidelity.Compute(classifier, plain)).Should().Throw<ArgumentException>().WithMessage("*KeepRawAttributions*");
        var noSpecial = new GradientXInput().Explain(classifier, Text, new ExplainOptions { KeepRawAttributions = true });
        FluentActions.Invoking(() => Infidelity.Compute(classifier, noSpecial)).Should().Throw<ArgumentException>().WithMessage("*KeepSpecialTokens*");
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new Lime(), Text)).Should().Throw<ArgumentException>().WithMessage("*cannot do*");
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput(), Text, settings: new SensitivitySettings { Radius = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Radius");
        FluentActions.Invoking(() => Infidelity.Compute(classifier, plain, new InfidelitySettings { Samples = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Samples");
        FluentActions.Invoking(() => Infidelity.Compute(classifier, plain, new InfidelitySettings { Stdev = double.NaN }))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Stdev");
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput(), Text, settings: new SensitivitySettings { Samples = SensitivitySettings.MaxSamples + 1 }))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Samples");
        FluentActions.Invoking(() => MaxSensitivity.Compute(classifier, new GradientXInput { Layer = "encoder" }, Text)).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "attributor").WithMessage("max-sensitivity perturbs the word embeddings, but gradient-x-input attributes to 'encoder': attribute to the word embeddings*");

        // An empty list of perturbations was refused with the shape each must have, which it did not lack.
        var kept = new GradientXInput().Explain(classifier, Text, new ExplainOptions { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } });
        FluentActions.Invoking(() => Infidelity.Compute(classifier, kept, new InfidelitySettings { Perturbations = [] }))
            .Should().Throw<ArgumentException>().WithParameterName("settings").WithMessage("InfidelitySettings.Perturbations is empty*");
    }
}
