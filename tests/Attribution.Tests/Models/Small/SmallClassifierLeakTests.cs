using Attribution.Engine;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using Attribution.Training;

using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models.Small;

[Collection(LiveTensorCollection.Name)]
public sealed class SmallClassifierLeakTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-small-leaks-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType)]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.MlpType)]
    public void Predict_leaves_no_tensor_behind(string type)
    {
        using var classifier = ClassifierLoader.Load(SmallModelKit.SaveRandom(root, type));
        classifier.Predict(SmallModelKit.Texts);
        var start = LiveTensors.Settled();
        classifier.Predict(SmallModelKit.Texts);
        classifier.Predict([SmallModelKit.Texts[3]]);
        LiveTensors.Settled().Should().Be(start);
    }

    [Fact]
    public void Loading_keeps_only_the_parameters_and_a_failed_load_keeps_nothing()
    {
        var dir = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
        var (held, residue) = LiveTensors.Footprint(() => SmallClassifier.Create(SmallClassifierConfig.FromFile(Path.Combine(dir, "config.json"))));

        using (var probe = ClassifierLoader.Load(dir))
        {
            held.Should().BeGreaterThanOrEqualTo(probe.Module.state_dict().Count);
        }

        LiveTensors.Footprint(() => ClassifierLoader.Load(dir)).Should().Be((held, residue));
        var before = LiveTensors.Settled();
        File.Delete(Path.Combine(dir, "vocab.txt"));
        var act = () => ClassifierLoader.Load(dir);
        act.Should().Throw<TokenizerException>();
        LiveTensors.Settled().Should().Be(before + residue, "the model built before the tokenizer failed is disposed; only TorchSharp's construction residue stays");
    }

    [Fact]
    public void Training_and_evaluation_leave_only_the_model_behind()
    {
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var generator = new Generator(4);
        using var model = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.LstmType, tokenizer.VocabularySize), generator);
        var data = Attribution.Data.SentimentCorpus.Generate(64, seed: 5);
        var before = LiveTensors.Settled();
        var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 2, Patience = 1, WordDropout = 0.1, BatchSize = 16 });
        trainer.Fit(data.Take(48).ToArray(), data.Skip(48).ToArray());
        trainer.Evaluate(data);
        LiveTensors.Settled().Should().Be(before);
    }
}
