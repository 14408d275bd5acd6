using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// NoiseTunnel's three combinations (SmoothGrad, SmoothGrad², VarGrad) and its default noise scale, recomputed in
/// float64 in the test: the noise is drawn here from the same seeded generator (σ = 0.15 × (max − min) of the
/// word-embedding output, the SmoothGrad paper's default), and Gradient × Input of the closed-form model
/// F(e) = W₂·tanh(W₁·mean(e) + c₁) + c₂ is x′ ⊙ ∂F/∂x′ at each noisy x′. Tolerance 1e-5 relative (float32 model).
/// </summary>
public sealed class NoiseTunnelFormulaTests : IDisposable
{
    private const int Dim = 4, Hidden = 3, Target = 1, Samples = 5;
    private const ulong Seed = 13;
    private const string Text = "a dull film";

    private readonly string root = Directory.CreateTempSubdirectory("attribution-noise-tunnel-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>The test model: the closed-form masked mean over the words of <see cref="Text"/>, seeded.</summary>
    private (Attribution.Models.TextClassifier Classifier, MaskedMeanModel Model, Attribution.Text.Tokenizers.ITokenizer Tokenizer) Create() =>
        MaskedMeanKit.Create(root, ["a", "dull", "film"], Dim, Hidden, seed: 31, scale: 0.9, maxLength: 16);

    private static double[] Flat(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    [Theory]
    [InlineData(NoiseTunnelType.SmoothGrad)]
    [InlineData(NoiseTunnelType.SmoothGradSquared)]
    [InlineData(NoiseTunnelType.VarGrad)]
    public void Each_combination_equals_its_formula_with_the_default_noise_scale(NoiseTunnelType type)
    {
        var (model, module, tokenizer) = Create();
        using var _ = model;
        var form = new MaskedMeanClosedForm(module);
        var ids = tokenizer.Encode(Text).Ids;
        var n = ids.Length;
        var x = form.Embeddings(ids);
        double[] Gradient(double[][] e) => form.LogitGradient(e, Target);

        // σ = 0.15 × (max − min) of the activation, then one randn draw of its shape per sample from the seed.
        var sigma = 0.15 * (x.Max(r => r.Max()) - x.Min(r => r.Min()));
        var sum = new double[n, Dim];
        var squares = new double[n, Dim];
        using (var generator = new Generator(Seed))
        {
            for (var s = 0; s < Samples; s++)
            {
                using var noise = randn([1, n, Dim], ScalarType.Float32, generator: generator);
                var z = Flat(noise);
                var noisy = x.Select((row, t) => row.Select((v, d) => v + (z[(t * Dim) + d] * sigma)).ToArray()).ToArray();
                var g = Gradient(noisy);
                for (var t = 0; t < n; t++)
                {
                    for (var d = 0; d < Dim; d++)
                    {
                        var a = noisy[t][d] * g[d];
                        sum[t, d] += a / Samples;
                        squares[t, d] += a * a / Samples;
                    }
                }
            }
        }

        var expected = Enumerable.Range(0, n).Select(t => Enumerable.Range(0, Dim).Sum(d => type switch
        {
            NoiseTunnelType.SmoothGrad => sum[t, d],
            NoiseTunnelType.SmoothGradSquared => squares[t, d],
            _ => squares[t, d] - (sum[t, d] * sum[t, d]),
        })).ToArray();

        var tunnel = new NoiseTunnel(new GradientXInput()) { Samples = Samples, Seed = Seed, Type = type };
        var result = tunnel.Explain(model, Text, new ExplainOptions { Target = Attribution.Methods.Target.Class(Target), Salience = new SalienceOptions { KeepSpecialTokens = true } });
        var scale = expected.Max(Math.Abs);
        result.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * scale, $"{type}: [{string.Join(", ", result.Scores)}] vs [{string.Join(", ", expected)}]");
    }

    /// <summary>
    /// The default noise scale is each text's own: σ_b = 0.15 × (max − min) of text b's embeddings over its real
    /// tokens (the SmoothGrad paper scales the noise to each input), not the range of the whole padded batch, which a
    /// longer batch-mate or the padding's embedding would widen. Two texts of different lengths are explained in one
    /// batch ("film" is padded to 5 tokens); each text's noise is drawn for its real tokens from its own generator,
    /// reproduced here. Tolerance 1e-5 relative (float32 model, float64 reference).
    /// </summary>
    [Fact]
    public void The_default_noise_scale_is_each_texts_own_range()
    {
        var (model, module, tokenizer) = Create();
        using var _ = model;

        // "dull" gets a long embedding, so the longer text's range is several times the short one's.
        using (no_grad())
        {
            using var six = 6.0.ToScalar();
            module.embedding.weight![tokenizer.Encode("dull").Ids[1]].mul_(six);
        }

        var form = new MaskedMeanClosedForm(module);
        string[] texts = ["film", Text];
        var ids = texts.Select(t => tokenizer.Encode(t).Ids).ToArray();
        var length = ids.Max(i => i.Length);
        ids[0].Length.Should().BeLessThan(length, "the short text is padded in the batch");

        var x = ids.Select(form.Embeddings).ToArray();
        double[] Gradient(double[][] e) => form.LogitGradient(e, Target);

        var sigmas = x.Select(rows => 0.15 * (rows.Max(r => r.Max()) - rows.Min(r => r.Min()))).ToArray();
        sigmas[1].Should().BeGreaterThan(2 * sigmas[0], "the two texts' ranges differ, so a shared scale would show");
        var expected = x.Select(rows => new double[rows.Length]).ToArray();
        for (var b = 0; b < 2; b++)
        {
            // Each text draws its real tokens' noise from a generator of its own, seeded alike.
            using var generator = new Generator(Seed);
            for (var s = 0; s < Samples; s++)
            {
                using var noise = randn([x[b].Length, Dim], ScalarType.Float32, generator: generator);
                var z = Flat(noise);
                var noisy = x[b].Select((row, t) => row.Select((v, d) => v + (z[(t * Dim) + d] * sigmas[b])).ToArray()).ToArray();
                var g = Gradient(noisy);
                for (var t = 0; t < noisy.Length; t++)
                {
                    expected[b][t] += Enumerable.Range(0, Dim).Sum(d => noisy[t][d] * g[d]) / Samples;
                }
            }
        }

        var tunnel = new NoiseTunnel(new GradientXInput()) { Samples = Samples, Seed = Seed };
        var results = tunnel.Attribute(model, texts, new AttributionOptions { Target = Attribution.Methods.Target.Class(Target) });
        for (var b = 0; b < 2; b++)
        {
            var scale = expected[b].Max(Math.Abs);
            results[b].Scores.Should().Equal(expected[b], (a, e) => Math.Abs(a - e) <= 1e-5 * scale,
                $"text {b}: [{string.Join(", ", results[b].Scores)}] vs [{string.Join(", ", expected[b])}]");
        }
    }

    /// <summary>
    /// VarGrad where the variance is tiny next to the mean (σ = 1e-4 on embeddings of size ~1: variance ~1e-8 of the
    /// squared mean): the variance of the samples' attributions, computed here in float64 from the same draws as the
    /// mean of squared deviations. E[a²] − E[a]² in float32 loses it entirely (its rounding, ~1e-7 of the mean², is
    /// larger than the variance, and often negative). Tolerance 2e-2 relative: each attribution is a float32 number
    /// whose rounding (~1e-7 relative) is ~1e-3 of its deviation from the mean. With no noise the variance is exactly 0.
    /// </summary>
    [Fact]
    public void Var_grad_is_the_variance_where_it_is_small_next_to_the_mean()
    {
        const double stdev = 1e-4;
        const int samples = 8;
        var (model, module, tokenizer) = Create();
        using var _ = model;
        var form = new MaskedMeanClosedForm(module);
        var ids = tokenizer.Encode(Text).Ids;
        var n = ids.Length;
        var x = form.Embeddings(ids);
        double[] Gradient(double[][] e) => form.LogitGradient(e, Target);

        var draws = new List<double[,]>();
        using (var generator = new Generator(Seed))
        {
            for (var s = 0; s < samples; s++)
            {
                using var noise = randn([1, n, Dim], ScalarType.Float32, generator: generator);
                var z = Flat(noise);
                var noisy = x.Select((row, t) => row.Select((v, d) => v + (z[(t * Dim) + d] * stdev)).ToArray()).ToArray();
                var g = Gradient(noisy);
                var a = new double[n, Dim];
                for (var t = 0; t < n; t++)
                {
                    for (var d = 0; d < Dim; d++)
                    {
                        a[t, d] = noisy[t][d] * g[d];
                    }
                }

                draws.Add(a);
            }
        }

        var expected = Enumerable.Range(0, n).Select(t => Enumerable.Range(0, Dim).Sum(d =>
        {
            var mean = draws.Average(a => a[t, d]);
            return draws.Average(a => (a[t, d] - mean) * (a[t, d] - mean));
        })).ToArray();

        var options = new AttributionOptions { Target = Attribution.Methods.Target.Class(Target) };
        var result = new NoiseTunnel(new GradientXInput()) { Samples = samples, Seed = Seed, Stdev = stdev, Type = NoiseTunnelType.VarGrad }.Attribute(model, [Text], options)[0];
        result.Scores.Should().Equal(expected, (a, e) => Math.Abs(a - e) <= 2e-2 * e,
            $"[{string.Join(", ", result.Scores)}] vs [{string.Join(", ", expected)}]");

        var still = new NoiseTunnel(new GradientXInput()) { Samples = 7, Stdev = 0, Type = NoiseTunnelType.VarGrad }.Attribute(model, [Text], options)[0];
        still.Scores.Should().OnlyContain(v => v == 0, "identical samples have no variance");
    }

    /// <summary>
    /// A text's SmoothGrad does not depend on the batch it is in: alone, after a shorter text, and with a longer one
    /// that pads it, it gets the same scores (each text draws its noise from its own generator). Tolerance 1e-6
    /// relative: batched float32 arithmetic may differ from a lone text's in the last bits.
    /// </summary>
    [Fact]
    public void A_text_gets_the_same_noise_alone_as_in_a_batch()
    {
        var (model, _, _) = Create();
        using var _ = model;
        var tunnel = new NoiseTunnel(new GradientXInput()) { Samples = Samples, Seed = Seed, Stdev = 0.3 };
        var options = new AttributionOptions { Target = Attribution.Methods.Target.Class(Target) };
        var alone = tunnel.Attribute(model, [Text], options)[0].Scores;
        var afterShorter = tunnel.Attribute(model, ["film", Text], options)[1].Scores;
        var padded = tunnel.Attribute(model, [Text, "a dull film film film"], options)[0].Scores;
        var scale = alone.Max(Math.Abs);
        afterShorter.Should().Equal(alone, (a, e) => Math.Abs(a - e) <= 1e-6 * scale);
        padded.Should().Equal(alone, (a, e) => Math.Abs(a - e) <= 1e-6 * scale);
    }
}
