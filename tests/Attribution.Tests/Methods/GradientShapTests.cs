using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// Gradient SHAP against its definition recomputed in float64 in the test, from the same draws
/// (<see cref="GradientShap.Draw"/>) and the gradient of a model written here whose derivative is known in closed form:
/// F(e) = W₂·tanh(W₁·mean(e) + c₁) + c₂, so ∂F_k/∂e_t = (1/n)·W₁ᵀ[(1 − h²) ⊙ W₂[k]] for each of the n real tokens.
/// Tolerance 2e-5 relative: the model runs in float32 (about 1e-7 per operation on values of order 1).
/// </summary>
public sealed class GradientShapTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-gradient-shap-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private (TextClassifier Classifier, MaskedMeanModel Model, ITokenizer Tokenizer) Model() =>
        MaskedMeanKit.Create(root, ["a", "dull", "film", "superb", "cast", "was"], dim: 5, hidden: 4, seed: 17, scale: 0.7, maxLength: 32);

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public void Equals_the_definition_from_the_same_draws(double stdev)
    {
        var (classifier, model, tokenizer) = Model();
        using var _ = classifier;
        var method = new GradientShap { Samples = 7, Stdev = stdev, Seed = 3, Baselines = [Baseline.Pad, Baseline.Zero, Baseline.Mask] };
        string[] texts = ["a dull film", "the cast was superb but a film was dull"];
        var options = new ExplainOptions { Target = Target.Class(1), Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var results = method.Explain(classifier, texts, options);

        double[,] Matrix(Tensor t)
        {
            var rows = (int)t.size(0);
            var columns = (int)t.size(1);
            var values = t.to(ScalarType.Float64).data<double>().ToArray();
            var m = new double[rows, columns];
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < columns; j++)
                {
                    m[i, j] = values[(i * columns) + j];
                }
            }

            return m;
        }

        var embedding = Matrix(model.embedding.weight!);
        var w1 = Matrix(model.hidden.weight!);
        var c1 = model.hidden.bias!.to(ScalarType.Float64).data<double>().ToArray();
        var w2 = Matrix(model.output.weight!);
        const int dim = 5, hidden = 4, target = 1;

        for (var r = 0; r < texts.Length; r++)
        {
            var encoding = tokenizer.Encode(texts[r]);
            var n = encoding.Length;
            double[][] Embed(Func<int, long?> id) => Enumerable.Range(0, n).Select(t => id(t) is { } v
                ? Enumerable.Range(0, dim).Select(d => embedding[v, d]).ToArray()
                : new double[dim]).ToArray();
            var x = Embed(t => encoding.Ids[t]);
            var baselines = new[]
            {
                Embed(t => encoding.SpecialTokensMask[t] ? encoding.Ids[t] : tokenizer.PadId),
                Embed(_ => null),
                Embed(t => encoding.SpecialTokensMask[t] ? encoding.Ids[t] : tokenizer.MaskId!.Value),
            };

            // F(e) = W₂[target]·tanh(W₁·mean(e) + c₁) + c₂[target], the logit scored (the default score).
            var c2 = model.output.bias!.to(ScalarType.Float64).data<double>().ToArray();
            double F(double[][] e)
            {
                var value = c2[target];
                for (var j = 0; j < hidden; j++)
                {
                    var z = c1[j];
                    for (var d = 0; d < dim; d++)
                    {
                        z += w1[j, d] * e.Average(row => row[d]);
                    }

                    value += w2[target, j] * Math.Tanh(z);
                }

                return value;
            }

            var expected = new double[n];
            var meanChange = 0.0;
            foreach (var draw in method.Draw(n, dim))
            {
                var b = baselines[draw.BaselineIndex];
                // The delta's reference: F at the input itself (not the noisy x + ε, where Captum evaluates each draw's).
                meanChange += (F(x) - F(b)) / method.Samples;
                var difference = Enumerable.Range(0, n).Select(t => Enumerable.Range(0, dim)
                    .Select(d => x[t][d] + (stdev * draw.Noise[(t * dim) + d]) - b[t][d]).ToArray()).ToArray();
                var mean = new double[dim];
                for (var t = 0; t < n; t++)
                {
                    for (var d = 0; d < dim; d++)
                    {
                        mean[d] += (b[t][d] + (draw.Alpha * difference[t][d])) / n;
                    }
                }

                // ∂F/∂e_t = (1/n) W₁ᵀ[(1 − h²) ⊙ W₂[target]], the same for every real token.
                var gradient = new double[dim];
                for (var j = 0; j < hidden; j++)
                {
                    var z = c1[j];
                    for (var d = 0; d < dim; d++)
                    {
                        z += w1[j, d] * mean[d];
                    }

                    var h = Math.Tanh(z);
                    for (var d = 0; d < dim; d++)
                    {
                        gradient[d] += w1[j, d] * (1 - (h * h)) * w2[target, j] / n;
                    }
                }

                for (var t = 0; t < n; t++)
                {
                    for (var d = 0; d < dim; d++)
                    {
                        expected[t] += gradient[d] * difference[t][d] / method.Samples;
                    }
                }
            }

            var scale = expected.Max(Math.Abs);
            results[r].Scores.Should().HaveCount(n);
            results[r].Scores.Zip(expected).Max(p => Math.Abs(p.First - p.Second)).Should().BeLessThan(2e-5 * scale,
                $"text {r} ({texts[r]}): [{string.Join(", ", results[r].Scores)}] vs [{string.Join(", ", expected)}]");

            // One delta per text: Σ attributions − mean over draws of (F(x) − F(b)) (documented on GradientShap; with
            // Stdev = 0 it is the mean of Captum's per-draw deltas). Same float32 tolerance, on the larger of the terms.
            var expectedDelta = expected.Sum() - meanChange;
            results[r].ConvergenceDelta!.Value.Should().BeApproximately(expectedDelta, 2e-5 * Math.Max(Math.Abs(meanChange), expected.Sum(Math.Abs)),
                $"text {r}: Σ {expected.Sum()}, mean change {meanChange}");
        }
    }

    [Fact]
    public void A_text_gets_the_same_scores_alone_as_in_a_batch()
    {
        var (classifier, _, _) = Model();
        using var _ = classifier;
        var method = new GradientShap { Samples = 4, Stdev = 0.2, Seed = 9, InternalBatchSize = 3 };
        var alone = method.Explain(classifier, "a dull film");
        var batched = method.Explain(classifier, ["the cast was superb", "a dull film", "film"])[1];
        batched.Scores.Should().Equal(alone.Scores, (a, b) => Math.Abs(a - b) < 1e-6);
        alone.Setting("baselines").Should().Be("pad,zero");
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        var (classifier, _, _) = Model();
        using var _ = classifier;
        FluentActions.Invoking(() => new GradientShap { Samples = 0 }.Explain(classifier, "a film"))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Samples");
        FluentActions.Invoking(() => new GradientShap { Stdev = double.NaN }.Explain(classifier, "a film"))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Stdev");
        FluentActions.Invoking(() => new GradientShap { Baselines = [] }.Explain(classifier, "a film"))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "Baselines");
    }
}
