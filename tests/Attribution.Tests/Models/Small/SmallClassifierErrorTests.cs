using Attribution.Models;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models.Small;

/// <summary>Bad input and broken model folders: each is a clear, typed error.</summary>
public sealed class SmallClassifierErrorTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-small-errors-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Folder(string type = SmallClassifierConfig.CnnType) => SmallModelKit.SaveRandom(root, type);

    [Fact]
    public void Empty_and_whitespace_texts_are_refused()
    {
        using var classifier = ClassifierLoader.Load(Folder());
        foreach (var text in new[] { string.Empty, "   \t\n " })
        {
            var act = () => classifier.Predict([text]);
            act.Should().Throw<ArgumentException>().WithMessage("*empty or whitespace*");
        }
    }

    [Fact]
    public void A_text_longer_than_the_maximum_is_an_error_unless_truncation_is_asked_for()
    {
        using var classifier = ClassifierLoader.Load(Folder(SmallClassifierConfig.LstmType));
        var longText = string.Join(' ', Enumerable.Repeat("the film was dull", 2500));
        longText.Split(' ').Should().HaveCount(10_000);
        var act = () => classifier.Predict([longText]);
        act.Should().Throw<ArgumentException>().WithMessage("*10002 tokens*accepts at most 24*truncat*");

        // Asked for, truncation happens and says so.
        var prediction = classifier.Predict([longText], truncate: true);
        prediction.Should().HaveCount(1);
        using var scope = NewDisposeScope();
        var batch = classifier.Encode([longText], truncate: true);
        batch.Lengths[0].Should().Be(24);
        batch.Encodings[0].Truncated.Should().Be(10_002 - 24);
    }

    [Fact]
    public void A_missing_or_malformed_config_is_a_model_load_exception()
    {
        var dir = Folder();
        var config = Path.Combine(dir, "config.json");
        var original = File.ReadAllText(config);

        File.Delete(config);
        var act = () => ClassifierLoader.Load(dir);
        act.Should().Throw<ModelLoadException>().WithMessage("*config.json*missing*").Which.FilePath.Should().Be(config);

        File.WriteAllText(config, "{ \"model_type\": \"attribution-cnn\", ");
        act.Should().Throw<ModelLoadException>().WithMessage("*not valid JSON*");

        File.WriteAllText(config, original.Replace("\"embedding_dim\": 12", "\"embedding_dim\": \"twelve\"", StringComparison.Ordinal));
        act.Should().Throw<ModelLoadException>().WithMessage("*\"embedding_dim\" should be an integer*").Which.Field.Should().Be("embedding_dim");

        File.WriteAllText(config, original.Replace("\"vocab_size\"", "\"vocabulary\"", StringComparison.Ordinal));
        act.Should().Throw<ModelLoadException>().WithMessage("*no \"vocab_size\"*").Which.Field.Should().Be("vocab_size");

        File.WriteAllText(config, original.Replace("attribution-cnn", "attribution-gru", StringComparison.Ordinal));
        act.Should().Throw<ModelLoadException>().WithMessage("*attribution-gru*cannot load*attribution-cnn*").Which.Field.Should().Be("model_type");

        File.WriteAllText(config, original.Replace("\"1\": \"positive\"", "\"2\": \"positive\"", StringComparison.Ordinal));
        act.Should().Throw<ModelLoadException>().WithMessage("*id2label*0..1*").Which.Field.Should().Be("id2label");

        File.WriteAllText(config, original.Replace("\"dropout\": 0.3", "\"dropout\": 1.5", StringComparison.Ordinal));
        act.Should().Throw<ModelLoadException>().WithMessage("*dropout*[0, 1)*").Which.Field.Should().Be("dropout");
    }

    /// <summary>
    /// As in a Hugging Face config, two classes may share a name (classes are addressed by index; a target named by the
    /// shared label is refused when it is resolved); an empty name is still refused, naming id2label.
    /// </summary>
    [Fact]
    public void A_repeated_label_name_loads_and_an_empty_one_is_refused()
    {
        var dir = Folder();
        var config = Path.Combine(dir, "config.json");
        // What Hugging Face writes for id2label {0: negative, 1: negative}: label2id inverts it, the last index winning.
        var repeated = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        repeated["id2label"] = new System.Text.Json.Nodes.JsonObject { ["0"] = "negative", ["1"] = "negative" };
        repeated["label2id"] = new System.Text.Json.Nodes.JsonObject { ["negative"] = 1 };
        File.WriteAllText(config, repeated.ToJsonString());
        using (var classifier = ClassifierLoader.Load(dir))
        {
            classifier.Labels.Should().Equal("negative", "negative");
        }

        repeated["id2label"] = new System.Text.Json.Nodes.JsonObject { ["0"] = "negative", ["1"] = "" };
        repeated.Remove("label2id");
        File.WriteAllText(config, repeated.ToJsonString());
        var act = () => ClassifierLoader.Load(dir);
        act.Should().Throw<ModelLoadException>().WithMessage("*id2label*non-empty*").Which.Field.Should().Be("id2label");
    }

    [Fact]
    public void A_missing_or_malformed_vocabulary_is_a_tokenizer_exception()
    {
        var dir = Folder();
        var vocab = Path.Combine(dir, "vocab.txt");
        var lines = File.ReadAllLines(vocab);

        File.Delete(vocab);
        var act = () => ClassifierLoader.Load(dir);
        act.Should().Throw<TokenizerException>().WithMessage("*no tokenizer files*");

        // Without its special tokens the vocabulary cannot make model input.
        File.WriteAllLines(vocab, lines.Where(l => !l.StartsWith('[')));
        act.Should().Throw<TokenizerException>();

        File.WriteAllText(vocab, string.Empty);
        act.Should().Throw<TokenizerException>();

        // A vocabulary bigger than the embedding table does not belong to the model.
        File.WriteAllLines(vocab, lines.Concat(Enumerable.Range(0, 50).Select(i => $"extra{i}")));
        act.Should().Throw<ModelLoadException>().WithMessage("*tokenizer*ids*embedding*rows*").Which.Field.Should().Be("vocab_size");
    }

    [Fact]
    public void A_missing_unexpected_or_mis_shaped_weight_is_named()
    {
        var dir = Folder(SmallClassifierConfig.MlpType);
        var weightsPath = Path.Combine(dir, "model.safetensors");
        var act = () => ClassifierLoader.Load(dir);

        void Rewrite(Action<Dictionary<string, Tensor>> edit, string source)
        {
            var weights = SafeTensors.Load(source);
            try
            {
                edit(weights);
                SafeTensors.Save(weightsPath, weights);
            }
            finally
            {
                foreach (var t in weights.Values)
                {
                    t.Dispose();
                }
            }
        }

        var pristine = Path.Combine(root, "pristine.safetensors");
        File.Copy(weightsPath, pristine);

        Rewrite(w =>
        {
            w["hidden.bias"].Dispose();
            w.Remove("hidden.bias");
        }, pristine);
        act.Should().Throw<ModelLoadException>().WithMessage("*missing 1 parameter(s): hidden.bias*").Which.Field.Should().Be("hidden.bias");

        Rewrite(w => w["hidden.extra"] = zeros(3), pristine);
        act.Should().Throw<ModelLoadException>().WithMessage("*unexpected 1 tensor(s): hidden.extra*").Which.Field.Should().Be("hidden.extra");

        Rewrite(w =>
        {
            w["classifier.bias"].Dispose();
            w["classifier.bias"] = zeros(5);
        }, pristine);
        act.Should().Throw<ModelLoadException>().WithMessage("*shape mismatch*classifier.bias: the model expects [2]*checkpoint has [5]*").Which.Field.Should().Be("classifier.bias");

        // A config that does not describe the weights: refused before the model is built, naming the field, both
        // values and the tensor.
        File.Copy(pristine, weightsPath, overwrite: true);
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"embedding_dim\": 12", "\"embedding_dim\": 16", StringComparison.Ordinal));
        act.Should().Throw<ModelLoadException>().WithMessage("*config.json says embedding_dim = 16*embeddings.weight has 12*[193, 12]*fix embedding_dim*")
            .Which.Field.Should().Be("embedding_dim");

        File.WriteAllBytes(weightsPath, [1, 2, 3]);
        act.Should().Throw<ModelLoadException>().WithMessage("*model.safetensors cannot be read*");

        File.Delete(weightsPath);
        act.Should().Throw<ModelLoadException>().WithMessage("*has no model.safetensors*");

        var missingFolder = () => ClassifierLoader.Load(Path.Combine(root, "nowhere"));
        missingFolder.Should().Throw<ModelLoadException>().WithMessage("*does not exist*");
    }

    [Theory]
    [InlineData(SmallClassifierConfig.MlpType, "float64")]
    [InlineData(SmallClassifierConfig.CnnType, "float16")]
    [InlineData(SmallClassifierConfig.LstmType, "bfloat16")]
    public void A_checkpoint_of_another_floating_point_dtype_loads_converted_to_float32(string type, string dtype)
    {
        var dir = Folder(type);
        string[] texts = ["a sometimes tedious film", "i loved this movie"];
        double[] Logits()
        {
            using var classifier = ClassifierLoader.Load(dir);
            using var scope = NewDisposeScope();
            classifier.Module.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32);
            return classifier.Logits(classifier.Encode(texts).Input).to(ScalarType.Float64).data<double>().ToArray();
        }

        var expected = Logits();
        var weightsPath = Path.Combine(dir, "model.safetensors");
        var target = dtype switch { "float64" => ScalarType.Float64, "float16" => ScalarType.Float16, _ => ScalarType.BFloat16 };
        var weights = SafeTensors.Load(weightsPath);
        var converted = weights.ToDictionary(kv => kv.Key, kv => kv.Value.to(target));
        try
        {
            SafeTensors.Save(weightsPath, converted);
        }
        finally
        {
            foreach (var t in weights.Values.Concat(converted.Values))
            {
                t.Dispose();
            }
        }

        // float64 holds float32 exactly; float16 keeps 11 significant bits, bfloat16 8 (relative error 2^-8 per weight).
        var tolerance = dtype switch { "float64" => 1e-6, "float16" => 1e-2, _ => 5e-2 };
        var actual = Logits();
        SmallModelKit.MaxAbsDifference(actual, expected).Should().BeLessThan(tolerance);
    }

    [Theory]
    [InlineData(SmallClassifierConfig.MlpType, "embeddings.weight")]
    [InlineData(SmallClassifierConfig.CnnType, "embeddings.weight")]
    [InlineData(SmallClassifierConfig.LstmType, "embeddings.weight")]
    public void A_missing_tensor_is_named_before_config_sizes_it_would_have_checked_are_allocated(string type, string dropped)
    {
        // Without the tensor that bounds vocab_size and embedding_dim, a config giving them as 10⁹ must not reach libtorch
        // (a request for 4·10¹⁸ bytes); the error is the missing tensor, as with sane sizes.
        var dir = Folder(type);
        var weightsPath = Path.Combine(dir, "model.safetensors");
        var weights = SafeTensors.Load(weightsPath);
        try
        {
            weights[dropped].Dispose();
            weights.Remove(dropped);
            SafeTensors.Save(weightsPath, weights);
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }

        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config)
            .Replace("\"embedding_dim\": 12", "\"embedding_dim\": 1000000000", StringComparison.Ordinal)
            .Replace("\"vocab_size\": 193", "\"vocab_size\": 1000000000", StringComparison.Ordinal));
        File.ReadAllText(config).Should().Contain("1000000000").And.NotContain("\"vocab_size\": 193");
        var act = () => ClassifierLoader.Load(dir);
        act.Should().Throw<ModelLoadException>().WithMessage($"*missing 1 parameter(s): {dropped}*").Which.Field.Should().Be(dropped);
    }
}
