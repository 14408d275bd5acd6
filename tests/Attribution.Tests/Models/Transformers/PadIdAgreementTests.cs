using System.Text.Json.Nodes;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// RoBERTa's position ids come from config.json's pad_token_id (positions start at pad_token_id + 1 and tokens equal to it
/// are skipped: transformers' create_position_ids_from_input_ids), while the tokenizer pads with its own pad id. The shared
/// roberta-random folder with config.json's pad_token_id changed from 1 to 0 (the id of &lt;s&gt;): the model alone gives other
/// logits than the recorded ones (so the mismatch is not harmless), and ClassifierLoader refuses the folder naming both ids
/// and both files.
/// </summary>
public sealed class PadIdAgreementTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-pad-ids-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string CopyWithConfigPad(int pad)
    {
        var source = SharedData.Require("models/roberta-random");
        var dir = Path.Combine(root, "roberta-random");
        Directory.CreateDirectory(dir);
        foreach (var name in new[] { "model.safetensors", "tokenizer.json" })
        {
            File.Copy(Path.Combine(source, name), Path.Combine(dir, name));
        }

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        config["pad_token_id"].Should().NotBeNull();
        ((int)config["pad_token_id"]!).Should().Be(1, "the shared folder's config and tokenizer agree on 1");
        config["pad_token_id"] = pad;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return dir;
    }

    /// <summary>
    /// Why the mismatch is refused: with pad_token_id 0 the &lt;s&gt; that opens every text counts as padding, so every
    /// position shifts and the logits leave the recorded ones (golden/roberta-random.captum.json, Hugging Face with
    /// pad_token_id 1) by far more than the 1e-5 the true config matches them to (TransformerGoldenTests).
    /// </summary>
    [SkippableFact]
    public void A_config_pad_id_other_than_the_tokenizers_changes_roberta_logits()
    {
        var dir = CopyWithConfigPad(0);
        using var golden = TransformerTestKit.ReadJson(SharedData.Require("golden/roberta-random.captum.json"));
        var first = golden.RootElement.GetProperty("cases")[0];
        var ids = TransformerTestKit.Longs(first.GetProperty("input_ids"));
        var recorded = TransformerTestKit.Doubles(first.GetProperty("logits"));
        ids[0].Should().Be(0, "RoBERTa texts open with <s>, id 0");

        using var model = TransformerLoader.Load(dir);
        using var scope = NewDisposeScope();
        var logits = model.call(new ModelInput(tensor(ids, [1, ids.Length]))).data<float>().ToArray();
        TransformerTestKit.MaxAbsDiff(logits, recorded).Should().BeGreaterThan(1e-3);
    }

    [SkippableFact]
    public void Classifier_loader_refuses_a_roberta_whose_config_pad_id_differs_from_the_tokenizers()
    {
        var dir = CopyWithConfigPad(0);
        var e = FluentActions.Invoking(() => ClassifierLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.Field.Should().Be("pad_token_id");
        e.FilePath.Should().Be(Path.Combine(dir, "config.json"));
        e.Message.Should().Contain("pad_token_id = 0").And.Contain("pads with id 1")
            .And.Contain(Path.Combine(dir, "config.json")).And.Contain(Path.Combine(dir, "tokenizer.json"))
            .And.Contain("set pad_token_id in config.json");
    }

    [SkippableFact]
    public void Classifier_loader_accepts_the_agreeing_roberta_folder()
    {
        var dir = CopyWithConfigPad(1);
        using var classifier = ClassifierLoader.Load(dir);
        classifier.Tokenizer.PadId.Should().Be(1);
    }

    /// <summary>The same agreement when a classifier is assembled from parts: a tokenizer padding with 0 beside a RoBERTa with pad_token_id 1.</summary>
    [Fact]
    public void A_text_classifier_refuses_a_roberta_module_whose_pad_id_differs_from_the_tokenizers()
    {
        var module = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 5);
        try
        {
            var act = () => new TextClassifier("tiny-roberta", new Attribution.Tests.Methods.IdsTokenizer(0, 2, 0, module.Config.VocabSize), module, ["a", "b"],
                module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: false);
            var error = act.Should().Throw<ArgumentException>().Which;
            error.ParamName.Should().Be("tokenizer");
            error.Message.Should().Contain("pads with id 0 but the RoBERTa module's config has pad_token_id 1").And.Contain("give the model's own tokenizer");
        }
        finally
        {
            module.Dispose();
        }

        using var agreeing = new TextClassifier("tiny-roberta", new Attribution.Tests.Methods.IdsTokenizer(0, 2, 1, 50),
            TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 5), ["a", "b"], "roberta.embeddings.word_embeddings", 12, usesTokenTypes: false);
        agreeing.Tokenizer.PadId.Should().Be(1);
    }

    /// <summary>
    /// The rule the three refusals share (ClassifierLoader, TextClassifier, OnnxTextClassifier): transformers numbers
    /// positions from the pad id for RoBERTa and the types built on its embeddings (XLM-RoBERTa, CamemBERT), so only
    /// there two different ids matter; BERT and DistilBERT find padding by the mask.
    /// </summary>
    [Theory]
    [InlineData("roberta", 0, 1, true)]
    [InlineData("xlm-roberta", 0, 1, true)]
    [InlineData("camembert", 2, 1, true)]
    [InlineData("roberta", 1, 1, false)]
    [InlineData("bert", 0, 1, false)]
    [InlineData("distilbert", 5, 0, false)]
    public void Pad_ids_disagree_only_for_models_whose_positions_come_from_the_pad_id(string modelType, int configPad, int tokenizerPad, bool disagree) =>
        TransformerConfig.PadIdsDisagree(modelType, configPad, tokenizerPad).Should().Be(disagree);
}
