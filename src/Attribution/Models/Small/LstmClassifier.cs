using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// A bidirectional LSTM text classifier: word embeddings (<c>embeddings</c>), one bidirectional LSTM layer
/// (<c>lstm</c>, <see cref="SmallClassifierConfig.HiddenSize"/> units per direction, PyTorch parameter names), the mean
/// of its outputs over the real tokens, dropout and a linear layer (<c>classifier</c>).
/// </summary>
/// <remarks>
/// The backward direction starts from a sequence's last token, so a padded row must not be run as it is. The
/// forward pass gathers each row's real tokens to the front (any 0/1 mask works, not only right padding), groups the
/// rows by their number of real tokens, runs the LSTM on each group cut to that length, and puts the pooled rows
/// back in order: a text's logits are the same alone or in any padded batch, without packed sequences.
/// </remarks>
public sealed class LstmClassifier : SmallClassifier
{
    private readonly Embedding embeddings;
    private readonly LSTM lstm;
    private readonly Linear classifier;

    /// <summary>Creates the classifier with fresh weights (PyTorch's initialization, from <paramref name="generator"/>).</summary>
    public LstmClassifier(SmallClassifierConfig config, Generator? generator = null)
        : base(nameof(LstmClassifier), config, SmallClassifierConfig.LstmType)
    {
        embeddings = NewEmbedding(config);
        lstm = nn.LSTM(config.EmbeddingDim, config.HiddenSize, batchFirst: true, bidirectional: true);
        classifier = nn.Linear(2L * config.HiddenSize, config.NumLabels);
        RegisterComponents();
        InitializeFrom(generator);
    }

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        var mask = CheckedMask(input, embeddings.weight!.dtype);
        var embedded = embeddings.call(input.InputIds);
        var batch = (int)embedded.size(0);
        var length = (int)embedded.size(1);
        float[] flags;
        using (var cpu = mask.to(ScalarType.Float32, CPU))
        {
            flags = cpu.data<float>().ToArray();
        }

        // Real positions of each row, in order; rows whose real tokens are not a prefix get gathered.
        var lengths = new int[batch];
        var order = new long[batch * length];
        var gather = false;
        for (var b = 0; b < batch; b++)
        {
            var next = 0;
            for (var t = 0; t < length; t++)
            {
                if (flags[(b * length) + t] != 0)
                {
                    gather |= t != next;
                    order[(b * length) + next++] = t;
                }
            }

            lengths[b] = next;
            for (var t = 0; t < length; t++)
            {
                if (flags[(b * length) + t] == 0)
                {
                    order[(b * length) + next++] = t;
                }
            }
        }

        var x = embedded;
        if (gather)
        {
            var index = tensor(order, [batch, length]).to(embedded.device).unsqueeze(-1).expand(batch, length, embedded.size(2));
            x = embedded.gather(1, index);
        }

        // One LSTM run per distinct length, on exactly that many steps.
        var groups = Enumerable.Range(0, batch).GroupBy(b => lengths[b]).OrderBy(g => g.Key).ToArray();
        var pooled = new List<Tensor>(groups.Length);
        var rows = new List<long>(batch);
        foreach (var group in groups)
        {
            var members = group.Select(b => (long)b).ToArray();
            var part = members.Length == batch ? x : x.index_select(0, tensor(members).to(x.device));
            if (group.Key < length)
            {
                part = part.narrow(1, 0, group.Key);
            }

            pooled.Add(RunLstm(part).mean([1]));
            rows.AddRange(members);
        }

        var features = pooled.Count == 1 ? pooled[0] : cat(pooled, 0);
        if (pooled.Count > 1)
        {
            var inverse = new long[batch];
            for (var i = 0; i < batch; i++)
            {
                inverse[rows[i]] = i;
            }

            features = features.index_select(0, tensor(inverse).to(features.device));
        }

        return classifier.call(Dropout(features));
    }

    /// <summary>
    /// The LSTM's output sequence, always from libtorch's regular kernel. With gradients off, libtorch 2.10's CPU LSTM
    /// takes another (oneDNN) path for float32 that returns wrong outputs: on a seeded bidirectional LSTM
    /// (LstmInferenceTests), the sum of the outputs is −7.392 without gradients against −5.196 with them and −5.196 in
    /// float64 (both paths agree in float64). So the LSTM always runs with gradients on, and the result is detached when the caller turned them off.
    /// </summary>
    private Tensor RunLstm(Tensor input)
    {
        if (is_grad_enabled())
        {
            return lstm.call(input).Item1;
        }

        using (enable_grad())
        {
            return lstm.call(input).Item1.detach();
        }
    }
}
