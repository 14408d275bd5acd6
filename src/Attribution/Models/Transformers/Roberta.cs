using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using nn = TorchSharp.torch.nn;

namespace Attribution.Models;

/// <summary>
/// Hugging Face <c>RobertaForSequenceClassification</c>: <c>roberta</c> (BERT embeddings with RoBERTa's
/// position ids, BERT encoder, no pooler) and a head <c>classifier</c> = <c>dense</c> → tanh →
/// <c>out_proj</c> on the first token (<c>&lt;s&gt;</c>). Parameter names are Hugging Face's.
/// </summary>
public sealed class RobertaForSequenceClassification : TransformerClassifier
{
    private readonly BertModel roberta;
    private readonly RobertaClassificationHead classifier;

    /// <summary>Builds the model with freshly initialized weights (training mode) from a config with model_type "roberta".</summary>
    public RobertaForSequenceClassification(TransformerConfig config)
        : base(nameof(RobertaForSequenceClassification), config, "roberta", "roberta", "encoder.layer")
    {
        roberta = new BertModel(config, roberta: true);
        classifier = new RobertaClassificationHead(config);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Embedding WordEmbeddings => roberta.Embeddings.WordEmbeddings;

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        CheckInput(input, tokenTypes: true);
        var (sequence, _) = roberta.call(input);
        return classifier.call(sequence);
    }
}

/// <summary>
/// dropout → <c>dense</c> → tanh → dropout → <c>out_proj</c> on the first token. The tanh is a module
/// (<c>activation</c>, not in Hugging Face's tree) so relevance rules can treat it like other activations.
/// </summary>
internal sealed class RobertaClassificationHead : nn.Module<Tensor, Tensor>, ICompositeModule
{
    private readonly Linear dense;
    private readonly Dropout dropout;
    private readonly Linear out_proj;
    private readonly Tanh activation = nn.Tanh();

    public RobertaClassificationHead(TransformerConfig config)
        : base(nameof(RobertaClassificationHead))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        dropout = nn.Dropout(config.ClassifierDropoutProb);
        out_proj = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var first = dropout.call(input.select(1, 0));
        var hidden = activation.call(dense.call(first));
        return out_proj.call(dropout.call(hidden));
    }
}
