namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>A lookup table of <c>num_embeddings</c> vectors; input is int64 ids. Initialized N(0, 1) as PyTorch does.</summary>
        public sealed class Embedding : Module<Tensor, Tensor>
        {
            private Tensor weight_;

            /// <summary>Creates a table of <paramref name="numEmbeddings"/> rows of size <paramref name="embeddingDim"/>.</summary>
            public Embedding(long numEmbeddings, long embeddingDim, long? paddingIdx = null, Generator? generator = null)
                : base(nameof(Embedding))
            {
                if (numEmbeddings < 1 || embeddingDim < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(numEmbeddings), $"Embedding({numEmbeddings}, {embeddingDim}): both sizes must be at least 1");
                }

                if (paddingIdx is { } p && (p < 0 || p >= numEmbeddings))
                {
                    throw new ArgumentOutOfRangeException(nameof(paddingIdx), p, $"padding index must be in [0, {numEmbeddings})");
                }

                NumEmbeddings = numEmbeddings;
                EmbeddingDim = embeddingDim;
                PaddingIdx = paddingIdx;
                using (no_grad())
                {
                    weight_ = empty([numEmbeddings, embeddingDim]).normal_(0, 1, generator);
                    if (paddingIdx is { } pad)
                    {
                        using var row = weight_.select(0, pad);
                        row.zero_();
                    }

                    weight_.requires_grad_();
                }

                RegisterComponents();
            }

            /// <summary>Rows in the table.</summary>
            public long NumEmbeddings { get; }

            /// <summary>Size of each vector.</summary>
            public long EmbeddingDim { get; }

            /// <summary>Row whose gradient is never accumulated (and initialized to zero), if any.</summary>
            public long? PaddingIdx { get; }

            /// <summary>The table (num_embeddings, embedding_dim).</summary>
            public Tensor weight => weight_;

            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => functional.embedding(input, weight_, PaddingIdx ?? -1);
        }
    }
}
