using Attribution.Text.Tokenizers;

namespace Attribution.Models;

/// <summary>
/// Loads a classifier folder in Hugging Face layout (<c>config.json</c>, <c>model.safetensors</c>, and
/// <c>vocab.txt</c> or <c>tokenizer.json</c>): BERT, DistilBERT and RoBERTa sequence classifiers, and the library's
/// own small classifiers (<c>attribution-lstm</c>, <c>attribution-cnn</c>, <c>attribution-mlp</c>, see <see cref="SmallClassifier"/>).
/// </summary>
public static class ClassifierLoader
{
    /// <summary>Loads the model and its tokenizer, in eval mode.</summary>
    /// <exception cref="ModelLoadException">The folder, its config or its weights are missing or malformed.</exception>
    /// <exception cref="TokenizerException">The tokenizer files are missing or malformed.</exception>
    public static TextClassifier Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new ModelLoadException(directory, null, $"model folder '{directory}' does not exist; pass a folder with config.json, model.safetensors and tokenizer files");
        }

        var modelType = ReadModelType(directory);
        var name = Path.GetFileName(Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar));
        if (TransformerConfig.SupportedModelTypes.Contains(modelType))
        {
            var tokenizer = TokenizerLoader.FromDirectory(directory);
            var model = TransformerLoader.Load(directory);
            try
            {
                var labels = Enumerable.Range(0, model.Config.NumLabels)
                    .Select(i => model.Config.Id2Label.TryGetValue(i, out var label) ? label : $"LABEL_{i}")
                    .ToArray();
                if (tokenizer.VocabularySize > model.Config.VocabSize)
                {
                    throw new ModelLoadException(
                        directory, "vocab_size", $"the tokenizer in '{directory}' has {tokenizer.VocabularySize} ids but the model's embedding has {model.Config.VocabSize} rows: they do not belong together");
                }

                if (TransformerConfig.PadIdsDisagree(modelType, model.Config.PadTokenId, tokenizer.PadId))
                {
                    // RoBERTa finds padding by id == config.pad_token_id and counts positions from pad_token_id + 1
                    // (transformers' create_position_ids_from_input_ids), while the tokenizer pads with its own id: with
                    // two ids a real token equal to the config's is taken for padding and every later position shifts,
                    // silently in transformers too. BERT and DistilBERT find padding by the mask alone, so there it is harmless.
                    var configPath = Path.Combine(directory, "config.json");
                    throw new ModelLoadException(configPath, "pad_token_id",
                        $"{configPath} says pad_token_id = {model.Config.PadTokenId} but the tokenizer ({TokenizerFilesIn(directory)}) pads with id {tokenizer.PadId}: " +
                        "RoBERTa's position ids start at pad_token_id + 1 and skip the tokens equal to it, so both must be the same id; set pad_token_id in config.json " +
                        "to the tokenizer's pad id (or fix the tokenizer's pad token) if they belong together");
                }

                return new TextClassifier(name, tokenizer, model, labels, model.WordEmbeddingPath, model.Config.MaxSequenceLength,
                    usesTokenTypes: modelType == "bert", OutputHeads.FromProblemType(model.Config.ProblemType, model.Config.NumLabels));
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }

        if (SmallClassifierConfig.SupportedModelTypes.Contains(modelType))
        {
            var model = SmallClassifierLoader.Load(directory);
            try
            {
                var tokenizer = TokenizerLoader.FromDirectory(directory);
                if (tokenizer.VocabularySize > model.Config.VocabSize)
                {
                    throw new ModelLoadException(
                        directory, "vocab_size", $"the tokenizer in '{directory}' has {tokenizer.VocabularySize} ids but the model's embedding has {model.Config.VocabSize} rows: they do not belong together");
                }

                if (tokenizer.PadId != model.Config.PadTokenId)
                {
                    throw new ModelLoadException(
                        Path.Combine(directory, "config.json"), "pad_token_id", $"the tokenizer in '{directory}' pads with id {tokenizer.PadId} but config.json says pad_token_id {model.Config.PadTokenId}: they do not belong together");
                }

                return new TextClassifier(name, tokenizer, model, model.Config.Labels, model.WordEmbeddingPath, model.Config.MaxLength, usesTokenTypes: false);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }

        throw new ModelLoadException(
            Path.Combine(directory, "config.json"), "model_type", $"'{Path.Combine(directory, "config.json")}' has model_type '{modelType}', which this library cannot load; supported: {string.Join(", ", TransformerConfig.SupportedModelTypes.Concat(SmallClassifierConfig.SupportedModelTypes))}");
    }

    /// <summary>The tokenizer files <see cref="TokenizerLoader.FromDirectory"/> reads in <paramref name="directory"/>, for messages.</summary>
    private static string TokenizerFilesIn(string directory)
    {
        var files = new[] { "tokenizer.json", "vocab.txt", "vocab.json" }.Select(n => Path.Combine(directory, n)).Where(File.Exists).Take(1)
            .Concat(new[] { Path.Combine(directory, "tokenizer_config.json") }.Where(File.Exists));
        return string.Join(" and ", files);
    }

    private static string ReadModelType(string directory)
    {
        var path = Path.Combine(directory, "config.json");
        var text = ConfigJson.ReadText(path, "The folder is missing its config.json: a model folder needs one (Hugging Face layout).");
        using var document = ConfigJson.ParseObject(text, path, "Fix the file or save the model again.");
        return new ConfigFields(document.RootElement, path, "fix the value.").String("model_type")
            ?? throw new ModelLoadException(path, "model_type", $"'{path}' has no \"model_type\" string; add e.g. \"model_type\": \"bert\"");
    }
}
