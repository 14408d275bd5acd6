using Attribution.Models;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Benchmarks;

/// <summary>The models the benchmarks explain: the shared sst2-bert-tiny and a BERT-base-shaped model with random weights.</summary>
public static class BenchmarkModels
{
    /// <summary>../shared beside the repository (or ATTRIBUTION_SHARED_DIR).</summary>
    public static string SharedDirectory
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("ATTRIBUTION_SHARED_DIR");
            if (!string.IsNullOrEmpty(configured))
            {
                return configured;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Attribution.sln")))
                {
                    return Path.Combine(dir.Parent!.FullName, "shared");
                }
            }

            throw new DirectoryNotFoundException("../shared not found: set ATTRIBUTION_SHARED_DIR");
        }
    }

    /// <summary>sst2-bert-tiny (2 layers, hidden 128) from ../shared/models.</summary>
    public static TextClassifier SstBertTiny() => ClassifierLoader.Load(Path.Combine(SharedDirectory, "models", "sst2-bert-tiny"));

    /// <summary>
    /// A BERT-base-shaped classifier (12 layers, hidden 768, 12 heads, intermediate 3072, 30,522-token vocabulary) with
    /// random weights from a fixed seed, and the bert-base-uncased tokenizer.
    /// </summary>
    public static TextClassifier BertBaseRandom()
    {
        torch.manual_seed(1234);
        var config = new TransformerConfig
        {
            ModelType = "bert", VocabSize = 30522, HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12,
            IntermediateSize = 3072, MaxPositionEmbeddings = 512, TypeVocabSize = 2, NumLabels = 2,
        };
        var module = new BertForSequenceClassification(config);
        var tokenizer = TokenizerLoader.FromDirectory(Path.Combine(SharedDirectory, "tokenizers", "bert-base-uncased"));
        return new TextClassifier("bert-base-random", tokenizer, module, ["negative", "positive"], module.WordEmbeddingPath,
            config.MaxSequenceLength, usesTokenTypes: true);
    }

    /// <summary>A sentence of exactly <paramref name="tokens"/> WordPiece tokens, [CLS] and [SEP] included.</summary>
    public static string SentenceOfTokens(ITokenizer tokenizer, int tokens)
    {
        string[] words = ["the", "film", "is", "a", "sometimes", "tedious", "but", "often", "charming", "story", "about", "love", "and", "loss"];
        var text = new List<string>();
        for (var i = 0; tokenizer.Encode(string.Join(' ', text)).Length < tokens; i++)
        {
            text.Add(words[i % words.Length]);
        }

        var sentence = string.Join(' ', text);
        var length = tokenizer.Encode(sentence).Length;
        if (length != tokens)
        {
            throw new InvalidOperationException($"built a sentence of {length} tokens, wanted {tokens}");
        }

        return sentence;
    }

    /// <summary>The first <paramref name="count"/> SST-2 dev sentences.</summary>
    public static string[] DevSentences(int count) =>
        File.ReadLines(Path.Combine(SharedDirectory, "data", "sst2", "dev.tsv")).Skip(1).Take(count).Select(l => l[..l.LastIndexOf('\t')]).ToArray();
}
