using System.Text.RegularExpressions;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

public partial class MarkdownRendererTests
{
    private const string Text = "the movie was great";

    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex CellSeparator();

    /// <summary>The cells of a table line (split on unescaped pipes, trimmed).</summary>
    private static string[] Cells(string line) => CellSeparator().Split(line)[1..^1].Select(c => c.Trim()).ToArray();

    private static string[] Table(string markdown) => markdown.Split('\n').Where(l => l.StartsWith('|')).ToArray();

    [Theory]
    [InlineData(0)]
    [InlineData(18)]
    public void Digits_outside_1_to_17_are_refused_naming_the_option(int digits)
    {
        var groups = ExplanationGroup.ByText([SalienceSamples.Make("good film")]);
        FluentActions.Invoking(() => MarkdownRenderer.Render(groups, new MarkdownOptions { Digits = digits })).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("options").WithMessage($"options.Digits is {digits}: give 1 to 17 significant digits*");
    }

    [Fact]
    public void One_row_per_word_and_one_column_per_method()
    {
        var ig = SalienceSamples.Make(Text, SalienceSamples.WordScores(0.1, -0.6, 0.05, 1.2));
        var grad = SalienceSamples.Make(Text, [0.2, 0.1, 0.5, 0.3, 0.9, 0.4], method: "gradient", signed: false, delta: null, settings: [new("layer", "embeddings")]);
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([ig, grad]));

        var table = Table(markdown);
        table.Should().HaveCount(2 + 4);
        table[0].Should().Be("| # | word | integrated-gradients | gradient |");
        table[1].Should().Be("|--:|:--|--:|--:|");
        table.Skip(2).Select(Cells).Should().AllSatisfy(cells => cells.Should().HaveCount(4));
        Cells(table[2]).Should().Equal("1", "the", "+0.1", "0.1");
        Cells(table[3]).Should().Equal("2", "movie", "-0.6", "0.5");
        Cells(table[5]).Should().Equal("4", "great", "+1.2", "0.9");

        markdown.Should().StartWith("### Text 1 of 1\n\n> the movie was great\n\n");
        markdown.Should().Contain("**Prediction:** positive (p = 0.9770) · **Explained class:** positive (class 1, p = 0.9770)");
        markdown.Should().Contain("- **integrated-gradients**: signed logit attribution, reduction sum, normalization none, words by sum · convergence delta 0.00012 (logit units) · settings: steps=50, rule=gausslegendre, baseline=pad");
        markdown.Should().Contain("- **gradient**: unsigned logit attribution, reduction l2, normalization none, words by sum · settings: layer=embeddings");
    }

    /// <summary>
    /// Label names may repeat: a multi-label prediction of two classes named alike read "same (σ …), same (σ …)"; each
    /// shared name now carries its class index, and a name no other class has stays as it is.
    /// </summary>
    [Fact]
    public void A_prediction_of_classes_that_share_a_name_shows_their_indices()
    {
        // Logits ln 9, ln 4, ln(1/4): sigmoids 0.9, 0.8, 0.2 (by hand); classes 0 and 1 are predicted.
        double[] logits = [Math.Log(9), Math.Log(4), Math.Log(0.25)];
        var e = SalienceSamples.Make(Text, SalienceSamples.WordScores(0.1, -0.6, 0.05, 1.2), target: 0, logits: logits) with
        {
            Head = OutputHead.MultiLabel,
            Probabilities = [0.9, 0.8, 0.2],
            TargetLabel = "same",
        };
        var shared = MarkdownRenderer.Render(ExplanationGroup.ByText([e]), new MarkdownOptions { Labels = ["same", "same", "other"] });
        shared.Should().Contain("**Prediction:** same (class 0) (σ = 0.9000), same (class 1) (σ = 0.8000) ·");

        var distinct = MarkdownRenderer.Render(ExplanationGroup.ByText([e]), new MarkdownOptions { Labels = ["first", "second", "other"] });
        distinct.Should().Contain("**Prediction:** first (σ = 0.9000), second (σ = 0.8000) ·");

        // One predicted class whose name another class shares is ambiguous too.
        var one = e with { Logits = [Math.Log(9), Math.Log(0.25), Math.Log(0.25)], Probabilities = [0.9, 0.2, 0.2] };
        MarkdownRenderer.Render(ExplanationGroup.ByText([one]), new MarkdownOptions { Labels = ["same", "same", "other"] })
            .Should().Contain("**Prediction:** same (class 0) (σ = 0.9000) ·");
    }

    /// <summary>
    /// Without a labels list, names come from the explanation: the target's own label, "class k" for the others. A
    /// target labelled "class 1" (a Hugging Face id2label may say so) and class 1 both predicted read "class 1, class 1";
    /// the shared name among the predicted ones carries the index as well.
    /// </summary>
    [Fact]
    public void Predicted_classes_that_share_a_name_without_a_labels_list_show_their_indices()
    {
        // Sigmoids 0.9 and 0.8 (logits ln 9, ln 4, by hand): classes 0 and 1 are predicted.
        double[] logits = [Math.Log(9), Math.Log(4)];
        var e = SalienceSamples.Make(Text, SalienceSamples.WordScores(0.1, -0.6, 0.05, 1.2), target: 0, logits: logits) with
        {
            Head = OutputHead.MultiLabel,
            Probabilities = [0.9, 0.8],
            TargetLabel = "class 1",
        };
        MarkdownRenderer.Render(ExplanationGroup.ByText([e]))
            .Should().Contain("**Prediction:** class 1 (class 0) (σ = 0.9000), class 1 (class 1) (σ = 0.8000) ·");
    }

    [Fact]
    public void Rows_of_methods_that_split_differently_are_merged_in_text_order()
    {
        var kept = SalienceSamples.Make("unbelievable film");
        var dropped = SalienceLayer.DropSpecialTokens(SalienceSamples.Make("unbelievable film", method: "gradient", signed: false, delta: null));
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([dropped, kept]), new MarkdownOptions { Granularity = Granularity.Tokens });
        var rows = Table(markdown).Skip(2).Select(Cells).ToList();
        rows.Select(r => r[1]).Should().Equal("\\[CLS\\]", "unbe", "##lievable", "film", "\\[SEP\\]");
        rows[0][2].Should().BeEmpty("the first method dropped [CLS]");
        rows[0][3].Should().NotBeEmpty();
        rows[1][2].Should().NotBeEmpty();
        rows.Should().AllSatisfy(r => r.Should().HaveCount(4));
        Table(markdown)[0].Should().Be("| # | token | gradient | integrated-gradients |");
    }

    [Fact]
    public void A_long_text_keeps_every_word_once_in_text_order()
    {
        // 2,000 words, two methods: every row of the first column goes into the merged table once, in text order, and
        // the second column adds none. (The merge was quadratic in the rows, 33 s for 32,000 words here; it is linear now. Speed is
        // not asserted in a unit test: measured by hand, under a second.)
        var text = string.Join(" ", Enumerable.Range(0, 2_000).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var e = SalienceSamples.Make(text);
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([e, e with { Method = "other" }]));
        var rows = Table(markdown).Skip(2).ToArray();
        rows.Should().HaveCount(2_000);
        Cells(rows[0])[1].Should().Be("w0");
        Cells(rows[1_234])[1].Should().Be("w1234");
        Cells(rows[^1])[1].Should().Be("w1999");
    }

    [Fact]
    public void Texts_and_tokens_are_escaped()
    {
        var e = SalienceSamples.Make("- a|b *c* <d> `e` [f](g)");
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([e]));
        markdown.Should().Contain("> \\- a\\|b \\*c\\* \\<d\\> \\`e\\` \\[f\\](g)\n");
        Table(markdown).Skip(2).Select(r => Cells(r)[1]).Should().Equal("-", "a\\|b", "\\*c\\*", "\\<d\\>", "\\`e\\`", "\\[f\\](g)");
        MarkdownRenderer.Render(ExplanationGroup.ByText([SalienceSamples.Make("1. first")])).Should().Contain("> 1\\. first\n");
    }

    [Fact]
    public void Unpaired_surrogates_of_a_split_emoji_become_replacement_characters_and_the_text_stays_valid_utf16()
    {
        // "👍 ok" is U+D83D U+DC4D, a space, "ok": tokens that split the pair are each one unpaired surrogate, which no
        // UTF-8 text holds; a strict UTF-8 writer (File.WriteAllText's) threw on the whole table. A whole pair stays.
        MarkdownRenderer.Escape("a\uD83Db \uDC4D \uD83D\uDC4D").Should().Be("a\uFFFDb \uFFFD \uD83D\uDC4D");
        var e = SalienceSamples.Hand("\uD83D\uDC4D ok", ["\uD83D", "\uDC4D", "ok"], [1, 2, 3], [(0, 1), (1, 2), (3, 5)], [false, false, false], [1, 2, 3]);
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([e]), new MarkdownOptions { Granularity = Granularity.Tokens });
        Table(markdown).Skip(2).Select(r => Cells(r)[1]).Should().Equal("\uFFFD", "\uFFFD", "ok");
        markdown.Should().Contain("> \uD83D\uDC4D ok\n");
        var strict = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        strict.Invoking(u => u.GetBytes(markdown)).Should().NotThrow();
    }

    [Fact]
    public void Bidi_overrides_cannot_reorder_the_table()
    {
        MarkdownRenderer.Escape("good \u202Ebad\u2067").Should().Be("good \uFFFDbad\uFFFD");
        MarkdownRenderer.Render(ExplanationGroup.ByText([SalienceSamples.Make("good \u202Ebad movie")])).Should().NotContain("\u202E");
    }

    [Fact]
    public void Dollar_signs_are_escaped_so_github_shows_no_inline_math()
    {
        // On GitHub "$5/$10" is the formula "5/" between two dollar signs; "\$" is a literal dollar in any CommonMark.
        MarkdownRenderer.Escape("$5/$10").Should().Be("\\$5/\\$10");
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([SalienceSamples.Make("only $5/$10")]));
        markdown.Should().Contain("> only \\$5/\\$10\n");
        Table(markdown).Skip(2).Select(r => Cells(r)[1]).Should().Equal("only", "\\$5/\\$10");
    }

    [Theory]
    // Expected strings written by hand. GitHub finds www. and scheme:// links while parsing (a backslash before the dot
    // or the colon stops them), but e-mail addresses only after re-joining the text and emoji only in the rendered HTML,
    // where escapes are gone: there an empty-looking <span> must sit between the characters. Checked against
    // cmark-gfm 0.29 (-e autolink): none of the expected strings renders a link.
    [InlineData("see www.example.com now", "see www\\.example.com now")]
    [InlineData("(www.example.com)", "(www\\.example.com)")]
    [InlineData("https://example.org/a?b=1", "https\\://example.org/a?b=1")]
    [InlineData("ftp://files.example.org", "ftp\\://files.example.org")]
    [InlineData("mail me@example.com today", "mail me<span>@</span>example.com today")]
    [InlineData("so :smile: and :+1:", "so <span>:</span>smile: and <span>:</span>+1:")]
    [InlineData(":a:b:", "<span>:</span>a<span>:</span>b:")]
    public void Autolinks_and_emoji_shortcodes_stay_literal_text(string text, string escaped)
    {
        MarkdownRenderer.Escape(text).Should().Be(escaped);
    }

    [Theory]
    // In an issue or pull-request comment "@octocat" notifies the user and "#12" links issue 12; the filters that do it
    // work on the rendered HTML's text, so (as for emoji) a span must split the sign from the name. Expected by hand.
    [InlineData("thanks @octocat!", "thanks <span>@</span>octocat!")]
    [InlineData("cc @org/team", "cc <span>@</span>org/team")]
    [InlineData("see #12 and repo#3", "see <span>#</span>12 and repo<span>#</span>3")]
    // "GH-12" links issue 12 as "#12" does; a word of 7 to 40 hex digits links the commit it names (also after "@"):
    // every seventh character is wrapped so no text node holds 7 hex digits in a row. Expected by hand: a5c3785 is
    // a5c378 + <span>5</span>; the 40-digit SHA splits into runs of 6 with characters 7, 14, 21, 28, 35 wrapped.
    [InlineData("fixed in GH-7", "fixed in <span>G</span>H-7")]
    [InlineData("fixed in a5c3785 today", "fixed in a5c378<span>5</span> today")]
    [InlineData("jlord@a5c3785ed8d6a35868bc169f07e40e889087fd2e",
        "jlord<span>@</span>a5c378<span>5</span>ed8d6a<span>3</span>5868bc<span>1</span>69f07e<span>4</span>0e8890<span>8</span>7fd2e")]
    [InlineData("build 2024010 (v1234567)", "build 202401<span>0</span> (v1234567)")]
    // Two SHAs in one text: each keeps its break. 13 hex digits: only the 7th is wrapped, not the space after them.
    [InlineData("a5c3785 or 1234567", "a5c378<span>5</span> or 123456<span>7</span>")]
    [InlineData("a5c3785ed8d6a x", "a5c378<span>5</span>ed8d6a x")]
    [InlineData("a5c3785ed8d6a", "a5c378<span>5</span>ed8d6a")]
    public void Mentions_issue_references_and_commit_shas_stay_literal_text(string text, string escaped)
    {
        MarkdownRenderer.Escape(text).Should().Be(escaped);
    }

    [Theory]
    // Ordinary text, near misses included: "awww." is no link (www. must not follow a letter), "great: 10" no emoji
    // (a space after the colon), "@ home" no mention (a space after the '@'), "C#" no reference (no digit after the '#').
    [InlineData("the movie was great: 10 out of 10")]
    [InlineData("awww. so sweet")]
    [InlineData("meet @ home at 5")]
    [InlineData("a # b and C#")]
    [InlineData("see http: or www")]
    // Hex words without a digit are English ("defaced", "deadbeef"); 6 digits, 41 digits, or a run inside a longer word
    // ("x1234567", "abc1234g", "1234567x") are no SHA; "GH-" inside a word ("sigh-2") is no reference.
    [InlineData("defaced and effaced, a deadbeef cafe")]
    [InlineData("code 123456 and 12345678901234567890123456789012345678901")]
    [InlineData("x1234567 abc1234g 1234567x")]
    [InlineData("sigh-2 and GH- 2")]
    [InlineData("it ends in GH-")]
    public void Ordinary_text_is_not_touched_by_the_autolink_and_emoji_escapes(string text)
    {
        MarkdownRenderer.Escape(text).Should().Be(text);
    }

    [Fact]
    public void A_quoted_text_with_a_link_address_and_emoji_renders_them_as_text()
    {
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([SalienceSamples.Make("visit www.example.com :smile:")]));
        markdown.Should().Contain("> visit www\\.example.com <span>:</span>smile:\n");
    }

    [Theory]
    [InlineData("    if a < b", "> if a \\< b")]
    [InlineData("\t\tx = *y*", "> x = \\*y\\*")]
    [InlineData("      - item", "> \\- item")]
    [InlineData("   12) twelve", "> 12\\) twelve")]
    public void An_indented_text_is_quoted_without_its_indent_so_it_is_not_a_code_block(string text, string quoted)
    {
        // "> " followed by four more spaces opens an indented code block inside the quote (CommonMark 5.1), where the
        // backslash escapes would be shown literally: the quote must start at the text's first non-space character.
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([SalienceSamples.Make(text)]));
        markdown.Split('\n').Single(l => l.StartsWith('>')).Should().Be(quoted);
    }

    [Fact]
    public void Several_texts_give_several_sections_and_differing_targets_label_the_columns()
    {
        var a = SalienceSamples.Make("good film");
        var b = SalienceSamples.Make("good film", target: 0, delta: null);
        var c = SalienceSamples.Make("bad plot");
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([a, b, c]), new MarkdownOptions { Labels = SalienceSamples.Labels, ShowDetails = false });
        markdown.Should().Contain("### Text 1 of 2").And.Contain("### Text 2 of 2");
        Table(markdown)[0].Should().Be("| # | word | integrated-gradients run 1 → positive | integrated-gradients run 2 → negative |");
        markdown.Should().NotContain("- **");
    }

    /// <summary>
    /// Labels may repeat (a Hugging Face id2label may name two classes alike): columns explaining different classes of
    /// one name would read "→ same" alike, so such a header adds the class index; a name that only one class of the
    /// table has stays as it is.
    /// </summary>
    [Fact]
    public void Columns_explaining_different_classes_of_one_name_show_the_class_index()
    {
        // Labels [same, same, other].
        double[] logits = [0.5, 2.5, -1.25];
        var a = SalienceSamples.Make("good film", logits: logits) with { TargetLabel = "same" };
        var b = SalienceSamples.Make("good film", target: 0, logits: logits, delta: null) with { TargetLabel = "same" };
        var c = SalienceSamples.Make("good film", method: "lime", target: 0, logits: logits, delta: null) with { TargetLabel = "same" };
        var d = SalienceSamples.Make("good film", method: "occlusion", target: 0, logits: logits, delta: null) with { Target = 2, TargetLabel = "other" };
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([a, b, c, d]), new MarkdownOptions { ShowDetails = false });
        Table(markdown)[0].Should().Be(
            "| # | word | integrated-gradients run 1 → same (class 1) | integrated-gradients run 2 → same (class 0) | lime → same (class 0) | occlusion → other |");
    }

    [Fact]
    public void Details_list_the_surrogate_fit_and_relevance_shares()
    {
        var lime = SalienceSamples.Make(Text, method: "lime", delta: null) with
        {
            Surrogate = new Attribution.Methods.SurrogateModel([new("the", 0, 3)], [0.25], 0.4321, 0.8765, 0.5, 32),
        };
        var lrp = SalienceSamples.Make(Text, method: "lrp-epsilon") with
        {
            RelevanceShares = new Dictionary<string, double> { ["embeddings|word"] = 1.25 },
        };
        var markdown = MarkdownRenderer.Render(ExplanationGroup.ByText([lime, lrp]));
        markdown.Should().Contain(" · surrogate R² 0.8765 (unweighted 0.5), intercept 0.4321, 32 samples");
        markdown.Should().Contain(" · relevance embeddings\\|word 1.25");
        MarkdownRenderer.Render(ExplanationGroup.ByText([lime, lrp]), new MarkdownOptions { ShowDetails = false }).Should().NotContain("surrogate R²");
    }
}
