using System.Globalization;
using System.Text;
using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>Options of <see cref="MarkdownRenderer"/>.</summary>
public sealed record MarkdownOptions
{
    /// <summary>One table row per word (default) or per token.</summary>
    public Granularity Granularity { get; init; } = Granularity.Words;

    /// <summary>The model's class names, to name the predicted class when it is not the target.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Significant digits of the scores in the table (default 4; 1 to 17, others are refused).</summary>
    public int Digits { get; init; } = 4;

    /// <summary>
    /// List each method's description, settings, convergence delta and notes under the table, and where present LIME's
    /// surrogate fit (R², intercept) and LRP's relevance shares (default true).
    /// </summary>
    public bool ShowDetails { get; init; } = true;
}

/// <summary>
/// Explanations as GitHub-flavoured Markdown: per text, a heading, the text quoted, a prediction line, and a table
/// with one row per word (or token) and one score column per method, side by side. Rows of methods that split the
/// text differently (one kept special tokens, another did not) are merged in text order and missing cells left empty.
/// Every text is escaped, so inputs cannot inject Markdown or HTML.
/// </summary>
public static class MarkdownRenderer
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // '$' too: GitHub renders $…$ as inline math ("$5/$10" would show "5/" as a formula); \$ is a plain dollar.
    private const string Special = "\\`*_[]<>|~&$";

    /// <summary>A document's results grouped by text; the document's labels name the classes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MarkdownOptions.Digits"/> is not between 1 and 17.</exception>
    /// <exception cref="ArgumentException">A result is malformed (as <see cref="ExplanationGroup.ByText"/> refuses it).</exception>
    public static string Render(ExplanationDocument document, MarkdownOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        options ??= new MarkdownOptions();
        return Render(ExplanationGroup.ByText(document.Results), options with { Labels = options.Labels ?? document.Labels });
    }

    /// <summary>One section per group, one score column per explanation in it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MarkdownOptions.Digits"/> is not between 1 and 17.</exception>
    public static string Render(IReadOnlyList<ExplanationGroup> groups, MarkdownOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        options ??= new MarkdownOptions();
        if (options.Digits is < 1 or > 17)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Digits, $"options.Digits is {options.Digits}: give 1 to 17 significant digits (17 round-trips every double)");
        }

        Methods.Internal.EnumSettings.Check(options.Granularity, "options.Granularity", nameof(options));

        var markdown = new StringBuilder();
        for (var g = 0; g < groups.Count; g++)
        {
            Group(markdown, groups[g], g, groups.Count, options);
        }

        return markdown.ToString();
    }

    /// <summary>
    /// Escapes text for inline Markdown (table cells, list items): every ASCII punctuation character that can start
    /// emphasis, code, links, HTML, entities, strikethrough, GitHub's inline math or a table cell is backslash-escaped
    /// (<c>\ ` * _ [ ] &lt; &gt; | ~ &amp; $</c>); line breaks become spaces, other control characters, unpaired
    /// surrogates and bidirectional embeddings, overrides and isolates U+FFFD. What GitHub would turn into a link or an emoji stays literal text:
    /// the dot of a <c>www.</c> that could start an autolink and the colon of <c>://</c> are backslash-escaped, and the
    /// <c>@</c> of an e-mail address or a mention (which would notify the user in a comment), the <c>#</c> of an issue
    /// reference (<c>#123</c>), the <c>G</c> of <c>GH-123</c>, the opening colon of an <c>:emoji:</c> shortcode, and
    /// every seventh character of what could be a commit SHA (a word of 7 to 40 hexadecimal digits with at least one
    /// decimal digit, so that no run of 7 is left whole) are wrapped in <c>&lt;span&gt;…&lt;/span&gt;</c>. Words of
    /// the letters a–f alone (<c>defaced</c>, <c>decade</c>) are left as they are. (A quoted text line also has a
    /// leading list, heading or break marker escaped.)
    /// </summary>
    /// <remarks>
    /// Why two kinds of escape: GitHub finds <c>www.</c> and <c>scheme://</c> links while it parses, so a backslash
    /// breaks them; but it finds e-mail addresses after joining the parsed text back together, and emoji in the
    /// rendered HTML, where a backslash or a character reference is already gone, so only an element between the
    /// characters (a span, which shows nothing) keeps them apart.
    /// </remarks>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length + 8);
        var shaBreaks = CommitShaBreaks(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\n' or '\r' or '\t')
            {
                builder.Append(' ');
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else if (char.IsControl(c) || char.IsSurrogate(c) || RenderSupport.IsBidiOverride(c))
            {
                // An unpaired surrogate (a token or offset that split an emoji's pair) is not text: a UTF-8 writer
                // that throws on invalid data (File.WriteAllText) would fail on the whole document.
                builder.Append('\uFFFD');
            }
            else if (StartsEmailDomainOrMention(text, i) || StartsIssueReference(text, i) || OpensEmojiShortcode(text, i) || shaBreaks?[i] == true)
            {
                builder.Append("<span>").Append(c).Append("</span>");
            }
            else
            {
                if (Special.Contains(c) || EndsWwwPrefix(text, i) || StartsSchemeSlashes(text, i))
                {
                    builder.Append('\\');
                }

                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    // GitHub's extended autolinks (GFM spec 6.9): "www." after the start, a space or one of *_~( (checked here as
    // "not after a letter or digit", a superset that costs only a harmless escape); "scheme://"; and a local part of
    // letters, digits and .+-_ directly before an '@'.
    private static bool EndsWwwPrefix(string text, int i) =>
        text[i] == '.' && i >= 3 && string.Compare(text, i - 3, "www", 0, 3, StringComparison.OrdinalIgnoreCase) == 0
        && (i == 3 || !char.IsLetterOrDigit(text[i - 4]));

    private static bool StartsSchemeSlashes(string text, int i) =>
        text[i] == ':' && i + 2 < text.Length && text[i + 1] == '/' && text[i + 2] == '/';

    // The '@' of an address (after its local part) or of a mention (@user, @org/team, which in an issue or pull-request
    // comment notifies that user): either way an '@' before a letter, digit, '-' or '_'.
    private static bool StartsEmailDomainOrMention(string text, int i) =>
        text[i] == '@' && i + 1 < text.Length && (char.IsAsciiLetterOrDigit(text[i + 1]) || text[i + 1] is '-' or '_');

    // "#123" (and owner/repo#123) and "GH-123" link an issue or pull request in a GitHub comment.
    private static bool StartsIssueReference(string text, int i) =>
        (text[i] == '#' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))
        || (text[i] is 'G' or 'g' && i + 3 < text.Length && text[i + 1] is 'H' or 'h' && text[i + 2] == '-' && char.IsAsciiDigit(text[i + 3])
            && (i == 0 || !IsWordCharacter(text[i - 1])));

    // GitHub links a word of 7 to 40 hexadecimal digits (also after "user@" or "owner/repo@") to the commit it names, in
    // the rendered HTML's text, as it does mentions. A span around every seventh character leaves no run of 7 in any one
    // text node. Words of the letters a-f alone are English ("defaced", "effaced") far more often than a commit: left be.
    private static bool[]? CommitShaBreaks(string text)
    {
        bool[]? breaks = null;
        for (var start = 0; start < text.Length;)
        {
            if (!char.IsAsciiHexDigit(text[start]) || (start > 0 && IsWordCharacter(text[start - 1])))
            {
                start++;
                continue;
            }

            var end = start;
            while (end < text.Length && char.IsAsciiHexDigit(text[end]))
            {
                end++;
            }

            if (end - start is >= 7 and <= 40 && (end == text.Length || !IsWordCharacter(text[end]))
                && text.AsSpan(start, end - start).ContainsAnyInRange('0', '9'))
            {
                breaks ??= new bool[text.Length];
                for (var k = start + 6; k < end; k += 7)
                {
                    breaks[k] = true;
                }
            }

            start = end;
        }

        return breaks;
    }

    // Word characters as a regular expression's \b sees them: a hexadecimal run inside a longer word is no SHA.
    private static bool IsWordCharacter(char c) => char.IsLetterOrDigit(c) || c == '_';

    // GitHub's emoji names are letters, digits, '_', '+' and '-' (":+1:", ":100:", ":thumbs_up:") between two colons.
    private static bool OpensEmojiShortcode(string text, int i)
    {
        if (text[i] != ':')
        {
            return false;
        }

        var end = i + 1;
        while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] is '_' or '+' or '-'))
        {
            end++;
        }

        return end > i + 1 && end < text.Length && text[end] == ':';
    }

    private static void Group(StringBuilder md, ExplanationGroup group, int index, int count, MarkdownOptions options)
    {
        var first = group.Explanations[0];
        md.Append("### Text ").Append((index + 1).ToString(Invariant)).Append(" of ").Append(count.ToString(Invariant)).Append("\n\n");
        md.Append("> ").Append(EscapeLineStart(Escape(group.Text))).Append("\n\n");
        md.Append("**Prediction:** ").Append(string.Join(", ", RenderSupport.Prediction(first, options.Labels).Select(p => $"{Escape(p.Name)} ({p.Likelihood})")));
        var sameTarget = group.Explanations.All(e => e.Target == first.Target);
        if (sameTarget)
        {
            md.Append(" · **Explained class:** ").Append(Escape(first.TargetLabel)).Append(" (class ")
                .Append(first.Target.ToString(Invariant)).Append(", ").Append(RenderSupport.Likelihood(first, first.Target)).Append(')');
        }

        md.Append("\n\n");
        // One granularity for the whole table: tokens when asked for, or when a result has no word scores.
        var granularity = options.Granularity == Granularity.Words && group.Explanations.All(e => e.Words.Count > 0) ? Granularity.Words : Granularity.Tokens;
        var columns = group.Explanations.Select(e => RenderSupport.Keyed(RenderSupport.Units(e, granularity, out _))).ToList();
        var rows = MergeRows(columns);
        var headers = Headers(group.Explanations, sameTarget);
        var unit = granularity == Granularity.Words ? "word" : "token";
        md.Append("| # | ").Append(unit).Append(" | ").Append(string.Join(" | ", headers)).Append(" |\n");
        md.Append("|--:|:--|").Append(string.Concat(headers.Select(_ => "--:|"))).Append('\n');
        var lookups = columns.Select(c => c.ToDictionary(x => x.Key, x => x.Unit, StringComparer.Ordinal)).ToList();
        for (var r = 0; r < rows.Count; r++)
        {
            var (key, label) = rows[r];
            md.Append("| ").Append((r + 1).ToString(Invariant)).Append(" | ").Append(label.Length == 0 ? "∅" : Escape(label)).Append(" |");
            for (var m = 0; m < lookups.Count; m++)
            {
                md.Append(' ');
                if (lookups[m].TryGetValue(key, out var u))
                {
                    md.Append(Score(u.Score, group.Explanations[m].Signed, options.Digits));
                }

                md.Append(" |");
            }

            md.Append('\n');
        }

        md.Append('\n');
        if (options.ShowDetails)
        {
            for (var m = 0; m < group.Explanations.Count; m++)
            {
                var e = group.Explanations[m];
                md.Append("- **").Append(headers[m]).Append("**: ").Append(Escape(RenderSupport.Description(e, granularity)));
                if (!sameTarget)
                {
                    md.Append(" · explains ").Append(Escape(e.TargetLabel)).Append(" (class ").Append(e.Target.ToString(Invariant)).Append(')');
                }

                if (e.ConvergenceDelta is { } delta)
                {
                    md.Append(" · convergence delta ").Append(Escape(RenderSupport.Delta(e, delta)));
                }

                foreach (var extra in new[] { RenderSupport.Surrogate(e), RenderSupport.RelevanceShares(e) })
                {
                    if (extra is not null)
                    {
                        md.Append(" · ").Append(Escape(extra));
                    }
                }

                if (e.Settings.Count > 0)
                {
                    md.Append(" · settings: ").Append(Escape(RenderSupport.Settings(e.Settings)));
                }

                foreach (var note in e.Notes)
                {
                    md.Append(" · note: ").Append(Escape(note));
                }

                md.Append('\n');
            }

            md.Append('\n');
        }
    }

    /// <summary>
    /// Escapes what would start a block at the beginning of a line: a list marker (<c>- + 1. 1)</c>), a heading
    /// (<c>#</c>) or a break (<c>===</c>); and drops the line's leading spaces, since four or more (an indented text,
    /// or tabs turned into spaces) make an indented code block, which shows every backslash escape literally (a
    /// paragraph's leading spaces are not displayed anyway).
    /// </summary>
    private static string EscapeLineStart(string escaped)
    {
        var trimmed = escaped.TrimStart(' ');
        if (trimmed.Length == 0)
        {
            return trimmed;
        }

        if (trimmed[0] is '-' or '+' or '=' or '#')
        {
            return "\\" + trimmed;
        }

        var digits = 0;
        while (digits < trimmed.Length && char.IsAsciiDigit(trimmed[digits]))
        {
            digits++;
        }

        return digits > 0 && digits < trimmed.Length && trimmed[digits] is '.' or ')'
            ? trimmed[..digits] + "\\" + trimmed[digits..]
            : trimmed;
    }

    /// <summary>
    /// Column headers: the method names, numbered when a method appears twice, with the target when targets differ,
    /// and the target's class index too when another column's different target has the same label name (labels may
    /// repeat, as in a Hugging Face <c>id2label</c>).
    /// </summary>
    private static List<string> Headers(IReadOnlyList<Explanation> explanations, bool sameTarget)
    {
        var headers = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var sharedNames = explanations.GroupBy(e => e.TargetLabel, StringComparer.Ordinal)
            .Where(g => g.Select(e => e.Target).Distinct().Skip(1).Any()).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var e in explanations)
        {
            var name = e.Method;
            var n = seen[name] = seen.GetValueOrDefault(name) + 1;
            if (n > 1 || explanations.Count(x => x.Method == name) > 1)
            {
                name += $" run {n}";
            }

            if (!sameTarget)
            {
                name += $" → {e.TargetLabel}";
                if (sharedNames.Contains(e.TargetLabel))
                {
                    name += $" (class {e.Target.ToString(Invariant)})";
                }
            }

            headers.Add(Escape(name));
        }

        return headers;
    }

    /// <summary>
    /// The union of the rows of every column, each column's order kept (an insertion merge): a row new to the table goes
    /// right after the row of the column's previous unit (first when there is none). A linked list keeps each insertion
    /// constant-time (re-indexing a list after each insertion made a long text's table quadratic: 16,000 words took seconds).
    /// </summary>
    private static List<(string Key, string Label)> MergeRows(List<IReadOnlyList<(string Key, DisplayUnit Unit)>> columns)
    {
        var rows = new LinkedList<(string Key, string Label)>();
        var nodes = new Dictionary<string, LinkedListNode<(string Key, string Label)>>(StringComparer.Ordinal);
        foreach (var column in columns)
        {
            LinkedListNode<(string Key, string Label)>? last = null;
            foreach (var (key, unit) in column)
            {
                if (nodes.TryGetValue(key, out var at))
                {
                    last = at;
                    continue;
                }

                last = last is null ? rows.AddFirst((key, unit.Label)) : rows.AddAfter(last, (key, unit.Label));
                nodes[key] = last;
            }
        }

        return [.. rows];
    }

    private static string Score(double value, bool signed, int digits)
    {
        if (value == 0)
        {
            return "0";
        }

        var text = value.ToString("G" + digits.ToString(Invariant), Invariant);
        return signed && value > 0 ? "+" + text : text;
    }

}
