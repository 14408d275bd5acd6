using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// Hugging Face folders written by hand, as others publish them: each loads with the logits of an independent forward
/// pass, or is refused with a <see cref="ModelLoadException"/> naming the field or tensor, the value and the fix.
/// </summary>
public sealed class ForeignFolderTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-foreign-folders-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData("[]", "a JSON array")]
    [InlineData("\"model.safetensors\"", "a JSON string")]
    [InlineData("{ \"metadata\": {} }", "an object without a non-empty weight_map")]
    [InlineData("{ \"weight_map\": {} }", "an object without a non-empty weight_map")]
    [InlineData("{ \"weight_map\": [] }", "an object without a non-empty weight_map")]
    public void A_shard_index_that_is_not_an_object_with_a_weight_map_is_refused_by_name(string index, string what)
    {
        // Before: "[]" escaped as JsonElement's InvalidOperationException, and an empty weight_map built the whole model
        // from config.json (sizes unchecked: no weights) only to list every parameter as missing.
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert), null);
        var path = Path.Combine(dir, "model.safetensors.index.json");
        File.WriteAllText(path, index);
        var e = FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.FilePath.Should().Be(path);
        e.Field.Should().Be("weight_map");
        e.Message.Should().Contain(what).And.Contain("save_pretrained");
    }
}
