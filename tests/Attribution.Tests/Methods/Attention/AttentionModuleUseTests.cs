using Attribution.Engine;
using Attribution.Methods.Attention;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Attention;

/// <summary>
/// Rollout and attention maps read one map per <see cref="AttentionSoftmax"/> module. A user model that reuses one
/// instance in two layers (natural: it has no parameters) gives two maps from one module, and one whose extra
/// instance never runs gives none from it; both are refused naming the module and the fix that applies. (Before,
/// reuse was reported as "1 attention modules but 2 ran through .call", with the fix for a module that never ran.)
/// </summary>
public sealed class AttentionModuleUseTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-attention-use-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void One_attention_module_reused_by_two_layers_is_refused_naming_it_and_the_fix()
    {
        using var model = Classifier(reuse: true);
        var rollout = () => new AttentionRollout().Attribute(model, ["a dull film"]);
        rollout.Should().Throw<InvalidOperationException>()
            .WithMessage("the attention module 'attention' (AttentionSoftmax) ran 2 times in one forward pass*give each attention layer its own AttentionSoftmax module");
        var maps = () => AttentionMaps.Of(model, "a dull film");
        maps.Should().Throw<InvalidOperationException>().WithMessage("*'attention' (AttentionSoftmax) ran 2 times*");
    }

    [Fact]
    public void An_attention_module_that_never_runs_is_refused_naming_it()
    {
        using var model = Classifier(reuse: false);
        var rollout = () => new AttentionRollout { GradientWeighted = true }.Attribute(model, ["a dull film"]);
        rollout.Should().Throw<InvalidOperationException>()
            .WithMessage("the attention module 'unused' (AttentionSoftmax) did not run through .call*attention_probs.call(scores)*");
    }

    private TextClassifier Classifier(bool reuse)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dull", "film"]);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        return TextClassifier.FromTorchSharp(new TwoLayers(tokenizer.VocabularySize, reuse), tokenizer, "embedding", ["negative", "positive"], ownsModel: true);
    }

    /// <summary>
    /// ids → embedding → self-attention layers h += softmax(h hᵀ) h → mean → Linear. With <c>reuse</c>, two layers
    /// call the one module <c>attention</c>; without, one layer calls it and the module <c>unused</c> is registered but
    /// never runs.
    /// </summary>
    private sealed class TwoLayers : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embedding;
        private readonly AttentionSoftmax attention;
        private readonly AttentionSoftmax? unused;
        private readonly Linear output;
        private readonly bool reuse;

        public TwoLayers(long vocabulary, bool reuse)
            : base(nameof(TwoLayers))
        {
            this.reuse = reuse;
            embedding = nn.Embedding(vocabulary, 4);
            attention = new AttentionSoftmax();
            unused = reuse ? null : new AttentionSoftmax();
            output = nn.Linear(4, 2);
            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor ids)
        {
            var hidden = embedding.call(ids);
            for (var layer = 0; layer < (reuse ? 2 : 1); layer++)
            {
                hidden = hidden.Plus(attention.call(hidden.matmul(hidden.transpose(1, 2)).unsqueeze(1)).squeeze(1).matmul(hidden));
            }

            return output.call(hidden.mean([1]));
        }
    }
}
