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

    private static long Settled()
    {
        for (var i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return LiveTensors.Count;
    }

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType)]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.MlpType)]
    public void Predict_leaves_no_tensor_behind(string type)
    {
        using var classifier = ClassifierLoader.Load(SmallModelKit.SaveRandom(root, type));
        classifier.Predict(SmallModelKit.Texts);
        var start = Settled();
        classifier.Predict(SmallModelKit.Texts);
        classifier.Predict([SmallModelKit.Texts[3]]);
        Settled().Should().Be(start);
    }

    [Fact(Skip = "Known gap of the TorchSharp port (see the engine note): a disposed TorchSharp module leaves some tensors counted live (38 for the tiny RoBERTa, 2 for the LSTM), so the exact count cannot be asserted yet")]
    public void Loading_keeps_only_the_parameters_and_a_failed_load_keeps_nothing()
    {
        var dir = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
        var before = Settled();

        // What a model of this config holds by itself (TorchSharp's LSTM keeps flattened weights besides the state
        // dict), measured on a freshly built one.
        long footprint;
        using (SmallClassifier.Create(SmallClassifierConfig.FromFile(Path.Combine(dir, "config.json"))))
        {
            footprint = LiveTensors.Count - before;
        }

        Settled().Should().Be(before);
        using (var loaded = ClassifierLoader.Load(dir))
        {
            footprint.Should().BeGreaterThanOrEqualTo(loaded.Module.state_dict().Count);
            (Settled() - before).Should().Be(footprint);
        }

        Settled().Should().Be(before);
        File.Delete(Path.Combine(dir, "vocab.txt"));
        var act = () => ClassifierLoader.Load(dir);
        act.Should().Throw<TokenizerException>();
        Settled().Should().Be(before);
    }

    [Fact]
    public void Training_and_evaluation_leave_only_the_model_behind()
    {
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var generator = new Generator(4);
        using var model = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.LstmType, tokenizer.VocabularySize), generator);
        var data = Attribution.Data.SentimentCorpus.Generate(64, seed: 5);
        var before = Settled();
        var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 2, Patience = 1, WordDropout = 0.1, BatchSize = 16 });
        trainer.Fit(data.Take(48).ToArray(), data.Skip(48).ToArray());
        trainer.Evaluate(data);
        Settled().Should().Be(before);
    }
}
