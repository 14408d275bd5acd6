using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods.Lrp;

/// <summary>LRP on the library's small classifiers: the mean-embedding MLP and the CNN are supported, the LSTM is refused by name.</summary>
public sealed class LrpSmallClassifierTests(ITestOutputHelper output)
{
    private static readonly string[] Sentences =
    [
        "a gripping , beautifully made film .",
        "bad",
        "not without its charms , but mostly tedious and far too long",
    ];

    private static TextClassifier Small(string type, ulong seed)
    {
        var tokenizer = LrpTestModels.BertTokenizer();
        var config = new SmallClassifierConfig
        {
            ModelType = type, VocabSize = tokenizer.VocabularySize, EmbeddingDim = 12, HiddenSize = 10, KernelSizes = [2, 3], NumFilters = 5,
        };
        using var generator = new Generator(seed);
        var module = SmallClassifier.Create(config, generator);
        return new TextClassifier(type, tokenizer, module, config.Labels, SmallClassifier.EmbeddingsPath, config.MaxLength, usesTokenTypes: false);
    }

    /// <summary>
    /// The MLP and the CNN: finite scores in a padded batch; in float64 with biases zeroed and ε = 0 the token
    /// relevance equals the logit (1e-9 relative): masking, the mean over tokens and max-pooling over time pass
    /// relevance unchanged.
    /// </summary>
    [SkippableTheory]
    [InlineData(SmallClassifierConfig.MlpType)]
    [InlineData(SmallClassifierConfig.CnnType)]
    public void Mlp_and_cnn_classifiers_are_supported_and_conserve(string type)
    {
        using var model = Small(type, 5);
        var options = new ExplainOptions { BatchSize = Sentences.Length, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        new LrpEpsilon().Explain(model, Sentences, options).Should().OnlyContain(e => e.Scores.All(double.IsFinite));

        model.Module.to(ScalarType.Float64);
        LrpTestModels.ZeroBiases(model.Module);
        var exact = new LrpEpsilon { Epsilon = 0 }.Explain(model, Sentences, options);
        var worst = exact.Max(e => Math.Abs(e.ConvergenceDelta!.Value) / Math.Max(1, Math.Abs(e.Logits[e.Target])));
        output.WriteLine($"{type}: float64, zero biases, ε = 0: worst |Σ relevance − logit| / |logit| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-9);
    }

    /// <summary>
    /// The note said relevance was absorbed by "the attention softmax (AttnLRP leaves it unrewritten)" and called the
    /// one embedding share "the first" on the CNN, which has neither attention nor other embeddings (the demo printed
    /// it). It now names the softmax only for a model with one (BERT) and says "the first" only among several shares.
    /// </summary>
    [SkippableFact]
    public void The_note_names_attention_and_the_first_share_only_where_the_model_has_them()
    {
        using var cnn = Small(SmallClassifierConfig.CnnType, 5);
        var note = new LrpEpsilon().Explain(cnn, Sentences[0]).Notes.Single(n => n.StartsWith("LRP-ε", StringComparison.Ordinal));
        note.Should().Contain("(the sum of the token scores, special tokens included)").And.NotContain("the first")
            .And.Contain("the relevance absorbed by biases and the ε stabilizers").And.NotContain("attention softmax");

        using var bert = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var bertNote = new LrpEpsilon().Explain(bert, Sentences[0]).Notes.Single(n => n.StartsWith("LRP-ε", StringComparison.Ordinal));
        bertNote.Should().Contain("the first is the sum of the token scores").And.Contain("the attention softmax (AttnLRP leaves it unrewritten)");
    }

    /// <summary>The LSTM classifier is refused, the error naming its LSTM module.</summary>
    [SkippableFact]
    public void The_lstm_classifier_is_refused_naming_its_lstm()
    {
        using var model = Small(SmallClassifierConfig.LstmType, 6);
        var run = () => new LrpEpsilon().Explain(model, Sentences);
        var error = run.Should().Throw<LrpNotSupportedException>().Which;
        error.ModulePath.Should().Be("lstm");
        error.Modules.Should().Equal("lstm");
        error.Message.Should().Contain("'lstm' (LSTM)");
    }
}
