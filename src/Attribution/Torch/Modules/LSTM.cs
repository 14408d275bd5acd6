using System.Globalization;

namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Multi-layer, optionally bidirectional long short-term memory over a sequence (libtorch's fused LSTM).
        /// Per layer and direction the parameters are named as PyTorch's: <c>weight_ih_l{k}</c> (4·hidden, input),
        /// <c>weight_hh_l{k}</c> (4·hidden, hidden), <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c> (4·hidden), with a
        /// <c>_reverse</c> suffix for the backward direction; the gate rows are ordered input, forget, cell, output.
        /// All are initialized U(−1/√hidden, 1/√hidden) as PyTorch does.
        /// </summary>
        /// <remarks>
        /// The input is <c>(input, h0, c0)</c>: <c>input</c> is (length, batch, input_size), or (batch, length, input_size)
        /// with <see cref="BatchFirst"/>, or unbatched (length, input_size); <c>h0</c> and <c>c0</c> are
        /// (layers·directions, batch, hidden) (unbatched: (layers·directions, hidden)), both given or both null
        /// (zeros). The output is <c>(output, h_n, c_n)</c>: <c>output</c> holds the last layer's hidden state at every
        /// step, directions concatenated (length, batch, directions·hidden) (batch first with <see cref="BatchFirst"/>),
        /// and <c>h_n</c>, <c>c_n</c> the final states shaped like <c>h0</c>. Use <see cref="call(Tensor, ValueTuple{Tensor, Tensor}?)"/>
        /// for the TorchSharp-style <c>lstm.call(x)</c> or <c>lstm.call(x, (h0, c0))</c>; hooks see the tuple form.
        /// </remarks>
        public sealed class LSTM : Module<(Tensor input, Tensor? h0, Tensor? c0), (Tensor output, Tensor h_n, Tensor c_n)>
        {
            private readonly string[] parameterNames;

            /// <summary>Creates the network.</summary>
            /// <param name="inputSize">Features per step of the input (at least 1).</param>
            /// <param name="hiddenSize">Features of the hidden state (at least 1).</param>
            /// <param name="numLayers">Stacked LSTM layers (at least 1).</param>
            /// <param name="hasBias">Whether each layer has the biases b_ih and b_hh.</param>
            /// <param name="batchFirst">Input and output are (batch, length, features) rather than (length, batch, features).</param>
            /// <param name="dropout">Dropout probability on the outputs of every layer but the last, in training mode only (in [0, 1]).</param>
            /// <param name="bidirectional">Whether to add a backward direction to every layer.</param>
            /// <param name="generator">Random stream for the initialization (the global one when null).</param>
            public LSTM(long inputSize, long hiddenSize, long numLayers = 1, bool hasBias = true, bool batchFirst = false,
                double dropout = 0, bool bidirectional = false, Generator? generator = null)
                : base(nameof(LSTM))
            {
                if (inputSize < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "LSTM: input_size must be at least 1");
                }

                if (hiddenSize < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "LSTM: hidden_size must be at least 1");
                }

                if (numLayers < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "LSTM: num_layers must be at least 1");
                }

                if (double.IsNaN(dropout) || dropout is < 0 or > 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "LSTM: dropout must be a probability in [0, 1]");
                }

                InputSize = inputSize;
                HiddenSize = hiddenSize;
                NumLayers = numLayers;
                HasBias = hasBias;
                BatchFirst = batchFirst;
                Dropout = dropout;
                Bidirectional = bidirectional;

                var bound = 1.0 / Math.Sqrt(hiddenSize);
                var names = new List<string>();
                using (no_grad())
                {
                    for (var layer = 0L; layer < numLayers; layer++)
                    {
                        var layerInput = layer == 0 ? inputSize : hiddenSize * NumDirections;
                        for (var direction = 0; direction < NumDirections; direction++)
                        {
                            var suffix = string.Create(CultureInfo.InvariantCulture, $"_l{layer}{(direction == 1 ? "_reverse" : string.Empty)}");
                            Add("weight_ih" + suffix, [4 * hiddenSize, layerInput]);
                            Add("weight_hh" + suffix, [4 * hiddenSize, hiddenSize]);
                            if (hasBias)
                            {
                                Add("bias_ih" + suffix, [4 * hiddenSize]);
                                Add("bias_hh" + suffix, [4 * hiddenSize]);
                            }
                        }
                    }
                }

                parameterNames = [.. names];

                void Add(string name, long[] shape)
                {
                    register_parameter(name, empty(shape).uniform_(-bound, bound, generator).requires_grad_());
                    names.Add(name);
                }
            }

            /// <summary>Features per step of the input.</summary>
            public long InputSize { get; }

            /// <summary>Features of the hidden state.</summary>
            public long HiddenSize { get; }

            /// <summary>Stacked LSTM layers.</summary>
            public long NumLayers { get; }

            /// <summary>Whether each layer has the biases b_ih and b_hh.</summary>
            public bool HasBias { get; }

            /// <summary>Input and output are (batch, length, features).</summary>
            public bool BatchFirst { get; }

            /// <summary>Dropout probability between layers (training mode only).</summary>
            public double Dropout { get; }

            /// <summary>Whether every layer also runs backward over the sequence.</summary>
            public bool Bidirectional { get; }

            /// <summary>1, or 2 when <see cref="Bidirectional"/>.</summary>
            public int NumDirections => Bidirectional ? 2 : 1;

            /// <summary>
            /// The parameters in libtorch's flat order (per layer, forward then reverse: w_ih, w_hh[, b_ih, b_hh]), as
            /// PyTorch's <c>_flat_weights</c>. The tensors are the module's own: do not dispose them.
            /// </summary>
            public IReadOnlyList<Tensor> flat_weights
            {
                get
                {
                    var own = named_parameters(recurse: false).ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
                    return parameterNames.Select(n => own[n]).ToArray();
                }
            }

            /// <summary>
            /// Runs the LSTM (with hooks) from <paramref name="state"/> = (h0, c0), or from zeros when it is null.
            /// </summary>
            /// <returns>(output, h_n, c_n); see the class remarks for the shapes.</returns>
            public (Tensor output, Tensor h_n, Tensor c_n) call(Tensor input, (Tensor h0, Tensor c0)? state = null) =>
                call((input, state?.h0, state?.c0));

            /// <inheritdoc />
            protected override (Tensor output, Tensor h_n, Tensor c_n) forward((Tensor input, Tensor? h0, Tensor? c0) input)
            {
                var (x, h0, c0) = input;
                ArgumentNullException.ThrowIfNull(x, nameof(input));
                if ((h0 is null) != (c0 is null))
                {
                    throw new ArgumentException("LSTM: give both h0 and c0, or neither (zeros)", nameof(input));
                }

                var dims = x.dim();
                if (dims is not (2 or 3) || x.size(dims - 1) != InputSize)
                {
                    var expected = BatchFirst ? $"(batch, length, {InputSize})" : $"(length, batch, {InputSize})";
                    throw new ArgumentException(
                        $"LSTM({InputSize}, {HiddenSize}) expects input {expected} or unbatched (length, {InputSize}), got [{string.Join(", ", x.shape)}]",
                        nameof(input));
                }

                var batched = dims == 3;
                var stateRows = NumLayers * NumDirections;
                long[] stateShape = batched ? [stateRows, x.size(BatchFirst ? 0 : 1), HiddenSize] : [stateRows, HiddenSize];
                if (h0 is not null && (!h0.shape.SequenceEqual(stateShape) || !c0!.shape.SequenceEqual(stateShape)))
                {
                    throw new ArgumentException(
                        $"LSTM: h0 and c0 must be [{string.Join(", ", stateShape)}] for this input, got [{string.Join(", ", h0.shape)}] and [{string.Join(", ", c0!.shape)}]",
                        nameof(input));
                }

                // Temporaries made here are disposed here: only the caller's tensors and the results leave.
                var temporaries = new List<Tensor>();
                try
                {
                    var batchDim = BatchFirst ? 0 : 1;
                    Tensor Temp(Tensor t)
                    {
                        temporaries.Add(t);
                        return t;
                    }

                    var xb = batched ? x : Temp(x.unsqueeze(batchDim));
                    long[] fullState = [stateRows, xb.size(BatchFirst ? 0 : 1), HiddenSize];
                    var h = h0 is null ? Temp(zeros(fullState, x.dtype, x.device)) : batched ? h0 : Temp(h0.unsqueeze(1));
                    var c = c0 is null ? Temp(zeros(fullState, x.dtype, x.device)) : batched ? c0 : Temp(c0.unsqueeze(1));
                    var (output, hn, cn) = functional.lstm(xb, h, c, flat_weights, HasBias, NumLayers, Dropout, training, Bidirectional, BatchFirst);
                    if (batched)
                    {
                        return (output, hn, cn);
                    }

                    temporaries.AddRange([output, hn, cn]);
                    return (output.squeeze(batchDim), hn.squeeze(1), cn.squeeze(1));
                }
                finally
                {
                    foreach (var t in temporaries)
                    {
                        t.Dispose();
                    }
                }
            }
        }
    }
}
