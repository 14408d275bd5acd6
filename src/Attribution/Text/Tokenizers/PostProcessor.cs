namespace Attribution.Text.Tokenizers;

/// <summary>
/// One element of a Hugging Face <c>TemplateProcessing</c> template: either fixed special tokens or the tokens of
/// input A or B, with the type id they receive.
/// </summary>
/// <param name="Sequence">0 for input A, 1 for input B, -1 for special tokens.</param>
/// <param name="Ids">The special tokens' ids (empty for a sequence).</param>
/// <param name="Tokens">The special tokens' strings.</param>
/// <param name="TypeId">Type id of every token this element produces.</param>
internal sealed record TemplateItem(int Sequence, int[] Ids, string[] Tokens, int TypeId)
{
    public static TemplateItem Special(int id, string token, int typeId) => new(-1, [id], [token], typeId);

    public static TemplateItem Input(int sequence, int typeId) => new(sequence, [], [], typeId);
}

/// <summary>Where special tokens go around one input and around a pair (the post-processor).</summary>
/// <param name="Single">Template for one input.</param>
/// <param name="Pair">Template for a pair.</param>
internal sealed record PostProcessor(IReadOnlyList<TemplateItem> Single, IReadOnlyList<TemplateItem> Pair)
{
    /// <summary>BERT: <c>[CLS] A [SEP]</c> and <c>[CLS] A [SEP] B [SEP]</c>, B and its separator with type id 1.</summary>
    public static PostProcessor Bert(int clsId, string cls, int sepId, string sep) => new(
        [TemplateItem.Special(clsId, cls, 0), TemplateItem.Input(0, 0), TemplateItem.Special(sepId, sep, 0)],
        [
            TemplateItem.Special(clsId, cls, 0), TemplateItem.Input(0, 0), TemplateItem.Special(sepId, sep, 0),
            TemplateItem.Input(1, 1), TemplateItem.Special(sepId, sep, 1),
        ]);

    /// <summary>
    /// RoBERTa: <c>&lt;s&gt; A &lt;/s&gt;</c> and <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>, all type id 0
    /// because RoBERTa has a single token type (a 1 would index past its type embedding).
    /// </summary>
    public static PostProcessor Roberta(int clsId, string cls, int sepId, string sep) => new(
        [TemplateItem.Special(clsId, cls, 0), TemplateItem.Input(0, 0), TemplateItem.Special(sepId, sep, 0)],
        [
            TemplateItem.Special(clsId, cls, 0), TemplateItem.Input(0, 0), TemplateItem.Special(sepId, sep, 0),
            TemplateItem.Special(sepId, sep, 0), TemplateItem.Input(1, 0), TemplateItem.Special(sepId, sep, 0),
        ]);

    public int SpecialCount(bool pair) => (pair ? Pair : Single).Sum(i => i.Ids.Length);
}
