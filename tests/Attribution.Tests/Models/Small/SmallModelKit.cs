using Attribution.Data;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Attribution.Training;

namespace Attribution.Tests.Models.Small;

/// <summary>Small classifiers with random weights and their folders, for tests that need no training.</summary>
public static class SmallModelKit
{
    public static readonly string[] Types = [SmallClassifierConfig.LstmType, SmallClassifierConfig.CnnType, SmallClassifierConfig.MlpType];

    /// <summary>Sentences of different lengths (1 to 12 words), all in the corpus vocabulary.</summary>
    public static readonly string[] Texts =
    [
        "dull",
        "a sometimes tedious film",
        "i loved this movie",
        "the plot was dull but the cast was superb",
        "overall , the ending was not bad",
        "what a charming comedy",
        "i would not recommend this sequel from start to finish",
        "the new thriller is really gripping",
    ];

    public static SmallClassifierConfig Config(string type, int vocabSize) => new()
    {
        ModelType = type,
        VocabSize = vocabSize,
        EmbeddingDim = 12,
        HiddenSize = 10,
        KernelSizes = [2, 3, 5],
        NumFilters = 6,
        Dropout = 0.3,
        MaxLength = 24,
        Labels = ["negative", "positive"],
    };

    /// <summary>A random model of <paramref name="type"/> and its tokenizer, saved as a model folder under <paramref name="root"/>.</summary>
    public static string SaveRandom(string root, string type, ulong seed = 7, string? name = null)
    {
        var dir = Path.Combine(root, name ?? type + "-" + Guid.NewGuid().ToString("N")[..8]);
        var tokenizer = WordVocabulary.Write(dir, SentimentCorpus.Vocabulary, 24);
        using var generator = new Generator(seed);
        using var model = SmallClassifier.Create(Config(type, tokenizer.VocabularySize), generator);
        Trainer.SaveFolder(dir, model, tokenizer);
        return dir;
    }

    /// <summary>A random model of <paramref name="type"/> wrapped as a <see cref="TextClassifier"/> (in memory; the vocabulary goes to <paramref name="root"/>).</summary>
    public static TextClassifier Random(string root, string type, ulong seed = 7)
    {
        var tokenizer = Tokenizer(root);
        using var generator = new Generator(seed);
        var model = SmallClassifier.Create(Config(type, tokenizer.VocabularySize), generator);
        return new TextClassifier(type, tokenizer, model, model.Config.Labels, model.WordEmbeddingPath, model.Config.MaxLength, usesTokenTypes: false);
    }

    public static ITokenizer Tokenizer(string root) =>
        WordVocabulary.Write(Path.Combine(root, "vocab-" + Guid.NewGuid().ToString("N")[..8]), SentimentCorpus.Vocabulary, 24);

    public static string TempRoot(string prefix)
    {
        var root = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        return root;
    }

    public static double MaxAbsDifference(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
