using System.Text.Json;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// roberta-base (add_prefix_space false, trim_offsets true) on tabs, newlines and spaces mixed, which the golden file
/// does not combine. Pieces worked out by hand from the GPT-2 pattern (<c>\s+(?!\S)</c> leaves the last space of a
/// run for the word after it; a tab or newline is never merged into a word), offsets from Hugging Face's
/// <c>process_offsets</c> (only leading and trailing 'Ġ' are trimmed; a token of spaces keeps an empty span where it
/// ends). Ids are looked up in vocab.json here.
/// </summary>
public class RobertaWhitespaceTests
{
    public static TheoryData<string, string[], (int, int)[]> Cases => new()
    {
        // " \t" then " x": the space token is trimmed to (1, 1); the tab keeps its span.
        { " \t x", ["Ġ", "ĉ", "Ġx"], [(1, 1), (1, 2), (3, 4)] },
        // "a", " \n", " b".
        { "a \n b", ["a", "Ġ", "Ċ", "Ġb"], [(0, 1), (2, 2), (2, 3), (4, 5)] },
        // "\r\n" is two pieces: \s+(?!\S) stops before the \n that precedes y, and \s+ takes the \n.
        { "x\r\ny", ["x", "č", "Ċ", "y"], [(0, 1), (1, 2), (2, 3), (3, 4)] },
        // Two newlines are two pieces, so the merge "Ċ Ċ" never applies.
        { "a\n\nb", ["a", "Ċ", "Ċ", "b"], [(0, 1), (1, 2), (2, 3), (3, 4)] },
        // A no-break space is whitespace to the pattern but not a 'Ġ' byte, so nothing is trimmed.
        { "a\u00A0b", ["a", "Âł", "b"], [(0, 1), (1, 2), (2, 3)] },
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Pieces_and_offsets_follow_the_gpt2_pattern_and_offset_trimming(string text, string[] tokens, (int, int)[] offsets)
    {
        var directory = Path.GetDirectoryName(SharedData.Require("tokenizers/roberta-base/tokenizer.json"))!;
        using var vocabulary = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "vocab.json")));
        var tokenizer = TokenizerLoader.FromDirectory(directory);

        var encoding = tokenizer.Encode(text);

        encoding.Ids.Should().Equal(new long[] { 0 }.Concat(tokens.Select(t => (long)vocabulary.RootElement.GetProperty(t).GetInt32())).Append(2));
        encoding.Offsets.Skip(1).SkipLast(1).Should().Equal(offsets.Select(o => ((int, int)?)o));
    }
}
