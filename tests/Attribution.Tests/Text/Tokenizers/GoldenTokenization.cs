using System.Text.Json;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>One entry of shared/golden/tokenization*.json: a text, its ids and (for the awkward strings) its tokens.</summary>
public sealed record GoldenCase(string Group, int Index, string Text, long[] Ids, string[]? Tokens);

public static class GoldenTokenization
{
    public static IReadOnlyList<GoldenCase> Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var cases = new List<GoldenCase>();
        foreach (var group in new[] { "sst2_dev", "tricky" })
        {
            var index = 0;
            foreach (var entry in document.RootElement.GetProperty(group).EnumerateArray())
            {
                var tokens = entry.TryGetProperty("tokens", out var t) ? t.EnumerateArray().Select(x => x.GetString()!).ToArray() : null;
                cases.Add(new GoldenCase(
                    group,
                    index++,
                    entry.GetProperty("text").GetString()!,
                    entry.GetProperty("ids").EnumerateArray().Select(x => x.GetInt64()).ToArray(),
                    tokens));
            }
        }

        return cases;
    }

    /// <summary>Every case whose ids (or, where given, tokens between the special ones) differ, described for the failure message.</summary>
    public static List<string> Mismatches(Attribution.Text.Tokenizers.ITokenizer tokenizer, IReadOnlyList<GoldenCase> cases)
    {
        var mismatches = new List<string>();
        foreach (var golden in cases)
        {
            var encoding = tokenizer.Encode(golden.Text);
            var tokens = encoding.Tokens.Where((_, i) => !encoding.SpecialTokensMask[i]).ToArray();
            if (!encoding.Ids.SequenceEqual(golden.Ids) || (golden.Tokens is not null && !tokens.SequenceEqual(golden.Tokens)))
            {
                mismatches.Add($"{golden.Group}[{golden.Index}] {JsonSerializer.Serialize(golden.Text)}: expected [{string.Join(", ", golden.Ids)}] got [{string.Join(", ", encoding.Ids)}] tokens [{string.Join(" ", encoding.Tokens)}]");
            }
        }

        return mismatches;
    }
}
