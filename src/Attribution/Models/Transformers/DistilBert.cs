using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using nn = TorchSharp.torch.nn;

namespace Attribution.Models;

/// <summary>
/// Hugging Face <c>DistilBertForSequenceClassification</c>: <c>distilbert</c> (word + position embeddings,
/// <c>transformer.layer.{i}</c> blocks), then <c>pre_classifier</c> → ReLU → dropout → <c>classifier</c> on
/// the first token. No token types; padding is masked with the dtype's minimum. Parameter names are
/// Hugging Face's.
/// </summary>
public sealed class DistilBertForSequenceClassification : TransformerClassifier
{
    private readonly DistilBertModel distilbert;
    private readonly Linear pre_classifier;
    private readonly Linear classifier;
    private readonly Dropout dropout;

    // Hugging Face applies nn.ReLU() inline; a module here lets relevance rules see it like any activation.
    private readonly ReLU activation = nn.ReLU();

    /// <summary>Builds the model with freshly initialized weights (training mode) from a config with model_type "distilbert".</summary>
    public DistilBertForSequenceClassification(TransformerConfig config)
        : base(nameof(DistilBertForSequenceClassification), config, "distilbert", "distilbert", "transformer.layer")
    {
        distilbert = new DistilBertModel(config);
        pre_classifier = nn.Linear(config.HiddenSize, config.HiddenSize);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        dropout = nn.Dropout(config.ClassifierDropoutProb);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Embedding WordEmbeddings => distilbert.Embeddings.WordEmbeddings;

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        CheckInput(input, tokenTypes: false);
        var hidden = distilbert.call(input);
        var pooled = activation.call(pre_classifier.call(hidden.select(1, 0)));
        return classifier.call(dropout.call(pooled));
    }
}

/// <summary>The DistilBERT encoder: <c>embeddings</c> and <c>transformer</c>; returns the last hidden states.</summary>
internal sealed class DistilBertModel : nn.Module<ModelInput, Tensor>, ICompositeModule
{
    private readonly DistilBertEmbeddings embeddings;
    private readonly DistilBertTransformer transformer;

    public DistilBertModel(TransformerConfig config)
        : base(nameof(DistilBertModel))
    {
        embeddings = new DistilBertEmbeddings(config);
        transformer = new DistilBertTransformer(config);
        RegisterComponents();
    }

    public DistilBertEmbeddings Embeddings => embeddings;

    public override Tensor forward(ModelInput input)
    {
        var hidden = embeddings.call(input.InputIds);
        var mask = TransformerOps.PaddingMask(input.AttentionMask);

        // Logits only: the head reads the first token, so the last block runs for it alone.
        return input.LogitsOnly ? transformer.FirstTokenOutput(hidden, mask) : transformer.call((hidden, mask));
    }
}

/// <summary>word + position (0..n−1) embeddings, LayerNorm (eps 1e-12), dropout.</summary>
internal sealed class DistilBertEmbeddings : nn.Module<Tensor, Tensor>, ICompositeModule
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public DistilBertEmbeddings(TransformerConfig config)
        : base("Embeddings")
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public Embedding WordEmbeddings => word_embeddings;

    public override Tensor forward(Tensor input)
    {
        var positionIds = KeptScalars.Range(input.size(1));
        if (input.device.type != DeviceType.CPU)
        {
            using var onCpu = positionIds;
            positionIds = onCpu.to(input.device);
        }

        var words = word_embeddings.call(input);
        var positions = position_embeddings.call(positionIds);
        return dropout.call(LayerNorm.call(words.Plus(positions)));
    }
}

/// <summary>The stack of <c>layer.{i}</c> transformer blocks.</summary>
internal sealed class DistilBertTransformer : nn.Module<(Tensor hidden_states, Tensor? padding_mask), Tensor>, ICompositeModule
{
    private readonly ModuleList<DistilBertBlock> layer;

    public DistilBertTransformer(TransformerConfig config)
        : base("Transformer")
    {
        layer = new ModuleList<DistilBertBlock>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new DistilBertBlock(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor? padding_mask) input)
    {
        var hidden = input.hidden_states;
        foreach (var block in layer)
        {
            hidden = block.call((hidden, input.padding_mask));
        }

        return ReferenceEquals(hidden, input.hidden_states) ? hidden.alias() : hidden;
    }

    /// <summary>The last block's output for the first token only ([batch, 1, hidden]); every earlier block runs in full.</summary>
    public Tensor FirstTokenOutput(Tensor hiddenStates, Tensor? paddingMask)
    {
        if (layer.Count == 0)
        {
            return hiddenStates.narrow(1, 0, 1);
        }

        var hidden = hiddenStates;
        for (var i = 0; i < layer.Count - 1; i++)
        {
            hidden = layer[i].call((hidden, paddingMask));
        }

        return layer[layer.Count - 1].FirstTokenOutput(hidden, paddingMask);
    }
}

/// <summary>Self-attention, <c>sa_layer_norm</c>(· + x), feed-forward, <c>output_layer_norm</c>(· + ·).</summary>
internal sealed class DistilBertBlock : nn.Module<(Tensor hidden_states, Tensor? padding_mask), Tensor>, ICompositeModule
{
    private readonly DistilBertSelfAttention attention;
    private readonly LayerNorm sa_layer_norm;
    private readonly DistilBertFeedForward ffn;
    private readonly LayerNorm output_layer_norm;

    public DistilBertBlock(TransformerConfig config)
        : base("TransformerBlock")
    {
        attention = new DistilBertSelfAttention(config);
        sa_layer_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        ffn = new DistilBertFeedForward(config);
        output_layer_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor? padding_mask) input)
    {
        var attended = sa_layer_norm.call(attention.call(input).Plus(input.hidden_states));
        return output_layer_norm.call(ffn.call(attended).Plus(attended));
    }

    /// <summary>The block for the first token's query alone (keys and values from every token): [batch, 1, hidden].</summary>
    public Tensor FirstTokenOutput(Tensor hiddenStates, Tensor? paddingMask)
    {
        var first = hiddenStates.narrow(1, 0, 1);
        var attended = sa_layer_norm.call(attention.Attend(first, hiddenStates, paddingMask).Plus(first));
        return output_layer_norm.call(ffn.call(attended).Plus(attended));
    }
}

/// <summary>
/// DistilBERT's <c>MultiHeadSelfAttention</c> (<c>q_lin</c>, <c>k_lin</c>, <c>v_lin</c>, <c>out_lin</c>), with the
/// same hook points as BERT's: <c>attention_scores</c> (Q·Kᵀ, the query already divided by √d as in
/// Hugging Face), <c>attention_probs</c> (softmax of the masked scores), <c>context</c> (probabilities·V).
/// </summary>
internal sealed class DistilBertSelfAttention : nn.Module<(Tensor hidden_states, Tensor? padding_mask), Tensor>, ICompositeModule
{
    private readonly Linear q_lin;
    private readonly Linear k_lin;
    private readonly Linear v_lin;
    private readonly Linear out_lin;
    private readonly Dropout dropout;
    private readonly MatMul attention_scores = new();
    private readonly AttentionSoftmax attention_probs = new();
    private readonly MatMul context = new();
    private readonly int heads;
    private readonly double scale;

    public DistilBertSelfAttention(TransformerConfig config)
        : base("MultiHeadSelfAttention")
    {
        heads = config.NumAttentionHeads;
        scale = Math.Sqrt(config.HeadDim);
        q_lin = nn.Linear(config.HiddenSize, config.HiddenSize);
        k_lin = nn.Linear(config.HiddenSize, config.HiddenSize);
        v_lin = nn.Linear(config.HiddenSize, config.HiddenSize);
        out_lin = nn.Linear(config.HiddenSize, config.HiddenSize);
        dropout = nn.Dropout(config.AttentionProbsDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor? padding_mask) input) =>
        Attend(input.hidden_states, input.hidden_states, input.padding_mask);

    /// <summary>Attention of the <paramref name="queries"/>' positions over every position of <paramref name="x"/>.</summary>
    public Tensor Attend(Tensor queries, Tensor x, Tensor? paddingMask)
    {
        using var qHeads = TransformerOps.SplitHeads(q_lin.call(queries), heads);
        var q = qHeads.DividedBy(scale);
        var k = TransformerOps.SplitHeads(k_lin.call(x), heads);
        var v = TransformerOps.SplitHeads(v_lin.call(x), heads);

        var scores = attention_scores.call((q, k.transpose(-1, -2)));
        if (paddingMask is { } mask)
        {
            scores = scores.MaskedFill(mask, TransformerOps.MinValue(scores.dtype));
        }

        return out_lin.call(TransformerOps.AttendToValues(scores, v, attention_probs, dropout, context));
    }
}

/// <summary><c>lin1</c> → <c>activation</c> → <c>lin2</c> → dropout.</summary>
internal sealed class DistilBertFeedForward : nn.Module<Tensor, Tensor>, ICompositeModule
{
    private readonly Linear lin1;
    private readonly Linear lin2;
    private readonly nn.Module<Tensor, Tensor> activation;
    private readonly Dropout dropout;

    public DistilBertFeedForward(TransformerConfig config)
        : base("FFN")
    {
        lin1 = nn.Linear(config.HiddenSize, config.IntermediateSize);
        lin2 = nn.Linear(config.IntermediateSize, config.HiddenSize);
        activation = TransformerOps.Activation(config.HiddenAct);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => dropout.call(lin2.call(activation.call(lin1.call(input))));
}
