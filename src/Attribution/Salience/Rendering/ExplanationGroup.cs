using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>What the renderers colour: each token, or each whitespace-delimited word.</summary>
public enum Granularity
{
    /// <summary>Word scores (<see cref="Explanation.Words"/>); falls back to tokens for a result without words.</summary>
    Words,

    /// <summary>Token scores (<see cref="Explanation.Scores"/>).</summary>
    Tokens,
}

/// <summary>One text explained by one or more methods: a block of a report, one row per method.</summary>
public sealed class ExplanationGroup
{
    /// <summary>A group of explanations of <paramref name="text"/>.</summary>
    /// <param name="text">The explained text.</param>
    /// <param name="explanations">At least one explanation, each of <paramref name="text"/>.</param>
    /// <exception cref="ArgumentException">No explanation, one of another text, or one whose per-token arrays, offsets
    /// or words do not fit its tokens and text.</exception>
    public ExplanationGroup(string text, IReadOnlyList<Explanation> explanations)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(explanations);
        if (explanations.Count == 0)
        {
            throw new ArgumentException("a group holds at least one explanation", nameof(explanations));
        }

        for (var i = 0; i < explanations.Count; i++)
        {
            if (explanations[i] is null)
            {
                throw new ArgumentNullException(nameof(explanations), $"explanations[{i}] is null");
            }

            // Every renderer indexes tokens, offsets and words through the group: a malformed explanation is refused
            // here, naming the field, rather than failing with an index error or drawing spans outside its text.
            ExplanationShape.Check(explanations[i], nameof(explanations), $"explanations[{i}]");
            ExplanationShape.CheckOutputs(explanations[i], nameof(explanations), $"explanations[{i}]");

            // The same display text is not the same input: "a ‖ b" as one text and the pair ("a", "b") show alike.
            if (explanations[i].DisplayText != text || explanations[i].TextPair != explanations[0].TextPair)
            {
                throw new ArgumentException($"explanations[{i}] ({explanations[i].Method}) explains another text", nameof(explanations));
            }
        }

        Text = text;
        Explanations = explanations.ToArray();
    }

    /// <summary>The explained text.</summary>
    public string Text { get; }

    /// <summary>The explanations, one per method, in display order.</summary>
    public IReadOnlyList<Explanation> Explanations { get; }

    /// <summary>
    /// Groups explanations by text and, for sentence pairs, its pair (ordinal comparison), texts in order of first
    /// appearance, explanations in their order. Explanations of the same text twice (a repeated input) land in one group.
    /// </summary>
    /// <exception cref="ArgumentException">An explanation is null, or one whose per-token arrays, offsets or words do not
    /// fit its tokens and text (as the constructor refuses it).</exception>
    public static IReadOnlyList<ExplanationGroup> ByText(IReadOnlyList<Explanation> explanations)
    {
        ArgumentNullException.ThrowIfNull(explanations);
        // Keyed by the input (text and pair), not by what is displayed: a single text "a ‖ b" and the pair ("a", "b")
        // display alike but are different inputs.
        var order = new List<(string Text, string? Pair)>();
        var members = new Dictionary<(string Text, string? Pair), List<Explanation>>();
        foreach (var e in explanations)
        {
            ArgumentNullException.ThrowIfNull(e, nameof(explanations));
            var key = (e.Text, e.TextPair);
            if (!members.TryGetValue(key, out var list))
            {
                members[key] = list = [];
                order.Add(key);
            }

            list.Add(e);
        }

        return order.Select(key => new ExplanationGroup(members[key][0].DisplayText, members[key])).ToList();
    }

    /// <summary>
    /// One group per text from <c>Explainer.ExplainAll</c>'s output, where result [m][t] is method m on text t;
    /// each group lists the methods in order. No method gives no group.
    /// </summary>
    /// <param name="resultsByMethod">One list per method, each with one explanation per text, texts in the same order.</param>
    /// <exception cref="ArgumentNullException">A method's list or an explanation is null (<paramref name="resultsByMethod"/>,
    /// the message says which: <c>resultsByMethod[m]</c> or <c>resultsByMethod[m][t]</c>).</exception>
    /// <exception cref="ArgumentException">The methods explain different numbers of texts, their explanations at one index
    /// are of different texts, or an explanation is malformed (as the constructor refuses it), each naming
    /// <paramref name="resultsByMethod"/>.</exception>
    public static IReadOnlyList<ExplanationGroup> FromMethods(IReadOnlyList<IReadOnlyList<Explanation>> resultsByMethod)
    {
        ArgumentNullException.ThrowIfNull(resultsByMethod);
        if (resultsByMethod.Count == 0)
        {
            return [];
        }

        for (var m = 0; m < resultsByMethod.Count; m++)
        {
            if (resultsByMethod[m] is null)
            {
                throw new ArgumentNullException(nameof(resultsByMethod), $"resultsByMethod[{m}] is null: give each method's list of explanations, one per text");
            }
        }

        var texts = resultsByMethod[0].Count;
        for (var m = 1; m < resultsByMethod.Count; m++)
        {
            if (resultsByMethod[m].Count != texts)
            {
                throw new ArgumentException($"method {m} has {resultsByMethod[m].Count} results but method 0 has {texts}", nameof(resultsByMethod));
            }
        }

        // Checked here, naming this method's argument and the [m][t] index: the constructor would name its own
        // parameter (explanations) and index within the group.
        for (var t = 0; t < texts; t++)
        {
            for (var m = 0; m < resultsByMethod.Count; m++)
            {
                var e = resultsByMethod[m][t]
                    ?? throw new ArgumentNullException(nameof(resultsByMethod), $"resultsByMethod[{m}][{t}] is null: give every method's explanation of every text");
                ExplanationShape.Check(e, nameof(resultsByMethod), $"resultsByMethod[{m}][{t}]");
                ExplanationShape.CheckOutputs(e, nameof(resultsByMethod), $"resultsByMethod[{m}][{t}]");
                var first = resultsByMethod[0][t];
                if (e.DisplayText != first.DisplayText || e.TextPair != first.TextPair)
                {
                    throw new ArgumentException(
                        $"resultsByMethod[{m}][{t}] ({e.Method}) explains another text than resultsByMethod[0][{t}] ({first.Method}): "
                        + "give every method's explanations of the same texts in the same order", nameof(resultsByMethod));
                }
            }
        }

        return Enumerable.Range(0, texts)
            .Select(t => new ExplanationGroup(resultsByMethod[0][t].DisplayText, resultsByMethod.Select(results => results[t]).ToList()))
            .ToList();
    }
}
