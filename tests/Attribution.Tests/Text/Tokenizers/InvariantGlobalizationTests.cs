using System.Text.Json;
using Attribution.Tests.Cli;
using Attribution.Tests.Engine.Loading;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// In .NET's globalization-invariant mode (no ICU; DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1, as many container images
/// set) string normalization leaves non-ASCII text as it is, so BERT's accent stripping would do nothing ("café" would
/// become [UNK] where Hugging Face reads "cafe"). The tokenizer then decomposes with the library's own Unicode 14.0
/// table: the same ids as with ICU. It used to refuse every non-ASCII letter (Greek and Cyrillic included, though most
/// do not decompose) and to let symbols that do decompose through unchanged ("≠" became [UNK] instead of "="). Only a
/// letter or mark newer than the table is refused now, naming the mode and the fix.
/// The mode is chosen at process start, so the command line runs in a child process: <c>explain --format json</c>
/// writes each text's token ids and offsets.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InvariantGlobalizationTests
{
    private static readonly Dictionary<string, string> Invariant = new() { ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1" };

    /// <summary>
    /// Texts beyond the golden file's: Greek with tonos, dialytika and polytonic breathings, Greek capitals that do not
    /// decompose, Cyrillic (й and ё decompose, п does not), Vietnamese (stacked marks; đ does not decompose), Hangul
    /// syllables (decomposed by the algorithm into jamo), symbols and punctuation that decompose (≠ to = + U+0338,
    /// U+2329 to U+3008, U+2000 to U+2002), singletons (Ohm, Kelvin and Angstrom signs, a compatibility ideograph),
    /// letters already decomposed, titlecase digraphs, emoji and a line separator. The first three were refused before.
    /// </summary>
    private static readonly string[] MoreTexts =
    [
        "ΟΔΟΣ",
        "привет",
        "café",
        "Καλημέρα, ΟΔΟΣ Ἀθῆναι ΐ ϋ ώ άέήίόύ",
        "привет, Йошкар-Ола и ёлка ЁЖ",
        "Tiếng Việt có dấu: người đường ở Hà Nội",
        "한국어 문장 입니다 각",
        "a ≠ b \u2329x\u232A\u2000≯ ≤",
        "\u2126 \u212A \u212B \U0002F800 \uFA2E",
        "Œuvre naïve Ærøskøbing Łódź café e\u0301 o\u0308",
        "ǅ ǈ İstanbul",
        "a fine\u2028film \U0001F3AC",
    ];

    [SkippableFact]
    public void Invariant_mode_gives_the_ids_of_the_golden_file_and_of_icu()
    {
        var model = CliHarness.TinyBert;
        var golden = GoldenTokenization.Load(SharedData.Require("golden/tokenization.json"))
            .Where(g => !string.IsNullOrWhiteSpace(g.Text) && (g.Group == "tricky" || g.Text.Any(c => c >= 0x80)))
            .ToList();
        golden.Count.Should().BeGreaterThan(20);

        // This process (ICU) gives the ids and offsets expected for the further texts; the golden file is from Python.
        Skip.IfNot("\u00E9".Normalize(System.Text.NormalizationForm.FormD) == "e\u0301", "this process has no ICU to compare with");
        var tokenizer = TokenizerLoader.FromDirectory(model);
        var texts = golden.Select(g => g.Text).Concat(MoreTexts).ToList();

        using var work = new TorchSharpLoaderTests.TempFolder();
        var args = new List<string> { "explain", "--model", model, "--method", "gradient", "--granularity", "tokens", "--format", "json" };
        args.AddRange(texts.SelectMany(t => new[] { "--text", t }));
        var run = TorchSharpLoaderTests.Engine(TorchSharpLoaderTests.TestOutput, work, Path.Combine(work.Path, "native"), mode: null, Invariant, [.. args]);
        run.Code.Should().Be(0, run.ToString());

        using var json = JsonDocument.Parse(run.Out);
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        results.Should().HaveCount(texts.Count);
        var mismatches = new List<string>();
        for (var i = 0; i < texts.Count; i++)
        {
            var ids = results[i].GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var offsets = results[i].GetProperty("offsets").EnumerateArray()
                .Select(o => (o[0].GetInt32(), o[1].GetInt32())).ToArray();
            var encoding = tokenizer.Encode(texts[i]);
            var icuIds = encoding.Ids.Where((_, k) => !encoding.SpecialTokensMask[k]).ToArray();
            var icuOffsets = encoding.Offsets.Where((_, k) => !encoding.SpecialTokensMask[k]).Select(o => o!.Value).ToArray();
            var expected = i < golden.Count ? golden[i].Ids[1..^1] : icuIds;
            if (!ids.SequenceEqual(expected) || !ids.SequenceEqual(icuIds) || !offsets.SequenceEqual(icuOffsets))
            {
                mismatches.Add($"{JsonSerializer.Serialize(texts[i])}: invariant [{string.Join(", ", ids)}], expected [{string.Join(", ", expected)}], ICU [{string.Join(", ", icuIds)}]");
            }
        }

        mismatches.Should().BeEmpty();
    }

    /// <summary>
    /// A letter newer than the table (Cyrillic Tje, U+1C89, Unicode 16.0) is refused with the mode and the fix named,
    /// rather than read without its decomposition.
    /// </summary>
    [SkippableFact]
    public void A_letter_newer_than_the_table_is_refused_in_invariant_mode()
    {
        var model = CliHarness.TinyBert;
        using var work = new TorchSharpLoaderTests.TempFolder();

        var refused = TorchSharpLoaderTests.Engine(TorchSharpLoaderTests.TestOutput, work, Path.Combine(work.Path, "native"),
            mode: null, Invariant, "predict", "--model", model, "--text", "a \u1C89 film");

        refused.Code.Should().NotBe(0, refused.ToString());
        refused.Error.Should().Contain("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT").And.Contain("(U+1C89)").And.Contain("Unicode 14.0.0").And.Contain("Install ICU");
    }
}
