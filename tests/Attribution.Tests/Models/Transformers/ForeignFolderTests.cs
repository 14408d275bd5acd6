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

    /// <summary>
    /// Sizes config.json states that the weights' headers contradict are refused before the model is built, naming the
    /// field and both values: type_vocab_size (before: allocated as written, then a shape mismatch of the tensor), a
    /// checkpoint without layers (before: the config's layer count allocated, then every layer parameter listed missing)
    /// and one without word embeddings (before: vocab_size and hidden_size unchecked, then everything listed); a size whose
    /// tensor is absent and would be larger than the whole checkpoint (before: allocated as written, then listed missing).
    /// </summary>
    [Fact]
    public void Sizes_the_weights_cannot_confirm_are_refused_before_the_model_is_built()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 2);
        var weights = model.state_dict();

        var types = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert with { TypeVocabSize = 3 }), weights);
        var e = FluentActions.Invoking(() => TransformerLoader.Load(types)).Should().Throw<ModelLoadException>().Which;
        e.Field.Should().Be("type_vocab_size");
        e.Message.Should().Match("*config.json says type_vocab_size = 3, but the weights' token type embeddings has 2 there (shape [2, 16])*fix type_vocab_size*");

        var noLayers = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert),
            weights.Where(kv => !kv.Key.Contains(".layer.", StringComparison.Ordinal)).ToDictionary());
        e = FluentActions.Invoking(() => TransformerLoader.Load(noLayers)).Should().Throw<ModelLoadException>().Which;
        e.Field.Should().Be("num_hidden_layers");
        e.Message.Should().Match("*says num_hidden_layers = 2, but the weights hold 0 layer(s)*fix num_hidden_layers*");

        // A size whose tensor is absent is bounded by the checkpoint's size (TinyBert's weights hold about 9,000 values;
        // before, the 10^6-row tensor was allocated and then reported missing).
        var noPositions = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert with { MaxPositionEmbeddings = 1_000_000 }),
            weights.Where(kv => !kv.Key.Contains("position_embeddings", StringComparison.Ordinal)).ToDictionary());
        e = FluentActions.Invoking(() => TransformerLoader.Load(noPositions)).Should().Throw<ModelLoadException>().Which;
        e.Field.Should().Be("max_position_embeddings");
        e.Message.Should().Match("*says max_position_embeddings = 1000000, which makes the position embeddings 1000000 × 16 values, more than the weights hold in all*no position embeddings to compare it with*fix max_position_embeddings*");
        var manyLabels = System.Text.RegularExpressions.Regex.Replace(TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert), "\"id2label\": \\{[^}]*\\}", "\"num_labels\": 1000000");
        var noClassifier = TransformerTestKit.WriteFolder(root, manyLabels, weights.Where(kv => !kv.Key.StartsWith("classifier.", StringComparison.Ordinal)).ToDictionary());
        e = FluentActions.Invoking(() => TransformerLoader.Load(noClassifier)).Should().Throw<ModelLoadException>().Which;
        e.Field.Should().Be("num_labels (or id2label)");
        e.Message.Should().Match("*num_labels (or id2label) = 1000000*classifier 1000000 × 16 values*");

        using var scope = NewDisposeScope();
        var gpt2 = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert),
            new Dictionary<string, Tensor> { ["transformer.wte.weight"] = zeros(50, 16), ["transformer.h.0.attn.c_attn.weight"] = zeros(16, 48) });
        e = FluentActions.Invoking(() => TransformerLoader.Load(gpt2)).Should().Throw<ModelLoadException>().Which;
        e.FilePath.Should().Be(Path.Combine(gpt2, "model.safetensors"));
        e.Field.Should().Be("bert.embeddings.word_embeddings.weight");
        e.Message.Should().Match("*holds no word embeddings (bert.embeddings.word_embeddings.weight)*not the checkpoint of a bert classifier*2 tensor(s), e.g. transformer.h.0.attn.c_attn.weight, transformer.wte.weight*save_pretrained*");
    }

    /// <summary>
    /// What a checkpoint that does not fit is told to do depends on why it does not fit (before, names without the
    /// "bert." prefix were told the classification head was missing, though classifier.* was there; a pre-training
    /// head saved beside the classifier and an integer tensor were told to check config.json's sizes).
    /// </summary>
    [Fact]
    public void A_checkpoint_that_does_not_fit_is_told_the_fix_for_its_own_problem()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 3);
        using var scope = NewDisposeScope();
        var weights = model.state_dict();
        var config = TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert);
        string Refusal(IReadOnlyDictionary<string, Tensor> w) =>
            FluentActions.Invoking(() => TransformerLoader.Load(TransformerTestKit.WriteFolder(root, config, w))).Should().Throw<ModelLoadException>().Which.Message;

        var unprefixed = weights.ToDictionary(kv => kv.Key.StartsWith("bert.", StringComparison.Ordinal) ? kv.Key["bert.".Length..] : kv.Key, kv => kv.Value);
        Refusal(unprefixed).Should().Match("*missing 39 parameter(s)*unexpected 39 tensor(s)*Fix: 39 tensor name(s) lack the \"bert.\" prefix*" +
            "(\"embeddings.LayerNorm.bias\" for \"bert.embeddings.LayerNorm.bias\")*base model (model.bert*save the fine-tuned classifier itself with save_pretrained*")
            .And.NotContain("lacks the classification head");

        var withMlmHead = new Dictionary<string, Tensor>(weights) { ["cls.predictions.bias"] = zeros(50), ["cls.predictions.transform.dense.weight"] = zeros(16, 16) };
        Refusal(withMlmHead).Should().Match("*unexpected 2 tensor(s): cls.predictions.bias, cls.predictions.transform.dense.weight. " +
            "Fix: the checkpoint holds tensors BertForSequenceClassification has no place for (such as a pre-training head*remove them from the file*");

        var integer = weights.ToDictionary(kv => kv.Key, kv => kv.Key == "classifier.bias" ? kv.Value.to_type(ScalarType.Int32) : kv.Value);
        Refusal(integer).Should().Match("*classifier.bias: the model expects [3] floating point, the checkpoint has [3] Int32. " +
            "Fix: integer or boolean tensors stand where floating-point parameters belong*float32, float16, bfloat16 or float64*")
            .And.NotContain("vocab_size");
    }

    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "sometimes", "tedious", "film"];

    /// <summary>
    /// A one-layer, hidden-8 folder whose config.json is written by hand, in Hugging Face's names, leaving out what
    /// save_pretrained may leave out (hidden_act when it is "gelu", type_vocab_size, pad_token_id, the dropouts) and
    /// with a layer_norm_eps far from 1e-12 (0.25, so a builder that ignored it would move the logits by far more than the
    /// tolerance), id2label written out of order. The expected logits come from TransformerTestKit.ReferenceLogits
    /// (float64, plain ops) on the same tensors, under a config written here field by field, not parsed. Tolerance 1e-5:
    /// float32 rounding through one layer of width 8, on logits of order 1.
    /// </summary>
    [Theory]
    [InlineData("bert", null)]
    [InlineData("bert", "gelu_new")]
    [InlineData("bert", "gelu_pytorch_tanh")]
    [InlineData("bert", "relu")]
    [InlineData("distilbert", null)]
    [InlineData("distilbert", "gelu_pytorch_tanh")]
    [InlineData("roberta", "gelu_new")]
    [InlineData("roberta", null)]
    public void A_hand_written_one_layer_folder_loads_with_the_logits_of_an_independent_forward_pass(string type, string? act)
    {
        var distil = type == "distilbert";
        var expected = new TransformerConfig
        {
            ModelType = type, VocabSize = 12, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 12,
            MaxPositionEmbeddings = 18, HiddenAct = act ?? "gelu", TypeVocabSize = distil ? 0 : 2, PadTokenId = type == "roberta" ? 1 : 0,

            // Hugging Face's DistilBERT ignores layer_norm_eps (every LayerNorm has 1e-12).
            LayerNormEps = distil ? 1e-12 : 0.25, NumLabels = 2,
        };
        var activation = act is null ? string.Empty : $"\"{(distil ? "activation" : "hidden_act")}\": \"{act}\", ";
        var sizes = distil
            ? "\"dim\": 8, \"n_layers\": 1, \"n_heads\": 2, \"hidden_dim\": 12"
            : "\"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 12";
        var json = $$"""
            { "architectures": ["{{(type == "bert" ? "Bert" : distil ? "DistilBert" : "Roberta")}}ForSequenceClassification"], "model_type": "{{type}}",
              "vocab_size": 12, {{sizes}}, {{activation}}"max_position_embeddings": 18, "layer_norm_eps": 0.25,
              "id2label": { "1": "positive", "0": "negative" }, "label2id": { "negative": 0, "positive": 1 }, "torch_dtype": "float32" }
            """;
        using var original = TransformerTestKit.RandomModel(expected, seed: 17);
        var dir = TransformerTestKit.WriteFolder(root, json, original.state_dict());
        using var loaded = TransformerLoader.Load(dir);
        loaded.Config.Id2Label.OrderBy(kv => kv.Key).Select(kv => kv.Value).Should().Equal("negative", "positive");

        using var scope = NewDisposeScope();
        long[][] sequences = [[2, 5, 6, 7, 8, 3], [2, 9, 10, 3]];
        var (ids, mask) = TransformerTestKit.Pad(sequences, expected.PadTokenId);
        var actual = loaded.call(new ModelInput(ids, mask)).data<float>().ToArray();
        var reference = TransformerTestKit.ReferenceLogits(expected, original.state_dict(), TransformerGoldenTests.ToArray2(ids), TransformerGoldenTests.ToArray2(mask));
        TransformerTestKit.MaxAbsDiff(actual, reference).Should().BeLessThan(1e-5);

        if (type != "roberta")
        {
            // The same folder through ClassifierLoader with a WordPiece vocab.txt: labels in id order, the same logits.
            File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Vocabulary);
            using var classifier = ClassifierLoader.Load(dir);
            classifier.Labels.Should().Equal("negative", "positive");
            classifier.MaxLength.Should().Be(18);
            var prediction = classifier.Predict(["a sometimes tedious film"]).Single();
            TransformerTestKit.MaxAbsDiff(prediction.Logits.Select(v => (float)v).ToArray(), reference[..2]).Should().BeLessThan(1e-5);
        }
    }

    [Fact]
    public void A_tokenizer_with_more_ids_than_the_embedding_table_is_refused_by_the_classifier_loader()
    {
        var config = new TransformerConfig
        {
            ModelType = "bert", VocabSize = 7, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 12, MaxPositionEmbeddings = 18,
        };
        using var model = TransformerTestKit.RandomModel(config, seed: 4);
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(config), model.state_dict());
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Vocabulary);
        var e = FluentActions.Invoking(() => ClassifierLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.Field.Should().Be("vocab_size");
        e.Message.Should().Match("*tokenizer*has 9 ids but the model's embedding has 7 rows*");
    }

    /// <summary>
    /// A Hugging Face Optimum export (model.onnx or onnx/model.onnx, no model.safetensors) is pointed at the ONNX loader;
    /// before, it was told to save the model with save_pretrained or download model.safetensors.
    /// </summary>
    [Theory]
    [InlineData("model.onnx")]
    [InlineData("onnx/model.onnx")]
    public void An_onnx_export_without_safetensors_is_pointed_at_the_onnx_loader(string graph)
    {
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert), null);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, graph))!);
        File.WriteAllBytes(Path.Combine(dir, graph), [8, 7]);
        var e = FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.FilePath.Should().Be(Path.Combine(dir, "model.safetensors"));
        e.Message.Should().Contain($"holds an ONNX export ({graph}) and no model.safetensors: load it with OnnxTextClassifier.Load (the ONNX Runtime package of this library");
    }

    /// <summary>A folder of sharded pickles (pytorch_model.bin.index.json) is refused as such, with the conversion command (before: the JSON index was called "a PyTorch pickle").</summary>
    [Fact]
    public void Sharded_pickles_are_refused_naming_the_index_and_the_conversion()
    {
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert), null);
        var index = Path.Combine(dir, "pytorch_model.bin.index.json");
        File.WriteAllText(index, """{ "weight_map": { "classifier.weight": "pytorch_model-00001-of-00001.bin" } }""");
        var e = FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.FilePath.Should().Be(index);
        e.Message.Should().StartWith($"{index} indexes sharded PyTorch pickles and {dir} has no model.safetensors")
            .And.Contain("never reads them").And.Contain("save_pretrained(r'" + dir + "', safe_serialization=True)");
    }
}
