using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models.Small;

/// <summary>The LSTM, CNN and mean-MLP classifiers with random weights: padding, saving, loading and hooks.</summary>
public sealed class SmallClassifierTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-small-tests-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType)]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.MlpType)]
    public void Padding_does_not_change_a_texts_logits(string type)
    {
        using var classifier = SmallModelKit.Random(root, type);
        var batched = classifier.Predict(SmallModelKit.Texts);
        for (var i = 0; i < SmallModelKit.Texts.Length; i++)
        {
            var alone = classifier.Predict([SmallModelKit.Texts[i]])[0];
            SmallModelKit.MaxAbsDifference(batched[i].Logits, alone.Logits).Should().BeLessThan(1e-5, SmallModelKit.Texts[i]);
        }

        // One batch holding every length (Predict's buckets would group similar lengths).
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = classifier.Encode(SmallModelKit.Texts);
        batch.Lengths.Distinct().Count().Should().BeGreaterThan(4);
        var logits = classifier.Logits(batch.Input).to(ScalarType.Float64).data<double>().ToArray();
        for (var i = 0; i < SmallModelKit.Texts.Length; i++)
        {
            var alone = classifier.Predict([SmallModelKit.Texts[i]])[0];
            SmallModelKit.MaxAbsDifference(logits.AsSpan(i * 2, 2).ToArray(), alone.Logits).Should().BeLessThan(1e-5, SmallModelKit.Texts[i]);
        }
    }

    [Fact]
    public void The_lstm_reads_only_the_real_tokens_wherever_the_mask_puts_them()
    {
        using var classifier = SmallModelKit.Random(root, SmallClassifierConfig.LstmType, seed: 3);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var plain = new ModelInput(tensor(new long[] { 2, 20, 31, 47, 3 }, [1, 5]));

        // The same tokens with padding in the middle and at the front, masked out.
        var holes = new ModelInput(
            tensor(new long[] { 0, 2, 20, 0, 31, 47, 0, 3 }, [1, 8]),
            tensor(new long[] { 0, 1, 1, 0, 1, 1, 0, 1 }, [1, 8]));
        var expected = classifier.Logits(plain).data<float>().ToArray();
        var actual = classifier.Logits(holes).data<float>().ToArray();
        actual.Zip(expected, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-5f);
    }

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType)]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.MlpType)]
    public void Save_then_load_gives_identical_logits_labels_and_layout(string type)
    {
        var dir = SmallModelKit.SaveRandom(root, type, seed: 11);
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json" })
        {
            File.Exists(Path.Combine(dir, file)).Should().BeTrue(file);
        }

        using var generator = new Generator(11);
        using var original = SmallClassifier.Create(SmallModelKit.Config(type, SmallModelKit.Tokenizer(root).VocabularySize), generator);
        original.eval();
        using var loaded = ClassifierLoader.Load(dir);
        loaded.Labels.Should().Equal("negative", "positive");
        loaded.WordEmbeddingPath.Should().Be("embeddings");
        loaded.MaxLength.Should().Be(24);
        loaded.UsesTokenTypes.Should().BeFalse();
        loaded.Module.Should().BeAssignableTo<SmallClassifier>().Which.Config.Should().BeEquivalentTo(original.Config);
        loaded.Module.training.Should().BeFalse();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = loaded.Encode(SmallModelKit.Texts);
        loaded.Logits(batch.Input).data<float>().ToArray().Should().Equal(original.call(batch.Input).data<float>().ToArray());

        // Saving the loaded model again writes the same bytes.
        var again = Path.Combine(root, "again-" + type);
        Attribution.Training.Trainer.SaveFolder(again, (SmallClassifier)loaded.Module, loaded.Tokenizer);
        File.ReadAllBytes(Path.Combine(again, "model.safetensors")).Should().Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        File.ReadAllText(Path.Combine(again, "config.json")).Should().Be(File.ReadAllText(Path.Combine(dir, "config.json")));
        File.ReadAllLines(Path.Combine(again, "vocab.txt")).Should().Equal(File.ReadAllLines(Path.Combine(dir, "vocab.txt")));
    }

    [Fact]
    public void Parameter_names_are_pytorch_style_and_stable()
    {
        using var generator = new Generator(1);
        using var lstm = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.LstmType, 50), generator);
        using var cnn = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.CnnType, 50), generator);
        using var mlp = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.MlpType, 50), generator);
        lstm.state_dict().Keys.Should().BeEquivalentTo(
            "embeddings.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
            "lstm.weight_ih_l0_reverse", "lstm.weight_hh_l0_reverse", "lstm.bias_ih_l0_reverse", "lstm.bias_hh_l0_reverse",
            "classifier.weight", "classifier.bias");
        cnn.state_dict().Keys.Should().BeEquivalentTo(
            "embeddings.weight", "convs.0.weight", "convs.0.bias", "convs.1.weight", "convs.1.bias", "convs.2.weight", "convs.2.bias",
            "classifier.weight", "classifier.bias");
        mlp.state_dict().Keys.Should().BeEquivalentTo("embeddings.weight", "hidden.weight", "hidden.bias", "classifier.weight", "classifier.bias");

        // The names the loader checks a checkpoint against before building the model are the built models' own.
        foreach (var model in new[] { lstm, cnn, mlp })
        {
            SmallClassifier.ParameterNames(model.Config).Should().BeEquivalentTo(model.state_dict().Keys);
            model.Config.ArchitectureName.Should().Be(model.GetName());
        }

        lstm.state_dict()["lstm.weight_ih_l0"].shape.Should().Equal(40, 12);
        cnn.state_dict()["convs.2.weight"].shape.Should().Equal(6, 12, 5);
        cnn.state_dict()["classifier.weight"].shape.Should().Equal(2, 18);

        // The padding row of the embedding table is zero.
        using var scope = NewDisposeScope();
        mlp.state_dict()["embeddings.weight"][0].abs().sum().ItemAsSingle().Should().Be(0);
    }

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType)]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.MlpType)]
    public void The_embedding_layer_is_hookable_and_padding_gets_no_gradient(string type)
    {
        using var classifier = SmallModelKit.Random(root, type, seed: 5);
        using var scope = NewDisposeScope();
        var batch = classifier.Encode(["a sometimes tedious film", "dull"]);
        Tensor? captured = null;
        using (ModuleHooks.AddForwardHook(classifier.Module.Submodule(classifier.WordEmbeddingPath), (_, _, output) =>
               {
                   captured = (Tensor)output;
                   captured.retain_grad();
                   return null;
               }))
        {
            classifier.Logits(batch.Input).select(1, 1).sum().backward();
        }

        captured.Should().NotBeNull();
        var grad = captured!.grad!;
        grad.shape.Should().Equal(2, batch.Lengths.Max(), 12);
        var perToken = grad.abs().sum(2).to(ScalarType.Float64).data<double>().ToArray();
        var length = batch.Lengths.Max();

        // Every real token of the first text gets gradient; the padding of the second gets none.
        perToken.Take(length).Should().OnlyContain(v => v > 0);
        perToken.Skip(length + batch.Lengths[1]).Should().OnlyContain(v => v == 0);
        classifier.Module.zero_grad();
    }

    [Fact]
    public void Modules_validate_their_input()
    {
        using var generator = new Generator(2);
        using var model = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.CnnType, 30), generator);
        using var scope = NewDisposeScope();
        var act = () => model.call(new ModelInput(tensor(new long[] { 2, 40, 3 }, [1, 3])));
        act.Should().Throw<ArgumentException>().WithMessage("*token id 40 is outside the vocabulary [0, 30)*");
        act = () => model.call(new ModelInput(tensor(new long[] { 2, 4, 3 }, [1, 3]), tensor(new long[] { 0, 0, 0 }, [1, 3])));
        act.Should().Throw<ArgumentException>().WithMessage("*no real token*");
        act = () => model.call(new ModelInput(tensor(new long[] { 2, 4, 3 }, [1, 3]), tensor(new long[] { 1, 1 }, [1, 2])));
        act.Should().Throw<ArgumentException>().WithMessage("*attention mask is [1, 2] but the ids are [1, 3]*");
        act = () => model.call(new ModelInput(tensor(new long[] { 2, 4, 3 }, [3])));
        act.Should().Throw<ArgumentException>().WithMessage("*int64 token ids [batch, length]*");

        var wrongType = () => new CnnClassifier(SmallModelKit.Config(SmallClassifierConfig.MlpType, 30));
        wrongType.Should().Throw<ArgumentException>().WithMessage("*model_type \"attribution-cnn\"*");
        var badConfig = () => SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.CnnType, 30) with { KernelSizes = [] });
        badConfig.Should().Throw<ArgumentException>().WithMessage("*kernel_sizes*");
    }

    [Fact]
    public void A_one_token_input_works_for_every_kernel_width()
    {
        using var generator = new Generator(2);
        using var model = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.CnnType, 30) with { KernelSizes = [1, 7] }, generator);
        model.eval();
        using var scope = NewDisposeScope();
        model.call(new ModelInput(tensor(new long[] { 5 }, [1, 1]))).shape.Should().Equal(1, 2);
    }
}
