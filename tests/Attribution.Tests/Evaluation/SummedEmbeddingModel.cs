using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// A classifier whose logits are [Σ_t mask_t · x_t, 0], x_t a one-dimensional word embedding read from a table: every
/// attribution has a closed form on it. A container for LRP (no module with a rule that rewrites the gradient).
/// </summary>
internal sealed class SummedEmbeddingModel : nn.Module<ModelInput, Tensor>, ICompositeModule
{
    private readonly Embedding embeddings;

    private SummedEmbeddingModel(ITokenizer tokenizer, int vocabularySize, IReadOnlyDictionary<string, double> table)
        : base(nameof(SummedEmbeddingModel))
    {
        embeddings = nn.Embedding(vocabularySize, 1);
        using (no_grad())
        {
            var values = new float[vocabularySize];
            foreach (var (token, value) in table)
            {
                values[(int)tokenizer.TokenToId(token)!.Value] = (float)value;
            }

            using var weight = embeddings.weight!;
            weight.copy_(tensor(values, [vocabularySize, 1]));
        }

        RegisterComponents();
    }

    /// <summary>
    /// The model as a classifier of <paramref name="labels"/>, its WordPiece vocabulary (<paramref name="vocabulary"/>, the
    /// special tokens first) written in <paramref name="folder"/>; tokens missing from <paramref name="table"/> embed as 0.
    /// </summary>
    public static TextClassifier Classifier(string folder, string name, string[] vocabulary, IReadOnlyDictionary<string, double> table, string[] labels, int maxLength)
    {
        var vocab = Path.Combine(folder, "vocab.txt");
        File.WriteAllLines(vocab, vocabulary);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        return new TextClassifier(name, tokenizer, new SummedEmbeddingModel(tokenizer, vocabulary.Length, table), labels, "embeddings", maxLength, usesTokenTypes: false);
    }

    public override Tensor forward(ModelInput input)
    {
        var e = embeddings.call(input.InputIds);
        var mask = (input.AttentionMask ?? ones_like(input.InputIds)).to(e.dtype).unsqueeze(-1);
        var sum = (e * mask).sum(1);
        return cat([sum, zeros_like(sum)], 1);
    }
}
