using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models.Small;
using Attribution.Tests.Text;
using Attribution.Text.Tokenizers;
using Attribution.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// Texts are tokenized once per call: the encodings that sort texts into batches are the ones the batches are built
/// from, and a batch built that way is the batch <see cref="TextClassifier.Encode(IReadOnlyList{string}, bool, IReadOnlyList{string}?, TruncationStrategy)"/>
/// builds. Errors name the text's index in the caller's list, not in a batch.
/// </summary>
public sealed class TokenizedTextsTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("tokenized-texts-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// How messages show a text: visible characters as they are, control, format and space-separator characters as
    /// \uXXXX (a reader cannot see them), at most 20 characters and "…" only when more were cut (expected strings by hand).
    /// </summary>
    [Fact]
    public void Messages_show_invisible_characters_as_code_points_and_cut_after_twenty()
    {
        TokenizedTexts.Shown("a\u200Bb\u00A0c\u0007").Should().Be("a\\u200Bb\\u00A0c\\u0007");
        TokenizedTexts.Shown("visible").Should().Be("visible");
        TokenizedTexts.Shown(" ").Should().Be("\\u0020", "a space is a space separator too: a message about a text of no visible characters shows each");
        TokenizedTexts.Shown(new string('x', 20)).Should().Be(new string('x', 20));
        TokenizedTexts.Shown(new string('x', 21)).Should().Be(new string('x', 20) + "…");
    }

    /// <summary>
    /// A batch built from the stored encodings equals the tokenizer's own padded batch, element for element, for BERT
    /// pairs of mixed lengths, some truncated: ids, mask, token types, lengths and every encoding (padding included).
    /// </summary>
    [Fact]
    public void A_batch_from_the_stored_encodings_is_the_batch_Encode_builds()
    {
        using var model = Bert(new CountingTokenizer(WordVocabulary.Write(Path.Combine(root, "bert"), Attribution.Data.SentimentCorpus.Vocabulary, 16)));
        string[] texts =
        [
            "dull", "the plot was dull but the cast was superb and the ending was not bad at all", "i loved this movie",
            "what a charming comedy", "a sometimes tedious film", "the new thriller is really gripping",
        ];
        string[] pairs = ["a gripping film", "superb", "the cast was superb but the plot was dull and tedious", "bad", "i loved it", "dull"];
        var tokenized = TokenizedTexts.Of(model, texts, truncate: true, pairs);
        tokenized.Lengths.Max().Should().Be(16, "two pairs are cut to the model's 16 tokens");
        tokenized.Lengths.Min().Should().BeLessThan(8, "and the batches need padding");

        FluentActions.Invoking(() => TokenizedTexts.Of(model, texts, truncate: false, pairs)).Should().Throw<ArgumentException>()
            .WithMessage("texts[1] with its pair has * tokens but bert accepts at most 16*").Which.ParamName.Should().Be("texts");
        FluentActions.Invoking(() => TokenizedTexts.Of(model, texts, truncate: true, pairs[..5])).Should().Throw<ArgumentException>()
            .Which.ParamName.Should().Be("pairs");
        tokenized.Chunks(size: 1).Should().HaveCount(texts.Length).And.OnlyContain(c => c.Length == 1);
        FluentActions.Invoking(() => tokenized.Chunks(size: 0)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("size");

        var chunks = tokenized.Chunks(size: 4).ToList();
        chunks.SelectMany(c => c).Order().Should().Equal(Enumerable.Range(0, texts.Length));
        foreach (var chunk in chunks)
        {
            using var scope = NewDisposeScope();
            var built = tokenized.Batch(chunk);
            var expected = model.Encode(chunk.Select(i => texts[i]).ToArray(), truncate: true, chunk.Select(i => pairs[i]).ToArray());
            built.Texts.Should().Equal(expected.Texts);
            built.Pairs.Should().Equal(expected.Pairs);
            built.Lengths.Should().Equal(expected.Lengths);
            built.Input.InputIds.data<long>().ToArray().Should().Equal(expected.Input.InputIds.data<long>().ToArray());
            built.Input.AttentionMask!.data<long>().ToArray().Should().Equal(expected.Input.AttentionMask!.data<long>().ToArray());
            built.Input.TokenTypeIds!.data<long>().ToArray().Should().Equal(expected.Input.TokenTypeIds!.data<long>().ToArray());
            built.Encodings.Should().BeEquivalentTo(expected.Encodings, o => o.WithStrictOrdering());
        }
    }

    /// <summary>Predicting tokenizes each text once (sorting by length used to tokenize it, and encoding its batch again).</summary>
    [Fact]
    public void Predict_tokenizes_each_text_once()
    {
        var tokenizer = new CountingTokenizer(SmallModelKit.Tokenizer(root));
        using var model = Cnn(tokenizer);
        var texts = SmallModelKit.Texts.Concat(SmallModelKit.Texts.Select(t => t + " !")).ToArray();

        var predictions = model.Predict(texts);

        predictions.Select(p => p.Text).Should().Equal(texts);
        tokenizer.Counts().Should().BeEquivalentTo(texts.ToDictionary(t => t, _ => 1));
    }

    /// <summary>Several gradient methods in one run share one tokenization of each text.</summary>
    [Fact]
    public void One_run_of_several_methods_tokenizes_each_text_once()
    {
        var tokenizer = new CountingTokenizer(SmallModelKit.Tokenizer(root));
        using var model = Cnn(tokenizer);

        var results = MethodRunner.AttributeAll(model, SmallModelKit.Texts, [new Gradient(), new GradientXInput(), new IntegratedGradients { Steps = 4 }]);

        results.Should().OnlyContain(r => r.Count == SmallModelKit.Texts.Length);
        tokenizer.Counts().Should().BeEquivalentTo(SmallModelKit.Texts.ToDictionary(t => t, _ => 1));
    }

    /// <summary>
    /// LIME on a token model tokenizes each distinct perturbed text once (it was three times: for its own length sort,
    /// for the classifier's, and to encode); the explained text itself at most twice (its own prediction, and as the
    /// sample that keeps every word).
    /// </summary>
    [Fact]
    public void Lime_tokenizes_each_perturbed_text_once()
    {
        var tokenizer = new CountingTokenizer(SmallModelKit.Tokenizer(root));
        using var model = Cnn(tokenizer);
        var text = SmallModelKit.Texts[6];

        var explanation = new Lime { Samples = 64, Seed = 5 }.Attribute(model, [text])[0];

        explanation.Scores.Should().OnlyContain(s => double.IsFinite(s));
        var counts = tokenizer.Counts();
        counts.Count.Should().BeGreaterThan(20, "64 samples of 11 words give many distinct texts");
        counts[text].Should().BeInRange(1, 2);
        counts.Where(c => c.Key != text).Should().OnlyContain(c => c.Value == 1);
    }

    /// <summary>
    /// A text the model cannot take is reported at its index in the caller's list (it was its index within the batch
    /// it was sorted into: an over-long text sorts last, an empty one first).
    /// </summary>
    [Fact]
    public void Errors_name_the_index_in_the_callers_list()
    {
        using var model = Cnn(SmallModelKit.Tokenizer(root));
        var texts = Enumerable.Repeat("i loved this movie", 40).ToArray();
        var tooLong = (string[])texts.Clone();
        // 30 words, then [CLS] and [SEP]: 32 tokens.
        tooLong[37] = string.Join(' ', Enumerable.Repeat("dull", 30));
        var empty = (string[])texts.Clone();
        empty[35] = "   ";

        model.Predict([string.Join(' ', Enumerable.Repeat("dull", 22))]).Should().ContainSingle("22 words and [CLS], [SEP] are exactly the 24 tokens the model takes");
        FluentActions.Invoking(() => model.Predict(tooLong)).Should().Throw<ArgumentException>()
            .WithMessage("texts[37] has 32 tokens but cnn accepts at most 24*").Which.ParamName.Should().Be("texts");
        FluentActions.Invoking(() => model.Predict(empty)).Should().Throw<ArgumentException>()
            .WithMessage("texts[35] is empty or whitespace*").Which.ParamName.Should().Be("texts");
        FluentActions.Invoking(() => MethodRunner.AttributeAll(model, tooLong, [new Gradient()])).Should().Throw<ArgumentException>()
            .WithMessage("texts[37] has 32 tokens*");
    }

    /// <summary>
    /// A text made only of characters the tokenizer drops (U+200B zero-width space, U+00AD soft hyphen: the BERT
    /// normalizer removes format characters) has no token but [CLS] and [SEP]. Explaining it is refused, naming its
    /// index and showing its code points, by the gradient methods, the path methods and LIME (it gave an empty
    /// explanation and no error); predicting it still classifies the empty input, as Hugging Face does.
    /// </summary>
    [Fact]
    public void A_text_the_tokenizer_drops_entirely_is_refused_by_every_method_naming_it()
    {
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var model = Cnn(tokenizer);
        string[] texts = ["i loved this movie", "\u200b\u00ad"];
        tokenizer.Encode(texts[1]).SpecialTokensMask.Should().OnlyContain(special => special, "the precondition: only [CLS] and [SEP] are left");
        foreach (IAttributor method in new IAttributor[] { new Gradient(), new IntegratedGradients { Steps = 4 }, new Lime { Samples = 8 } })
        {
            FluentActions.Invoking(() => method.Attribute(model, texts)).Should().Throw<ArgumentException>()
                .WithMessage("texts[1] (\"\\u200B\\u00AD\") has no token but the special ones: the tokenizer drops every one of its characters*", method.Name)
                .Which.ParamName.Should().Be("texts");
        }

        model.Predict(texts).Should().HaveCount(2);

        using var bert = Bert(SmallModelKit.Tokenizer(root));
        FluentActions.Invoking(() => new Gradient().Attribute(bert, ["i loved this movie"], new AttributionOptions { Pairs = ["\u200b"] }))
            .Should().Throw<ArgumentException>().WithMessage("pairs[0] (\"\\u200B\") has no token but the special ones*").Which.ParamName.Should().Be("pairs");
    }

    private static TextClassifier Cnn(ITokenizer tokenizer)
    {
        using var generator = new Generator(11);
        var module = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.CnnType, tokenizer.VocabularySize), generator);
        return new TextClassifier("cnn", tokenizer, module, module.Config.Labels, module.WordEmbeddingPath, module.Config.MaxLength, usesTokenTypes: false);
    }

    private static TextClassifier Bert(ITokenizer tokenizer)
    {
        var config = new TransformerConfig
        {
            ModelType = "bert", VocabSize = tokenizer.VocabularySize, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2,
            IntermediateSize = 8, MaxPositionEmbeddings = 16, TypeVocabSize = 2,
        };
        var module = new BertForSequenceClassification(config);
        return new TextClassifier("bert", tokenizer, module, ["negative", "positive"], module.WordEmbeddingPath, 16, usesTokenTypes: true);
    }

    /// <summary>A tokenizer that counts how often each text is tokenized, by <see cref="Encode"/> or within <see cref="EncodeBatch"/>.</summary>
    private sealed class CountingTokenizer(ITokenizer inner) : DelegatingTokenizer(inner)
    {
        private readonly List<string> encoded = [];

        public Dictionary<string, int> Counts()
        {
            lock (encoded)
            {
                return encoded.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            }
        }

        public override Encoding Encode(string text, string? pair = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
            TruncationStrategy strategy = TruncationStrategy.LongestFirst)
        {
            lock (encoded)
            {
                encoded.Add(text);
            }

            return base.Encode(text, pair, maxLength, truncationSide, strategy);
        }

        public override IReadOnlyList<Encoding> EncodeBatch(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int? maxLength = null,
            TruncationSide truncationSide = TruncationSide.Right, TruncationStrategy strategy = TruncationStrategy.LongestFirst)
        {
            lock (encoded)
            {
                encoded.AddRange(texts);
            }

            return base.EncodeBatch(texts, pairs, maxLength, truncationSide, strategy);
        }
    }
}
