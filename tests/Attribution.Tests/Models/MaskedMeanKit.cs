using Attribution.Engine;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// A <see cref="MaskedMeanModel"/> (a user's own TorchSharp model whose output and gradient the tests write in closed
/// form) with seeded N(0, scale²) weights, a WordPiece vocabulary of <c>[PAD] [UNK] [CLS] [SEP] [MASK]</c> and the
/// given words, wrapped as a classifier that owns the model: two classes (negative, positive) unless
/// <c>labels</c> says otherwise (one label: a regression, as the classifier reads one output without a head).
/// </summary>
internal static class MaskedMeanKit
{
    public static (TextClassifier Classifier, MaskedMeanModel Model, ITokenizer Tokenizer) Create(
        string root, string[] words, int dim, int hidden, ulong seed, double scale, int maxLength, string[]? labels = null)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. words]);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        labels ??= ["negative", "positive"];
        var model = new MaskedMeanModel(tokenizer.VocabularySize, dim, hidden, labels.Length, callsForward: false);
        using (var generator = new Generator(seed))
        using (no_grad())
        {
            foreach (var (_, p) in model.named_parameters())
            {
                using var drawn = randn(p.shape, p.dtype, generator: generator);
                using var values = drawn.Times(scale);
                p.copy_(values);
            }
        }

        var classifier = TextClassifier.FromTorchSharp(model, tokenizer, "embedding", labels, maxLength: maxLength, ownsModel: true);
        return (classifier, model, tokenizer);
    }
}
