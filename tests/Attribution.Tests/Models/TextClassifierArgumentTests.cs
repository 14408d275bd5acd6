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
}
