using System.Text.Json.Nodes;
using Attribution.Models;

namespace Attribution.Tests.Models.Small;

/// <summary>
/// <see cref="SmallClassifierConfig"/> read from config.json text and written back: every documented default, every
/// field read, every refusal naming its field (at the boundary: the smallest value allowed loads, one below is
/// refused), and the written text's fields in their stated order.
/// </summary>
public sealed class SmallClassifierConfigTests
{
    private static SmallClassifierConfig Parse(string fields) => SmallClassifierConfig.Parse("{" + fields + "}", "cfg.json");

    private static void Refused(string fields, string field, string message) =>
        FluentActions.Invoking(() => Parse(fields)).Should().Throw<ModelLoadException>()
            .Where(e => e.Field == field && e.FilePath == "cfg.json")
            .WithMessage(message);

    [Fact]
    public void A_config_of_type_and_vocabulary_only_takes_the_documented_defaults()
    {
        var config = Parse("\"model_type\": \"attribution-mlp\", \"vocab_size\": 30");
        config.ModelType.Should().Be("attribution-mlp");
        config.VocabSize.Should().Be(30);
        config.EmbeddingDim.Should().Be(64);
        config.HiddenSize.Should().Be(64);
        config.KernelSizes.Should().Equal(3, 4, 5);
        config.NumFilters.Should().Be(32);
        config.Dropout.Should().Be(0.2);
        config.MaxLength.Should().Be(128);
        config.PadTokenId.Should().Be(0);
        config.Labels.Should().Equal("negative", "positive");
        config.NumLabels.Should().Be(2);
    }

    [Fact]
    public void Every_field_is_read()
    {
        var config = Parse(
            "\"model_type\": \"attribution-cnn\", \"vocab_size\": 40, \"embedding_dim\": 6, \"hidden_size\": 7, \"kernel_sizes\": [2, 9]," +
            "\"num_filters\": 5, \"dropout\": 0.5, \"max_length\": 33, \"pad_token_id\": 39, \"num_labels\": 3," +
            "\"id2label\": {\"0\": \"x\", \"2\": \"z\", \"1\": \"y\"}, \"label2id\": {\"z\": 2, \"x\": 0}");
        config.Should().BeEquivalentTo(new
        {
            ModelType = "attribution-cnn", VocabSize = 40, EmbeddingDim = 6, HiddenSize = 7, KernelSizes = new[] { 2, 9 }, NumFilters = 5,
            Dropout = 0.5, MaxLength = 33, PadTokenId = 39, Labels = new[] { "x", "y", "z" }, NumLabels = 3,
        }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void The_smallest_values_allowed_load()
    {
        var config = Parse(
            "\"model_type\": \"attribution-lstm\", \"vocab_size\": 1, \"embedding_dim\": 1, \"hidden_size\": 1, \"kernel_sizes\": [1]," +
            "\"num_filters\": 1, \"dropout\": 0, \"max_length\": 1, \"pad_token_id\": 0, \"id2label\": {\"0\": \"only\"}");
        config.Should().BeEquivalentTo(new
        {
            VocabSize = 1, EmbeddingDim = 1, HiddenSize = 1, KernelSizes = new[] { 1 }, NumFilters = 1, Dropout = 0.0, MaxLength = 1, PadTokenId = 0,
            Labels = new[] { "only" },
        });
        Parse("\"model_type\": \"attribution-lstm\", \"vocab_size\": 9, \"dropout\": 0.999, \"pad_token_id\": 8").PadTokenId.Should().Be(8);
    }

    [Fact]
    public void The_model_type_and_vocabulary_size_are_required()
    {
        Refused("\"vocab_size\": 30", "model_type",
            "cfg.json has no \"model_type\"; add one of \"attribution-lstm\", \"attribution-cnn\", \"attribution-mlp\".");
        Refused("\"model_type\": \"attribution-gru\", \"vocab_size\": 30", "model_type",
            "cfg.json: \"model_type\": \"attribution-gru\" is not a small classifier; use one of attribution-lstm, attribution-cnn, attribution-mlp.");
        Refused("\"model_type\": \"attribution-mlp\"", "vocab_size", "cfg.json has no \"vocab_size\"*");
    }

    [Theory]
    [InlineData("vocab_size")]
    [InlineData("embedding_dim")]
    [InlineData("hidden_size")]
    [InlineData("num_filters")]
    [InlineData("max_length")]
    public void A_size_below_1_is_refused_naming_it(string field) =>
        Refused($"\"model_type\": \"attribution-mlp\", \"vocab_size\": 30, \"{field}\": 0", field, $"cfg.json: \"{field}\" is 0; it must be at least 1.");

    [Theory]
    [InlineData("[]", "[]")]
    [InlineData("[3, 0]", "[3, 0]")]
    public void Kernel_sizes_need_a_width_of_at_least_1(string json, string shown) =>
        Refused($"\"model_type\": \"attribution-cnn\", \"vocab_size\": 30, \"kernel_sizes\": {json}", "kernel_sizes",
            $"cfg.json: \"kernel_sizes\" must list at least one width, each at least 1; got {shown}.");

    [Theory]
    [InlineData("-0.1")]
    [InlineData("1")]
    public void A_dropout_outside_0_1_is_refused(string value) =>
        Refused($"\"model_type\": \"attribution-mlp\", \"vocab_size\": 30, \"dropout\": {value}", "dropout", "cfg.json: \"dropout\" is *; a dropout probability must be in [0, 1).");

    [Theory]
    [InlineData(-1)]
    [InlineData(30)]
    public void A_padding_id_outside_the_vocabulary_is_refused(int id) =>
        Refused($"\"model_type\": \"attribution-mlp\", \"vocab_size\": 30, \"pad_token_id\": {id}", "pad_token_id",
            $"cfg.json: \"pad_token_id\" is {id}; it must be a token id in [0, 30).");

    [Fact]
    public void Labels_must_number_the_classes_agree_with_label2id_and_num_labels()
    {
        const string Head = "\"model_type\": \"attribution-mlp\", \"vocab_size\": 30, ";
        Refused(Head + "\"id2label\": {}", "id2label", "cfg.json: \"id2label\" must name at least one class, each with a non-empty name.");
        Refused(Head + "\"id2label\": {\"0\": \"a\", \"2\": \"b\"}", "id2label", "cfg.json: \"id2label\" must number the classes 0..1; it has keys 0, 2.");
        Refused(Head + "\"id2label\": {\"0\": \"a\", \"1\": \"b\"}, \"label2id\": {\"a\": 1}", "label2id",
            "cfg.json: \"label2id\" maps \"a\" to 1, which disagrees with \"id2label\"*");
        Refused(Head + "\"id2label\": {\"0\": \"a\", \"1\": \"b\"}, \"label2id\": {\"b\": 2}", "label2id", "cfg.json: \"label2id\" maps \"b\" to 2*");
        Refused(Head + "\"id2label\": {\"0\": \"a\", \"1\": \"b\"}, \"label2id\": {\"a\": -1}", "label2id", "cfg.json: \"label2id\" maps \"a\" to -1*");
        Refused(Head + "\"id2label\": {\"0\": \"a\", \"1\": \"b\"}, \"num_labels\": 3", "num_labels",
            "cfg.json: \"num_labels\" is 3 but \"id2label\" names 2 classes; make them agree.");
        Refused(Head + "\"num_labels\": 1", "num_labels", "cfg.json: \"num_labels\" is 1 but \"id2label\" names 2 classes*");
        Parse(Head + "\"num_labels\": 2").NumLabels.Should().Be(2);
    }

    [Fact]
    public void A_config_built_in_code_is_checked_when_written_naming_the_property()
    {
        var good = new SmallClassifierConfig { ModelType = SmallClassifierConfig.MlpType, VocabSize = 10 };
        FluentActions.Invoking(() => (good with { VocabSize = 0 }).ToJson()).Should().Throw<ArgumentException>()
            .WithMessage("SmallClassifierConfig.vocab_size: \"vocab_size\" is 0; it must be at least 1.");
        FluentActions.Invoking(() => (good with { ModelType = "attribution-gru" }).ToJson()).Should().Throw<ArgumentException>()
            .WithMessage("SmallClassifierConfig.model_type: model type 'attribution-gru' is not a small classifier*");
        FluentActions.Invoking(() => (good with { Labels = ["a", ""] }).ToJson()).Should().Throw<ArgumentException>()
            .WithMessage("SmallClassifierConfig.id2label: *non-empty name*");
        FluentActions.Invoking(() => (good with { KernelSizes = null! }).ToJson()).Should().Throw<ArgumentException>()
            .WithMessage("SmallClassifierConfig.kernel_sizes: *got [].");
        FluentActions.Invoking(() => (good with { Dropout = double.NaN }).ToJson()).Should().Throw<ArgumentException>()
            .WithMessage("SmallClassifierConfig.dropout: *");
    }

    /// <summary>
    /// Each way the file itself can fail ends with its own fix: a missing file says how a model folder is made, text
    /// that is not JSON says to fix or re-save it, a field of the wrong JSON type names the field, the value and the
    /// fix. Parse without a source names the file "config.json".
    /// </summary>
    [Fact]
    public void A_missing_unreadable_or_mistyped_file_is_refused_naming_the_field_the_value_and_the_fix()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"attribution-no-config-{Guid.NewGuid():N}", "config.json");
        FluentActions.Invoking(() => SmallClassifierConfig.FromFile(missing)).Should().Throw<ModelLoadException>()
            .Where(e => e.FilePath == missing && e.Field == null)
            .WithMessage($"{missing} does not exist. A model folder holds config.json next to model.safetensors (write both with Trainer.SaveFolder).");

        FluentActions.Invoking(() => SmallClassifierConfig.Parse("{\"model_type\": ", "cfg.json")).Should().Throw<ModelLoadException>()
            .Where(e => e.FilePath == "cfg.json")
            .WithMessage("cfg.json is not valid JSON (line 1, byte *): * Fix the file or save the model again.");

        Refused("\"model_type\": \"attribution-mlp\", \"vocab_size\": \"thirty\"", "vocab_size",
            "cfg.json: \"vocab_size\" should be an integer but is \"thirty\"; fix the value or save the model again.");

        FluentActions.Invoking(() => SmallClassifierConfig.Parse("{\"vocab_size\": 30}")).Should().Throw<ModelLoadException>()
            .Where(e => e.FilePath == "config.json" && e.Field == "model_type")
            .WithMessage("config.json has no \"model_type\"*");
    }

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType, "LstmClassifier")]
    [InlineData(SmallClassifierConfig.CnnType, "CnnClassifier")]
    [InlineData(SmallClassifierConfig.MlpType, "MeanMlpClassifier")]
    public void The_written_config_has_every_field_in_order_and_reads_back(string type, string architecture)
    {
        var config = new SmallClassifierConfig
        {
            ModelType = type, VocabSize = 50, EmbeddingDim = 8, HiddenSize = 9, KernelSizes = [2, 3], NumFilters = 4, Dropout = 0.25,
            MaxLength = 20, PadTokenId = 1, Labels = ["neg", "neu", "pos"],
        };
        var json = config.ToJson();
        var root = JsonNode.Parse(json)!.AsObject();
        root.Select(p => p.Key).Should().Equal(
            "model_type", "architectures", "vocab_size", "embedding_dim", "hidden_size", "kernel_sizes", "num_filters", "dropout", "max_length",
            "pad_token_id", "num_labels", "id2label", "label2id");
        root["model_type"]!.GetValue<string>().Should().Be(type);
        root["architectures"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Equal(architecture);
        root["vocab_size"]!.GetValue<int>().Should().Be(50);
        root["embedding_dim"]!.GetValue<int>().Should().Be(8);
        root["hidden_size"]!.GetValue<int>().Should().Be(9);
        root["kernel_sizes"]!.AsArray().Select(k => k!.GetValue<int>()).Should().Equal(2, 3);
        root["num_filters"]!.GetValue<int>().Should().Be(4);
        root["dropout"]!.GetValue<double>().Should().Be(0.25);
        root["max_length"]!.GetValue<int>().Should().Be(20);
        root["pad_token_id"]!.GetValue<int>().Should().Be(1);
        root["num_labels"]!.GetValue<int>().Should().Be(3);
        root["id2label"]!.AsObject().Select(p => (p.Key, p.Value!.GetValue<string>())).Should().Equal(("0", "neg"), ("1", "neu"), ("2", "pos"));
        root["label2id"]!.AsObject().Select(p => (p.Key, p.Value!.GetValue<int>())).Should().Equal(("neg", 0), ("neu", 1), ("pos", 2));
        json.Should().Contain("\n  \"model_type\"", "the text is indented");

        SmallClassifierConfig.Parse(json).Should().BeEquivalentTo(config, o => o.WithStrictOrdering());
    }
}
