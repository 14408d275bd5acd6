using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Methods;

namespace Attribution.Tests.Models;

/// <summary>
/// The <see cref="TextClassifier"/> constructor's and init properties' own arguments, refused when given, each naming
/// itself, the value and the fix. The module is another classifier's (PowerOfSum's), which owns and disposes it: a
/// refused constructor takes no ownership.
/// </summary>
public sealed class TextClassifierArgumentTests
{
    private static TextClassifier Build(TextClassifier owner, string name, string wordEmbeddingPath = "embeddings") =>
        new(name, owner.Tokenizer, owner.Module, owner.Labels, wordEmbeddingPath, maxLength: null, usesTokenTypes: false);

    /// <summary>A null name was kept (every result's Explanation.Model null); an empty or blank one names nothing in a report.</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void A_null_empty_or_blank_name_is_refused(string? name)
    {
        using var owner = PowerOfSum.Classifier(1);
        var error = FluentActions.Invoking(() => Build(owner, name!)).Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("name");
        if (name is not null)
        {
            error.Message.Should().StartWith($"the model's name is empty or blank (\"{name}\"): give a short name for reports");
        }
        else
        {
            error.Should().BeOfType<ArgumentNullException>();
        }
    }

    /// <summary>
    /// A word-embedding path that names no submodule is refused naming wordEmbeddingPath (it named "path", the lookup's
    /// own parameter); an empty one, which named the whole model (whose output is the logits), is refused too.
    /// </summary>
    [Fact]
    public void A_word_embedding_path_that_names_no_embedding_is_refused_naming_the_argument()
    {
        using var owner = PowerOfSum.Classifier(1);
        FluentActions.Invoking(() => Build(owner, "x", "embedings")).Should().Throw<ArgumentException>()
            .WithMessage("no submodule 'embedings' in PowerOfSum; closest paths: embeddings*").Which.ParamName.Should().Be("wordEmbeddingPath");
        FluentActions.Invoking(() => Build(owner, "x", "")).Should().Throw<ArgumentException>()
            .WithMessage("wordEmbeddingPath is empty, which names the whole model rather than its word embedding*").Which.ParamName.Should().Be("wordEmbeddingPath");
        FluentActions.Invoking(() => Build(owner, "x", null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("wordEmbeddingPath");
    }

    /// <summary>A batch size below 1 is refused when set, naming BatchSize; it was refused at the first Predict naming "size".</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void A_batch_size_below_one_is_refused_when_set(int size)
    {
        using var owner = PowerOfSum.Classifier(1);
        var error = FluentActions.Invoking(() => new TextClassifier("x", owner.Tokenizer, owner.Module, owner.Labels, "embeddings", null, false) { BatchSize = size })
            .Should().Throw<ArgumentOutOfRangeException>().Which;
        error.ParamName.Should().Be("BatchSize");
        error.ActualValue.Should().Be(size);
        error.Message.Should().StartWith($"TextClassifier.BatchSize is {size}: a forward pass takes at least 1 text");

        var one = new TextClassifier("x", owner.Tokenizer, owner.Module, owner.Labels, "embeddings", null, false) { BatchSize = 1 };
        one.BatchSize.Should().Be(1);
        one.Predict(["3 4", "5"]).Should().HaveCount(2);
    }
}
