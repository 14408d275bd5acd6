using Attribution.Models;
using Attribution.Tests.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models.Small;

/// <summary>The smooth copy of the CNN (Softplus and log-sum-exp pooling with β): same weights, the original untouched, and the bounds of the approximation.</summary>
public sealed class SmoothedCnnTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-smooth-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static double[] Logits(TextClassifier model, string text) => model.Predict([text])[0].Logits;

    [Fact]
    public void The_copy_tends_to_the_original_as_beta_grows_and_leaves_it_alone()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.CnnType);
        const string text = "the plot was dull but the cast was superb";
        var before = Logits(model, text);
        using var sharp = model.Smoothed(1000);
        using var soft = model.Smoothed(1);

        // Softplus exceeds ReLU by at most ln 2 / β, log-sum-exp exceeds max by at most ln(windows) / β; the
        // classifier's weights (|w| ≤ 1/√features) carry that to the logits: 0.01 is ample at β = 1000.
        Logits(sharp, text).Should().Equal(before, (a, b) => Math.Abs(a - b) < 0.01);
        Logits(soft, text).Zip(before).Max(p => Math.Abs(p.First - p.Second)).Should().BeGreaterThan(0.01, "β = 1 is a different, smoother function");
        Logits(model, text).Should().Equal(before, "the original model is not changed");
        ((CnnClassifier)soft.Module).Smoothness.Should().Be(1);
        ((CnnClassifier)model.Module).Smoothness.Should().BeNull();
        foreach (var (name, p) in model.Module.named_parameters())
        {
            using var other = soft.Module.get_parameter(name)!.detach();
            other.allclose(p, rtol: 0, atol: 0).Should().BeTrue($"{name} is copied");
        }
    }

    [Fact]
    public void Models_without_relu_and_max_and_bad_betas_are_refused()
    {
        using var mlp = SmallModelKit.Random(root, SmallClassifierConfig.LstmType);
        // The model is what is wrong, not beta: before, an ArgumentException named 'beta'.
        FluentActions.Invoking(() => mlp.Smoothed(2)).Should().Throw<NotSupportedException>().WithMessage("*no smooth variant*");
        using var cnn = SmallModelKit.Random(root, SmallClassifierConfig.CnnType);
        FluentActions.Invoking(() => cnn.Smoothed(0)).Should().Throw<ArgumentOutOfRangeException>();
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.MlpType);
        var run = CliHarness.Run("evaluate", "--model", folder, "--text", "a film", "--method", "gradient", "--metric", "infidelity", "--smooth", "2");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--smooth");
    }

    /// <summary>
    /// The smooth copy reads its outputs as the original does: its head (and batch size) are the original's. The copy
    /// was built without a head, so a multi-label or regression CNN's copy took the default for two labels, a softmax
    /// over classes, and gave softmax probabilities where the original gave a sigmoid per label (or none).
    /// </summary>
    [Theory]
    [InlineData(OutputHead.MultiLabel)]
    [InlineData(OutputHead.Regression)]
    public void The_copy_keeps_the_output_head_and_batch_size(OutputHead head)
    {
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var generator = new Generator(7);
        var cnn = new CnnClassifier(SmallModelKit.Config(SmallClassifierConfig.CnnType, tokenizer.VocabularySize), generator);
        using var model = new TextClassifier("cnn", tokenizer, cnn, ["a", "b"], cnn.WordEmbeddingPath, 24, usesTokenTypes: false, head) { BatchSize = 3 };
        using var soft = model.Smoothed(2);

        soft.Head.Should().Be(head);
        soft.BatchSize.Should().Be(3);
        var prediction = soft.Predict(["the plot was dull but the cast was superb"])[0];
        if (head == OutputHead.MultiLabel)
        {
            // A sigmoid per label, from the definition σ(x) = 1 / (1 + e^−x); 1e-12 covers the two formulas' rounding.
            prediction.Probabilities.Should().Equal(prediction.Logits.Select(x => 1 / (1 + Math.Exp(-x))), (p, q) => Math.Abs(p - q) < 1e-12);
        }
        else
        {
            prediction.Probabilities.Should().BeEmpty("a regression head's outputs are no probabilities");
        }
    }
}
