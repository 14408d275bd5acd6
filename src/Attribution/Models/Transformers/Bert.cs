using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using nn = TorchSharp.torch.nn;

namespace Attribution.Models;

/// <summary>
/// Hugging Face <c>BertForSequenceClassification</c>: <c>bert</c> (embeddings, encoder, pooler), dropout and
/// a linear <c>classifier</c> on the pooled first token. Parameter names are Hugging Face's, so a checkpoint
/// saved by <c>transformers</c> loads with <see cref="nn.Module.load_state_dict"/> as is.
/// </summary>
public sealed class BertForSequenceClassification : TransformerClassifier
{
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private readonly Linear classifier;

    /// <summary>Builds the model with freshly initialized weights (training mode) from a config with model_type "bert".</summary>
    public BertForSequenceClassification(TransformerConfig config)
        : base(nameof(BertForSequenceClassification), config, "bert", "bert", "encoder.layer")
    {
        bert = new BertModel(config, roberta: false);
        dropout = nn.Dropout(config.ClassifierDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Embedding WordEmbeddings => bert.Embeddings.WordEmbeddings;

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        CheckInput(input, tokenTypes: true);
        var (_, pooled) = bert.call(input);
        return classifier.call(dropout.call(pooled!));
    }
}

/// <summary>
/// The BERT encoder stack (<c>bert</c> or <c>roberta</c>): embeddings, encoder layers and, for BERT, the
/// pooler. Returns the last hidden states and the pooled first token (null without a pooler).
/// </summary>
internal sealed class BertModel : nn.Module<ModelInput, (Tensor last_hidden_state, Tensor? pooler_output)>, ICompositeModule
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;

    public BertModel(TransformerConfig config, bool roberta)
        : base(roberta ? "RobertaModel" : nameof(BertModel))
    {
        embeddings = new BertEmbeddings(config, roberta);
        encoder = new BertEncoder(config);

        // RobertaForSequenceClassification is built without a pooler (its head reads <s> itself).
        pooler = roberta ? null : new BertPooler(config);
        RegisterComponents();
    }

    public BertEmbeddings Embeddings => embeddings;

    public override (Tensor last_hidden_state, Tensor? pooler_output) forward(ModelInput input)
    {
        var hidden = embeddings.call((input.InputIds, input.TokenTypeIds));
        var mask = TransformerOps.AdditiveMask(input.AttentionMask, hidden.dtype);

        // Logits only: the pooler and RoBERTa's head read the first token, so the last layer runs for it alone.
        var sequence = input.LogitsOnly ? encoder.FirstTokenOutput(hidden, mask) : encoder.call((hidden, mask));
        return (sequence, pooler?.call(sequence));
    }
}

/// <summary>
/// word + token type + position embeddings (added in Hugging Face's order), LayerNorm, dropout. BERT
/// positions are 0..n−1; RoBERTa positions start at pad_token_id + 1 and count only non-pad tokens
/// (pads get pad_token_id), as <c>create_position_ids_from_input_ids</c> does.
/// </summary>
internal sealed class BertEmbeddings : nn.Module<(Tensor input_ids, Tensor? token_type_ids), Tensor>, ICompositeModule
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;
    private readonly bool roberta;
    private readonly long padTokenId;

    public BertEmbeddings(TransformerConfig config, bool roberta)
        : base(roberta ? "RobertaEmbeddings" : nameof(BertEmbeddings))
    {
        this.roberta = roberta;
        padTokenId = config.PadTokenId;
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, padding_idx: roberta ? config.PadTokenId : null);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public Embedding WordEmbeddings => word_embeddings;

    public override Tensor forward((Tensor input_ids, Tensor? token_type_ids) input)
    {
        var ids = input.input_ids;

        // Tensors handed to a submodule are left to the caller's dispose scope (a hook may keep them);
        // only purely local temporaries are disposed here.
        var positionIds = roberta ? RobertaPositions(ids) : BertPositions(ids);
        var typeIds = input.token_type_ids ?? torch.zeros(ids.shape, ScalarType.Int64, ids.device);

        var words = word_embeddings.call(ids);
        var types = token_type_embeddings.call(typeIds);
        var positions = position_embeddings.call(positionIds);
        using var wordsAndTypes = words.Plus(types);
        var sum = wordsAndTypes.Plus(positions);
        return dropout.call(LayerNorm.call(sum));
    }

    private static Tensor BertPositions(Tensor ids)
    {
        var positions = KeptScalars.Range(ids.size(1));
        if (ids.device.type == DeviceType.CPU)
        {
            return positions;
        }

        using (positions)
        {
            return positions.to(ids.device);
        }
    }

    private Tensor RobertaPositions(Tensor ids)
    {
        using var notPad = ids.NotEqualTo(padTokenId);
        using var counted = notPad.@long();
        using var running = counted.cumsum(1);
        using var onTokens = running * counted;
        return onTokens.Plus((long)padTokenId);
    }
}

/// <summary>The stack of encoder layers (<c>encoder.layer.{i}</c>).</summary>
internal sealed class BertEncoder : nn.Module<(Tensor hidden_states, Tensor? attention_mask), Tensor>, ICompositeModule
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(TransformerConfig config)
        : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor? attention_mask) input)
    {
        var hidden = input.hidden_states;
        foreach (var l in layer)
        {
            hidden = l.call((hidden, input.attention_mask));
        }

        return ReferenceEquals(hidden, input.hidden_states) ? hidden.alias() : hidden;
    }

    /// <summary>The last layer's output for the first token only ([batch, 1, hidden]); every earlier layer runs in full.</summary>
    public Tensor FirstTokenOutput(Tensor hiddenStates, Tensor? attentionMask)
    {
        if (layer.Count == 0)
        {
            return hiddenStates.narrow(1, 0, 1);
        }

        var hidden = hiddenStates;
        for (var i = 0; i < layer.Count - 1; i++)
        {
            hidden = layer[i].call((hidden, attentionMask));
        }

        return layer[layer.Count - 1].FirstTokenOutput(hidden, attentionMask);
    }
}

/// <summary>One encoder layer: attention (+ residual, LayerNorm), then feed-forward (+ residual, LayerNorm).</summary>
internal sealed class BertLayer : nn.Module<(Tensor hidden_states, Tensor? attention_mask), Tensor>, ICompositeModule
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertResidualOutput output;

    public BertLayer(TransformerConfig config)
        : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertResidualOutput("BertOutput", config.IntermediateSize, config);
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor? attention_mask) input)
    {
        var attended = attention.call(input);
        var widened = intermediate.call(attended);
        return output.call((widened, attended));
    }

    /// <summary>The layer for the first token's query alone (keys and values from every token): [batch, 1, hidden].</summary>
    public Tensor FirstTokenOutput(Tensor hiddenStates, Tensor? attentionMask)
    {
        var attended = attention.FirstTokenOutput(hiddenStates, attentionMask);
        var widened = intermediate.call(attended);
        return output.call((widened, attended));
    }
}

/// <summary>Self-attention (<c>self</c>) followed by its output projection, residual and LayerNorm (<c>output</c>).</summary>
internal sealed class BertAttention : nn.Module<(Tensor hidden_states, Tensor? attention_mask), Tensor>, ICompositeModule
{
    private readonly BertSelfAttention @self;
    private readonly BertResidualOutput output;

    public BertAttention(TransformerConfig config)
        : base(nameof(BertAttention))
    {
        @self = new BertSelfAttention(config);
        output = new BertResidualOutput("BertSelfOutput", config.HiddenSize, config);
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor? attention_mask) input)
    {
        var context = @self.call(input);
        return output.call((context, input.hidden_states));
    }

    /// <summary>Attention, projection, residual and LayerNorm for the first token's query alone.</summary>
    public Tensor FirstTokenOutput(Tensor hiddenStates, Tensor? attentionMask)
    {
        var first = hiddenStates.narrow(1, 0, 1);
        var context = @self.Attend(first, hiddenStates, attentionMask);
        return output.call((context, first));
    }
}

/// <summary>
/// Multi-head self-attention with Hugging Face's <c>query</c>/<c>key</c>/<c>value</c> projections. The
/// products and the softmax are the submodules <c>attention_scores</c> (Q·Kᵀ, before scaling and mask),
/// <c>attention_probs</c> (softmax of the scaled, masked scores) and <c>context</c> (probabilities·V,
/// per head), so relevance rules can rewrite their gradients with hooks.
/// </summary>
internal sealed class BertSelfAttention : nn.Module<(Tensor hidden_states, Tensor? attention_mask), Tensor>, ICompositeModule
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Dropout dropout;
    private readonly MatMul attention_scores = new();
    private readonly AttentionSoftmax attention_probs = new();
    private readonly MatMul context = new();
    private readonly int heads;
    private readonly double scale;

    public BertSelfAttention(TransformerConfig config)
        : base(nameof(BertSelfAttention))
    {
        heads = config.NumAttentionHeads;
        scale = Math.Sqrt(config.HeadDim);
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        dropout = nn.Dropout(config.AttentionProbsDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor? attention_mask) input) =>
        Attend(input.hidden_states, input.hidden_states, input.attention_mask);

    /// <summary>Attention of the <paramref name="queries"/>' positions over every position of <paramref name="h"/>.</summary>
    public Tensor Attend(Tensor queries, Tensor h, Tensor? attentionMask)
    {
        var q = TransformerOps.SplitHeads(query.call(queries), heads);
        var k = TransformerOps.SplitHeads(key.call(h), heads);
        var v = TransformerOps.SplitHeads(value.call(h), heads);
        var kT = k.transpose(-1, -2);

        // Same order of operations as Hugging Face (product, then ÷√d, then + mask) so float32 results agree.
        var scores = attention_scores.call((q, kT));
        var scaled = scores.DividedBy(scale);
        if (attentionMask is { } mask)
        {
            using var unmasked = scaled;
            scaled = unmasked.Plus(mask);
        }

        return TransformerOps.AttendToValues(scaled, v, attention_probs, dropout, context);
    }
}

/// <summary><c>dense</c> → dropout → <c>LayerNorm</c>(· + residual): BERT's <c>BertSelfOutput</c> and <c>BertOutput</c>.</summary>
internal sealed class BertResidualOutput : nn.Module<(Tensor hidden_states, Tensor input_tensor), Tensor>, ICompositeModule
{
    private readonly Linear dense;
    private readonly Dropout dropout;
    private readonly LayerNorm LayerNorm;

    public BertResidualOutput(string name, int inFeatures, TransformerConfig config)
        : base(name)
    {
        dense = nn.Linear(inFeatures, config.HiddenSize);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward((Tensor hidden_states, Tensor input_tensor) input)
    {
        var projected = dropout.call(dense.call(input.hidden_states));
        return LayerNorm.call(projected.Plus(input.input_tensor));
    }
}

/// <summary><c>dense</c> to the intermediate size, then the activation (<c>intermediate_act_fn</c>, a hook point for relevance rules).</summary>
internal sealed class BertIntermediate : nn.Module<Tensor, Tensor>, ICompositeModule
{
    private readonly Linear dense;
    private readonly nn.Module<Tensor, Tensor> intermediate_act_fn;

    public BertIntermediate(TransformerConfig config)
        : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        intermediate_act_fn = TransformerOps.Activation(config.HiddenAct);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => intermediate_act_fn.call(dense.call(input));
}

/// <summary>tanh(dense(first token)).</summary>
internal sealed class BertPooler : nn.Module<Tensor, Tensor>, ICompositeModule
{
    private readonly Linear dense;
    private readonly Tanh activation = nn.Tanh();

    public BertPooler(TransformerConfig config)
        : base(nameof(BertPooler))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        return activation.call(dense.call(input.select(1, 0)));
    }
}
