using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// <see cref="NoiseTunnel"/>'s contract around its formula (which <see cref="NoiseTunnelFormulaTests"/> checks):
/// what it wraps, which settings it refuses, what it records, and that an explicit zero noise gives back the inner
/// method exactly.
/// </summary>
public sealed class NoiseTunnelSettingsTests : IDisposable
{
    private const string Text = "a dull film";
    private readonly string root = Directory.CreateTempSubdirectory("attribution-noise-settings-").FullName;
    private readonly TextClassifier classifier;

    public NoiseTunnelSettingsTests()
    {
        (classifier, _, _) = MaskedMeanKit.Create(root, ["a", "dull", "film"], dim: 4, hidden: 3, seed: 5, scale: 0.9, maxLength: 16);
    }

    public void Dispose()
    {
        classifier.Dispose();
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void Only_noise_tunnelable_text_attributors_are_wrapped()
    {
        ((Action)(() => _ = new NoiseTunnel(null!))).Should().Throw<ArgumentNullException>();
        ((Action)(() => _ = new NoiseTunnel(new Lime()))).Should().Throw<ArgumentException>()
            .WithMessage("lime cannot be wrapped in a noise tunnel*").Which.ParamName.Should().Be("inner");
        ((Action)(() => _ = new NoiseTunnel(new LrpEpsilon()))).Should().Throw<ArgumentException>();
        var inner = new GradientXInput();
        new NoiseTunnel(inner).Inner.Should().BeSameAs(inner);
    }

    [Fact]
    public void Name_kind_signedness_reduction_and_settings_follow_the_type_and_the_inner_method()
    {
        var inner = new GradientXInput();
        var smooth = new NoiseTunnel(inner) { Samples = 3, Seed = 9 };
        smooth.Name.Should().Be("smoothgrad");
        smooth.Kind.Should().Be(MethodKind.NoiseTunnel);
        smooth.Signedness.Should().Be(Signedness.Signed, "SmoothGrad keeps the inner method's sign");
        smooth.Reduction.Should().Be(inner.Reduction);
        new NoiseTunnel(new Gradient()).Signedness.Should().Be(Signedness.Unsigned);
        new NoiseTunnel(new Gradient { Reduce = HiddenReduction.L1 }).Reduction.Should().Be(HiddenReduction.L1);
        new NoiseTunnel(inner) { Type = NoiseTunnelType.SmoothGradSquared }.Signedness.Should().Be(Signedness.Unsigned);
        new NoiseTunnel(inner) { Type = NoiseTunnelType.VarGrad }.Signedness.Should().Be(Signedness.Unsigned);

        KeyValuePair<string, string>[] expected =
        [
            new("inner", "gradient-x-input"),
            .. inner.Settings.Select(s => new KeyValuePair<string, string>("inner." + s.Key, s.Value)),
            new("type", "smoothgrad"),
            new("samples", "3"),
            new("stdev", "0.15 x range"),
            new("seed", "9"),
        ];
        smooth.Settings.Should().Equal(expected);
        var squared = new NoiseTunnel(inner) { Type = NoiseTunnelType.SmoothGradSquared, Stdev = 0.25 }.Settings;
        squared.Should().Contain(new KeyValuePair<string, string>("type", "smoothgrad_sq")).And.Contain(new KeyValuePair<string, string>("stdev", "0.25"));
        var vargrad = new NoiseTunnel(inner) { Type = NoiseTunnelType.VarGrad, NoiseLevel = 0.5 }.Settings;
        vargrad.Should().Contain(new KeyValuePair<string, string>("type", "vargrad")).And.Contain(new KeyValuePair<string, string>("stdev", "0.5 x range"));
    }

    [Fact]
    public void Bad_settings_are_refused_before_any_work()
    {
        var inner = new GradientXInput();
        (NoiseTunnel Tunnel, string Parameter)[] bad =
        [
            (new NoiseTunnel(inner) { Samples = 0 }, "Samples"),
            (new NoiseTunnel(inner) { Samples = NoiseTunnel.MaxSamples + 1 }, "Samples"),
            (new NoiseTunnel(inner) { Stdev = -0.1 }, "Stdev"),
            (new NoiseTunnel(inner) { Stdev = double.NaN }, "Stdev"),
            (new NoiseTunnel(inner) { Stdev = double.PositiveInfinity }, "Stdev"),
            (new NoiseTunnel(inner) { NoiseLevel = -0.1 }, "NoiseLevel"),
            (new NoiseTunnel(inner) { NoiseLevel = double.NaN }, "NoiseLevel"),
            (new NoiseTunnel(inner) { NoiseLevel = double.PositiveInfinity }, "NoiseLevel"),
        ];
        foreach (var (tunnel, parameter) in bad)
        {
            var act = () => tunnel.Attribute(classifier, [Text]);
            act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(parameter);
        }

        // The bounds themselves are allowed: a cancelled call with MaxSamples gets past validation and stops there.
        var cancelled = new AttributionOptions { Cancellation = new CancellationToken(canceled: true) };
        var atMax = () => new NoiseTunnel(inner) { Samples = NoiseTunnel.MaxSamples }.Attribute(classifier, [Text], cancelled);
        atMax.Should().Throw<OperationCanceledException>();
        new NoiseTunnel(inner) { Samples = 1, Stdev = 0, NoiseLevel = 0 }.Attribute(classifier, [Text]).Should().ContainSingle();
    }

    [Fact]
    public void Zero_noise_gives_back_the_inner_method()
    {
        // σ = 0 (explicitly, or a noise level of 0): every sample is the unperturbed input, so SmoothGrad is the inner
        // method's result, SmoothGrad² its square and VarGrad zero, per dimension before the sum over dimensions.
        var inner = new GradientXInput();
        var options = new AttributionOptions { Target = Target.Class(1), KeepRawAttributions = true };
        var plain = inner.Attribute(classifier, [Text], options)[0];
        var smooth = new NoiseTunnel(inner) { Samples = 3, Stdev = 0 }.Attribute(classifier, [Text], options)[0];
        smooth.Scores.Should().Equal(plain.Scores, (a, e) => Math.Abs(a - e) <= 1e-6 * (1 + Math.Abs(e)));
        var level = new NoiseTunnel(inner) { Samples = 2, NoiseLevel = 0 }.Attribute(classifier, [Text], options)[0];
        level.Scores.Should().Equal(plain.Scores, (a, e) => Math.Abs(a - e) <= 1e-6 * (1 + Math.Abs(e)));

        var squared = new NoiseTunnel(inner) { Samples = 3, Stdev = 0, Type = NoiseTunnelType.SmoothGradSquared }.Attribute(classifier, [Text], options)[0];
        var expectedSquares = plain.RawAttributions!.Select(row => row.Sum(v => (double)v * v)).ToArray();
        squared.Scores.Should().Equal(expectedSquares, (a, e) => Math.Abs(a - e) <= 1e-6 * (1 + Math.Abs(e)));

        var variance = new NoiseTunnel(inner) { Samples = 3, Stdev = 0, Type = NoiseTunnelType.VarGrad }.Attribute(classifier, [Text], options)[0];
        variance.Scores.Should().OnlyContain(v => Math.Abs(v) <= 1e-6);

        // With noise the result moves away from the inner method.
        var noisy = new NoiseTunnel(inner) { Samples = 3, Stdev = 0.5, Seed = 1 }.Attribute(classifier, [Text], options)[0];
        noisy.Scores.Zip(plain.Scores, (a, e) => Math.Abs(a - e)).Max().Should().BeGreaterThan(1e-3);
    }
}
