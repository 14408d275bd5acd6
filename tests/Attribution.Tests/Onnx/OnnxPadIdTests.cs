using System.Text.Json.Nodes;
using Attribution.Models;
using Attribution.Onnx;

namespace Attribution.Tests.Onnx;

/// <summary>
/// An exported RoBERTa graph computes its position ids from the pad id it was exported with (positions start at
/// pad_token_id + 1 and skip the tokens equal to it), while the classifier pads with the tokenizer's pad id. The shared
/// roberta-random-onnx folder copied with config.json's pad_token_id changed from 1 to 0 (the id of &lt;s&gt;, which
/// opens every text) is refused naming both ids, the file and the fix, as ClassifierLoader refuses the safetensors folder
/// (PadIdAgreementTests). The agreeing folder, and one whose config omits pad_token_id (transformers' RoBERTa default
/// is 1, the tokenizer's), load.
/// </summary>
public sealed class OnnxPadIdTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-onnx-pad-ids-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>The shared folder copied, its config.json's pad_token_id set to <paramref name="pad"/> (removed when null).</summary>
    private string CopyWithConfigPad(int? pad)
    {
        var source = SharedData.Require("models/roberta-random-onnx");
        var dir = Path.Combine(root, "roberta-random-onnx");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(source).Where(f => Path.GetFileName(f) != "config.json"))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        ((string)config["model_type"]!).Should().Be("roberta");
        ((int)config["pad_token_id"]!).Should().Be(1, "the shared folder's config and tokenizer agree on 1");
        if (pad is { } id)
        {
            config["pad_token_id"] = id;
        }
        else
        {
            config.Remove("pad_token_id");
        }

        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return dir;
    }

    [SkippableFact]
    public void A_roberta_graph_whose_config_pad_id_differs_from_the_tokenizers_is_refused()
    {
        var dir = CopyWithConfigPad(0);
        var config = Path.Combine(dir, "config.json");
        var e = FluentActions.Invoking(() => OnnxTextClassifier.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.Field.Should().Be("pad_token_id");
        e.FilePath.Should().Be(config);
        e.Message.Should().Contain($"{config} says pad_token_id = 0").And.Contain("pads with id 1")
            .And.Contain("position ids start at pad_token_id + 1").And.Contain("set pad_token_id in config.json to the tokenizer's pad id");
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(null)]
    public void A_roberta_graph_whose_config_agrees_with_the_tokenizer_loads(int? pad)
    {
        using var model = OnnxTextClassifier.Load(CopyWithConfigPad(pad));
        model.Tokenizer.PadId.Should().Be(1);
    }
}
