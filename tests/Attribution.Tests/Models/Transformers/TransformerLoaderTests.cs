using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>Model folders written on the fly: round trips, Hugging Face quirks, and every way a folder can be wrong.</summary>
public sealed class TransformerLoaderTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "attribution-loader-tests-" + Guid.NewGuid().ToString("N"));

    public TransformerLoaderTests() => Directory.CreateDirectory(root);

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Folder(TransformerClassifier model, Action<Dictionary<string, Tensor>>? edit = null, string? configJson = null)
    {
        var weights = new Dictionary<string, Tensor>(model.state_dict());
        edit?.Invoke(weights);
        return TransformerTestKit.WriteFolder(root, configJson ?? TransformerTestKit.ConfigJson(model.Config), weights);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("distilbert")]
    [InlineData("roberta")]
    public void A_saved_model_loads_back_in_eval_mode_with_the_same_logits(string type)
    {
        var config = type switch
        {
            "bert" => TransformerTestKit.TinyBert,
            "distilbert" => TransformerTestKit.TinyDistilBert,
            _ => TransformerTestKit.TinyRoberta,
        };
        using var original = TransformerTestKit.RandomModel(config, seed: 21);
        var dir = Folder(original);
        using var loaded = TransformerLoader.Load(dir);
        loaded.GetType().Should().Be(original.GetType());
        loaded.training.Should().BeFalse();
        loaded.Config.ModelType.Should().Be(type);
        loaded.Config.Id2Label.Should().BeEquivalentTo(config.Id2Label);

        using var scope = NewDisposeScope();
        var input = new ModelInput(tensor(new long[] { 2, 8, 5, 3 }, [1, 4]));
        loaded.call(input).data<float>().ToArray().Should().Equal(original.call(input).data<float>().ToArray());
    }

    /// <summary>
    /// A checkpoint saved in float16, bfloat16 or float64 loads into the float32 model, as transformers loads it by
    /// default: each parameter equals libtorch's float32 cast of the stored tensor, exactly (float16 and bfloat16 values
    /// are all float32 values; float64 ones are rounded to nearest by both).
    /// </summary>
    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    public void Half_precision_and_double_weights_are_converted_to_float32(ScalarType stored)
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 5);
        using var scope = NewDisposeScope();
        var weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to_type(stored));
        using var loaded = TransformerLoader.Load(TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(model.Config), weights));

        foreach (var (name, parameter) in loaded.state_dict())
        {
            parameter.dtype.Should().Be(ScalarType.Float32, name);
            parameter.data<float>().ToArray().Should().Equal(weights[name].to_type(ScalarType.Float32).data<float>().ToArray(), name);
        }
    }

    [Fact]
    public void Hugging_face_buffers_legacy_names_and_an_unused_roberta_pooler_are_accepted()
    {
        using var bert = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 4);
        using var scope = NewDisposeScope();
        var dir = Folder(bert, w =>
        {
            w["bert.embeddings.position_ids"] = KeptScalars.Range(12).unsqueeze(0);
            w["bert.embeddings.token_type_ids"] = zeros([1, 12], ScalarType.Int64);
            w["bert.embeddings.LayerNorm.gamma"] = w["bert.embeddings.LayerNorm.weight"];
            w["bert.embeddings.LayerNorm.beta"] = w["bert.embeddings.LayerNorm.bias"];
            w.Remove("bert.embeddings.LayerNorm.weight");
            w.Remove("bert.embeddings.LayerNorm.bias");
        });
        using (var loaded = TransformerLoader.Load(dir))
        {
            var input = new ModelInput(tensor(new long[] { 2, 8, 3 }, [1, 3]));
            loaded.call(input).data<float>().ToArray().Should().Equal(bert.call(input).data<float>().ToArray());
        }

        using var roberta = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 4);
        var withPooler = Folder(roberta, w =>
        {
            w["roberta.pooler.dense.weight"] = randn([12, 12]);
            w["roberta.pooler.dense.bias"] = randn([12]);
        });
        using (TransformerLoader.Load(withPooler))
        {
        }
    }

    [Fact]
    public void A_missing_folder_or_config_json_is_reported_with_the_fix()
    {
        var missing = Path.Combine(root, "nope");
        FluentActions.Invoking(() => TransformerLoader.Load(missing)).Should().Throw<ModelLoadException>()
            .WithMessage($"*{missing}*does not exist*config.json*model.safetensors*");

        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 1);
        var dir = Folder(model);
        File.Delete(Path.Combine(dir, "config.json"));
        var e = FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.FilePath.Should().Be(Path.Combine(dir, "config.json"));
        e.Message.Should().Contain("config.json").And.Contain("save_pretrained");
    }

    [Theory]
    [InlineData("{ \"model_type\": \"bert\", ", "not valid JSON (line 1, byte 25): Expected start of a property name or value, but instead reached end of data. Fix", null)]
    [InlineData("[1, 2]", "JSON object", null)]
    [InlineData("{ \"vocab_size\": 50 }", "no \"model_type\"", "model_type")]
    [InlineData("{ \"model_type\": \"gpt2\" }", "\"gpt2\" is not supported*bert, distilbert, roberta", "model_type")]
    [InlineData("{ \"model_type\": \"bert\", \"hidden_act\": \"swish\" }", "activation \"swish\" is not supported*gelu", "hidden_act")]
    [InlineData("{ \"model_type\": \"distilbert\", \"activation\": \"silu\" }", "activation \"silu\"", "activation")]
    [InlineData("{ \"model_type\": \"bert\", \"hidden_size\": \"big\" }", "\"hidden_size\" should be an integer but is \"big\"", "hidden_size")]
    [InlineData("{ \"model_type\": \"bert\", \"hidden_size\": 10, \"num_attention_heads\": 3 }", "not a multiple", "num_attention_heads")]
    [InlineData("{ \"model_type\": \"bert\", \"id2label\": { \"0\": \"a\", \"2\": \"b\" } }", "every class 0..1", "id2label")]
    [InlineData("{ \"model_type\": \"bert\", \"num_labels\": 2, \"id2label\": {} }", "\"id2label\" is empty*no classes*remove it to use num_labels", "id2label")]
    // An unnamed class is refused as TextClassifier.FromTorchSharp refuses it (repeated names are kept).
    [InlineData("{ \"model_type\": \"bert\", \"id2label\": { \"0\": \"a\", \"1\": \"\" } }", "\"id2label\" leaves class 1 without a name (its name is empty)*\"LABEL_1\"", "id2label")]
    [InlineData("{ \"model_type\": \"bert\", \"id2label\": { \"0\": \" \\t\", \"1\": \"b\" } }", "\"id2label\" leaves class 0 without a name (its name is blank (U+0020 U+0009))*\"LABEL_0\"", "id2label")]
    [InlineData("{ \"model_type\": \"bert\", \"id2label\": { \"0\": \"a\", \"1\": \"b\" }, \"label2id\": { \"a\": 0, \"b\": 2 } }", "\"label2id\" maps \"b\" to 2, outside the classes 0..1 (num_labels = 2)*remove \"label2id\"", "label2id")]
    [InlineData("{ \"model_type\": \"bert\", \"num_labels\": 3, \"label2id\": { \"x\": 0, \"y\": -1, \"z\": 2 } }", "\"label2id\" maps \"y\" to -1, outside the classes 0..2", "label2id")]
    [InlineData("{ \"model_type\": \"bert\", \"id2label\": { \"0\": \"a\", \"1\": \"b\" }, \"label2id\": { \"a\": 1, \"b\": 1 } }", "\"label2id\" maps \"a\" and \"b\" to the same class 1*Fix the index", "label2id")]
    [InlineData("{ \"model_type\": \"bert\", \"position_embedding_type\": \"relative_key\" }", "only \"absolute\"", "position_embedding_type")]
    [InlineData("{ \"model_type\": \"bert\", \"architectures\": [\"BertForTokenClassification\"] }", "\"BertForTokenClassification\"], not a sequence classifier", "architectures")]
    [InlineData("{ \"model_type\": \"roberta\", \"architectures\": [\"RobertaForMaskedLM\"] }", "not a sequence classifier*AutoModelForSequenceClassification", "architectures")]
    [InlineData("{ \"model_type\": \"bert\", \"is_decoder\": true }", "\"is_decoder\" is true*causal*bidirectional encoders only", "is_decoder")]
    [InlineData("{ \"model_type\": \"roberta\", \"is_decoder\": true }", "\"is_decoder\" is true*causal", "is_decoder")]
    [InlineData("{ \"model_type\": \"bert\", \"is_decoder\": \"no\" }", "\"is_decoder\" should be true or false but is \"no\"", "is_decoder")]
    // A softmax over one logit is 1 for every text: refused whether num_labels or a one-entry id2label gives the one output.
    [InlineData("{ \"model_type\": \"bert\", \"num_labels\": 1, \"problem_type\": \"single_label_classification\" }", "\"problem_type\" is \"single_label_classification\" but \"num_labels\" is 1*\"regression\"*at least two labels", "problem_type")]
    [InlineData("{ \"model_type\": \"roberta\", \"id2label\": { \"0\": \"score\" }, \"problem_type\": \"single_label_classification\" }", "\"num_labels\" is 1 (one output)*softmax over one logit", "problem_type")]
    // transformers' DistilBertConfig has no hidden_act: under this config Hugging Face runs GELU, not ReLU.
    [InlineData("{ \"model_type\": \"distilbert\", \"hidden_act\": \"relu\" }", "\"hidden_act\" is \"relu\", but a DistilBERT takes its activation from \"activation\"*runs \"gelu\"*", "hidden_act")]
    // DistilBertConfig maps num_attention_heads onto n_heads and the alias wins: two different head counts are refused.
    [InlineData("{ \"model_type\": \"distilbert\", \"n_heads\": 4, \"num_attention_heads\": 2 }", "\"n_heads\" is 4 but \"num_attention_heads\" is 2*transformers takes \"num_attention_heads\"*", "n_heads")]
    [InlineData("{ \"model_type\": \"distilbert\", \"dim\": 64, \"hidden_size\": 32 }", "\"dim\" is 64 but \"hidden_size\" is 32*", "dim")]
    [InlineData("{ \"model_type\": \"distilbert\", \"n_layers\": 2, \"num_hidden_layers\": 3 }", "\"n_layers\" is 2 but \"num_hidden_layers\" is 3*", "n_layers")]
    public void A_bad_config_names_the_file_and_field(string json, string expected, string? field)
    {
        var dir = TransformerTestKit.WriteFolder(root, json, null);
        var e = FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.Message.Should().Match($"*{Path.Combine(dir, "config.json")}*{expected}*");
        e.Message.Should().NotContain("LineNumber", "the position is given once, counted from 1");
        e.Field.Should().Be(field);
    }

    /// <summary>
    /// TextClassifier's public constructor (the way a loaded transformer or small model is assembled) refuses a class
    /// without a name as the factories do, naming its index; a repeated name is kept.
    /// </summary>
    [Fact]
    public void A_classifier_assembled_in_code_refuses_an_unnamed_class()
    {
        using var module = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 1);
        var tokenizer = new Attribution.Tests.Methods.IdsTokenizer(2, 3, 0, module.Config.VocabSize);
        FluentActions.Invoking(() => new TextClassifier("x", tokenizer, module, ["a", "\t", "c"], module.WordEmbeddingPath, 12, usesTokenTypes: true))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels").WithMessage("labels[1] is blank (U+0009) in [a, \t, c]*LABEL_1*");
        FluentActions.Invoking(() => new TextClassifier("x", tokenizer, module, ["a", "", "c"], module.WordEmbeddingPath, 12, usesTokenTypes: true))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels").WithMessage("labels[1] is empty*");
        FluentActions.Invoking(() => new TextClassifier("x", tokenizer, module, ["a", "b", "c"], module.WordEmbeddingPath, 0, usesTokenTypes: true))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "maxLength");
    }

    [Fact]
    public void Config_parsing_reads_hugging_face_fields_and_defaults()
    {
        var bert = TransformerConfig.Parse("""
            { "model_type": "bert", "hidden_size": 64, "num_attention_heads": 4, "num_labels": 3, "problem_type": "single_label_classification",
              "hidden_act": "gelu_new", "label2id": { "x": 0, "y": 1, "z": 2 }, "is_decoder": false }
            """);
        bert.HiddenSize.Should().Be(64);
        bert.NumHiddenLayers.Should().Be(12);
        bert.NumLabels.Should().Be(3);
        bert.Id2Label[2].Should().Be("LABEL_2");
        bert.Label2Id["z"].Should().Be(2);
        bert.PadTokenId.Should().Be(0);
        bert.ProblemType.Should().Be("single_label_classification");
        TransformerConfig.Parse("""{ "model_type": "bert", "num_labels": 1, "problem_type": "regression" }""").NumLabels.Should().Be(1, "one output is fine as a regression");
        TransformerConfig.Parse("""{ "model_type": "bert", "num_labels": 1 }""").ProblemType.Should().BeNull("one output without problem_type is Hugging Face's regression");
        FluentActions.Invoking(() => new TransformerConfig { ModelType = "bert", NumLabels = 1, ProblemType = "single_label_classification" }.Validate(null))
            .Should().Throw<ArgumentException>().WithMessage("TransformerConfig.problem_type:*\"num_labels\" is 1*");
        FluentActions.Invoking(() => new TransformerConfig { ModelType = "bert", NumLabels = 2, Id2Label = new Dictionary<int, string> { [0] = "a", [1] = " " } }.Validate(null))
            .Should().Throw<ArgumentException>().WithMessage("TransformerConfig.id2label:*leaves class 1 without a name (its name is blank (U+0020))*LABEL_1*");

        var roberta = TransformerConfig.Parse("""{ "model_type": "roberta", "num_labels": 5, "id2label": { "0": "neg", "1": "pos" } }""");
        roberta.PadTokenId.Should().Be(1);
        roberta.NumLabels.Should().Be(2, "id2label decides, as in Hugging Face");
        roberta.Label2Id["pos"].Should().Be(1);
        roberta.MaxSequenceLength.Should().Be(510);
        TransformerConfig.Parse("""{ "model_type": "roberta" }""").VocabSize.Should().Be(50265, "transformers' RobertaConfig(vocab_size=50265, …)");

        // Built in code, too, a RoBERTa pads with transformers' RobertaConfig default 1 (its positions start at 2): with 0
        // every position embedding would be read one row early, and the length limit of a 514-row table would be 513, not 512.
        var coded = new TransformerConfig { ModelType = "roberta", MaxPositionEmbeddings = 514 };
        (coded.PadTokenId, coded.MaxSequenceLength).Should().Be((1, 512));
        (coded with { PadTokenId = 0 }).PadTokenId.Should().Be(0, "a pad id that is set is kept");
        new TransformerConfig { ModelType = "bert" }.PadTokenId.Should().Be(0);
        new TransformerConfig { ModelType = "distilbert" }.PadTokenId.Should().Be(0);
        TransformerConfig.Parse("""{ "model_type": "distilbert" }""").VocabSize.Should().Be(30522, "DistilBertConfig(vocab_size=30522, …)");

        // DistilBertConfig reads "activation" (default "gelu") and never "hidden_act" (not even as an alias).
        TransformerConfig.Parse("""{ "model_type": "distilbert", "activation": "relu", "hidden_act": "gelu_new" }""").HiddenAct.Should().Be("relu");
        TransformerConfig.Parse("""{ "model_type": "distilbert", "hidden_act": "gelu" }""").HiddenAct.Should().Be("gelu", "GELU is what Hugging Face runs anyway");
        var aliased = TransformerConfig.Parse("""{ "model_type": "distilbert", "hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 3, "n_layers": 3 }""");
        (aliased.HiddenSize, aliased.NumAttentionHeads, aliased.NumHiddenLayers).Should().Be((32, 4, 3), "DistilBertConfig.attribute_map reads the BERT names, and equal values agree");

        // Hub configs often customise one map and leave the other at the LABEL_i defaults: names may disagree.
        var relabelled = TransformerConfig.Parse("""
            { "model_type": "bert", "id2label": { "0": "negative", "1": "positive" }, "label2id": { "LABEL_0": 0, "LABEL_1": 1 } }
            """);
        relabelled.Id2Label[1].Should().Be("positive");
        relabelled.Label2Id["LABEL_1"].Should().Be(1);

        var distil = TransformerConfig.Parse("""{ "model_type": "distilbert", "dim": 32, "n_layers": 3, "n_heads": 4, "hidden_dim": 40, "activation": "relu", "layer_norm_eps": 0.1, "is_decoder": true }""");
        (distil.HiddenSize, distil.NumHiddenLayers, distil.NumAttentionHeads, distil.IntermediateSize, distil.HiddenAct).Should().Be((32, 3, 4, 40, "relu"));
        distil.LayerNormEps.Should().Be(1e-12, "DistilBERT hard-codes its LayerNorm eps");
        // Hugging Face's DistilBERT never reads is_decoder (it has no causal mode), so it is accepted there.
    }

    [Fact]
    public void Architectures_that_include_a_sequence_classifier_are_accepted()
    {
        // Checkpoints saved from several heads list each; one sequence classifier among them is enough, and an empty
        // list or a list of non-strings says nothing about the head.
        foreach (var architectures in new[] { "[\"BertForMaskedLM\", \"BertForSequenceClassification\"]", "[]", "[1, null]" })
        {
            TransformerConfig.Parse($$"""{ "model_type": "bert", "architectures": {{architectures}} }""").ModelType.Should().Be("bert", architectures);
        }

        var refused = () => TransformerConfig.Parse("""{ "model_type": "bert", "architectures": ["BertForMaskedLM", "BertModel"] }""");
        refused.Should().Throw<ModelLoadException>().Which.Field.Should().Be("architectures");
    }

    [Fact]
    public void A_missing_weight_is_listed()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 1);
        var dir = Folder(model, w => w.Remove("bert.encoder.layer.1.attention.self.key.bias"));
        var e = FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.Message.Should().Contain("missing 1 parameter(s): bert.encoder.layer.1.attention.self.key.bias").And.Contain("model.safetensors");
        e.Field.Should().Be("bert.encoder.layer.1.attention.self.key.bias");
    }

    [Fact]
    public void A_missing_bert_pooler_or_classifier_is_reported_as_a_missing_head()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 1);
        var dir = Folder(model, w =>
        {
            w.Remove("bert.pooler.dense.weight");
            w.Remove("bert.pooler.dense.bias");
        });
        FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>()
            .WithMessage("*missing 2 parameter(s): bert.pooler.dense.bias, bert.pooler.dense.weight*classification head*");
    }

    [Fact]
    public void An_unexpected_tensor_is_listed()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyDistilBert, seed: 1);
        using var scope = NewDisposeScope();
        var dir = Folder(model, w => w["vocab_projector.bias"] = zeros(50));
        FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>()
            .WithMessage("*unexpected 1 tensor(s): vocab_projector.bias*");
    }

    [Fact]
    public void A_shape_mismatch_names_both_shapes_and_the_config_fields()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 1);
        var dir = Folder(model, configJson: TransformerTestKit.ConfigJson(TransformerTestKit.TinyRoberta with { NumLabels = 4 }));
        FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>()
            .WithMessage("*config.json says num_labels (or id2label) = 4*classifier has 2 there (shape [2, 12])*fix num_labels*");
    }

    [Fact]
    public void A_pickle_only_folder_is_refused_with_the_conversion_command()
    {
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert), null);
        File.WriteAllBytes(Path.Combine(dir, "pytorch_model.bin"), [0x80, 0x02, 0x7d, 0x71]);
        var e = FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().Which;
        e.FilePath.Should().Be(Path.Combine(dir, "pytorch_model.bin"));
        e.Message.Should().Contain("pickle").And.Contain("never reads them").And.Contain("safe_serialization=True").And.Contain("save_pretrained");

        File.Delete(Path.Combine(dir, "pytorch_model.bin"));
        FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>().WithMessage("*no model.safetensors*");
    }

    [Fact]
    public void A_corrupt_safetensors_file_is_a_model_load_exception()
    {
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(TransformerTestKit.TinyBert), null);
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), [1, 2, 3]);
        FluentActions.Invoking(() => TransformerLoader.Load(dir)).Should().Throw<ModelLoadException>()
            .WithMessage("*model.safetensors cannot be read*").Which.InnerException.Should().BeOfType<SafeTensorsException>();
    }

    [Fact]
    public void Sharded_safetensors_with_an_index_load()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyDistilBert, seed: 8);
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(model.Config), null);
        var all = model.state_dict();
        var first = all.Where(kv => kv.Key.StartsWith("distilbert.embeddings", StringComparison.Ordinal)).ToDictionary();
        var rest = all.Where(kv => !first.ContainsKey(kv.Key)).ToDictionary();
        SafeTensors.Save(Path.Combine(dir, "model-00001-of-00002.safetensors"), first);
        SafeTensors.Save(Path.Combine(dir, "model-00002-of-00002.safetensors"), rest);
        var map = string.Join(", ", first.Keys.Select(k => $"\"{k}\": \"model-00001-of-00002.safetensors\"")
            .Concat(rest.Keys.Select(k => $"\"{k}\": \"model-00002-of-00002.safetensors\"")));
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), $$"""{ "metadata": {}, "weight_map": { {{map}} } }""");

        using var loaded = TransformerLoader.Load(dir);
        using var scope = NewDisposeScope();
        var input = new ModelInput(tensor(new long[] { 2, 8, 3 }, [1, 3]));
        loaded.call(input).data<float>().ToArray().Should().Equal(model.call(input).data<float>().ToArray());
    }
}
