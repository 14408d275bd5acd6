using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods;

/// <summary>
/// A TorchSharp classifier seen only through its tokens and logits, as an ONNX model is (an <see cref="ITokenClassifier"/>
/// that is not an <see cref="ITextClassifier"/>), counting its calls: how tests check that a method needing gradients
/// is refused before any other method runs.
/// </summary>
internal sealed class TokensOnlyClassifier(ITextClassifier inner) : ITokenClassifier
{
    /// <summary>Calls of <see cref="PredictLogits"/> and <see cref="PredictProbabilities"/> so far.</summary>
    public int Calls { get; private set; }

    public string Name => "tokens-only";

    public ITokenizer Tokenizer => inner.Tokenizer;

    public int? MaxLength => inner.MaxLength;

    public bool UsesTokenTypes => inner.UsesTokenTypes;

    public IReadOnlyList<string> Labels => inner.Labels;

    public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences)
    {
        Calls++;
        return inner.PredictLogits(sequences);
    }

    public double[][] PredictProbabilities(IReadOnlyList<string> texts)
    {
        Calls++;
        return inner.PredictProbabilities(texts);
    }
}
