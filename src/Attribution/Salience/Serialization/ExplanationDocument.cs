using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>
/// One JSON document of explanations (see <c>docs/json-format.md</c>): the model, the method and its settings, and
/// the results. A comparison document (<see cref="Method"/> = <see cref="CompareMethod"/>) holds results of several
/// methods, each carrying its own method name and settings.
/// </summary>
public sealed record ExplanationDocument
{
    /// <summary>
    /// The newest format version this library reads and writes. Version 2 adds the optional per-result
    /// <c>relevance_shares</c> and <c>surrogate</c>, version 3 <c>head</c> and the sentence-pair fields, version 4
    /// <c>kind</c>, version 5 the attention rollout kinds; the library reads versions 1 to 5 and writes each document
    /// in the lowest version that carries it (<see cref="RequiredVersion"/>).
    /// </summary>
    public const int CurrentVersion = 5;

    /// <summary>The oldest format version this library reads and writes.</summary>
    public const int FirstVersion = 1;

    /// <summary>The first format version that carries <see cref="Explanation.RelevanceShares"/> and <see cref="Explanation.Surrogate"/>.</summary>
    public const int SharesAndSurrogateVersion = 2;

    /// <summary>
    /// The first format version that carries <see cref="Explanation.Head"/> (multi-label and regression models) and text
    /// pairs (<see cref="Explanation.TextPair"/>, token type ids, segments, a word's segment).
    /// </summary>
    public const int HeadVersion = 3;

    /// <summary>
    /// The first format version that carries <see cref="Explanation.Kind"/> (which of the library's methods made a
    /// result; absent for a method written outside the library, and in older documents, which read as
    /// <see cref="MethodKind.Custom"/>).
    /// </summary>
    public const int KindVersion = 4;

    /// <summary>
    /// The first format version whose <c>kind</c> may be <see cref="MethodKind.AttentionRollout"/> or
    /// <see cref="MethodKind.GradientWeightedAttentionRollout"/> (a version 4 reader knows no such kind; older documents
    /// of these methods carry no kind and read as <see cref="MethodKind.Custom"/>).
    /// </summary>
    public const int RolloutKindVersion = 5;

    /// <summary>The document-level method name of a comparison document.</summary>
    public const string CompareMethod = "compare";

    /// <summary>
    /// Format version: for a document that was read, the version it was written in. Writing accepts any version from
    /// <see cref="FirstVersion"/> to <see cref="CurrentVersion"/> here but always writes <see cref="RequiredVersion"/>,
    /// so documents that older readers can read stay readable by them.
    /// </summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>
    /// The lowest format version that carries these results: <see cref="RolloutKindVersion"/> when a result was made by
    /// attention rollout (either kind), else <see cref="KindVersion"/> when a result was made by one of
    /// the library's methods (its <see cref="Explanation.Kind"/> is not <see cref="MethodKind.Custom"/>), else
    /// <see cref="HeadVersion"/> when a result is from a
    /// multi-label or regression head, else <see cref="SharesAndSurrogateVersion"/> when a result has
    /// <see cref="Explanation.RelevanceShares"/> or a <see cref="Explanation.Surrogate"/>, otherwise
    /// <see cref="FirstVersion"/>. The writer writes this version.
    /// </summary>
    public int RequiredVersion =>
        Results.Any(r => r is not null && NeedsRolloutKindVersion(r.Kind)) ? RolloutKindVersion
        : Results.Any(r => r is not null && r.Kind != MethodKind.Custom) ? KindVersion
        : Results.Any(r => r is not null && (r.Head != Models.OutputHead.SingleLabel || r.TextPair is not null || !r.TokenTypeIds.IsDefaultOrEmpty || !r.Segments.IsDefaultOrEmpty)) ? HeadVersion
        : Results.Any(r => r is not null && (r.RelevanceShares is not null || r.Surrogate is not null)) ? SharesAndSurrogateVersion
        : FirstVersion;

    /// <summary>Whether <paramref name="kind"/> is one that only documents of <see cref="RolloutKindVersion"/> or later carry.</summary>
    internal static bool NeedsRolloutKindVersion(MethodKind kind) =>
        kind is MethodKind.AttentionRollout or MethodKind.GradientWeightedAttentionRollout;

    /// <summary>The model's name; every result is from this model.</summary>
    public required string Model { get; init; }

    /// <summary>
    /// The method of every result, or <see cref="CompareMethod"/> when the results come from several methods.
    /// </summary>
    public required string Method { get; init; }

    /// <summary>
    /// The method's settings (in a comparison document: settings of the run shared by every method, often none).
    /// Keys are unique.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = [];

    /// <summary>The model's class names in output order, when known (lets readers name the predicted class).</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>The explanations.</summary>
    public required IReadOnlyList<Explanation> Results { get; init; }

    /// <summary>True for a comparison document (several methods).</summary>
    public bool IsComparison => Method == CompareMethod;

    /// <summary>
    /// A document for these results: a single-method document when they share one method and its settings, a
    /// comparison document otherwise. All results must be from one model (the model of the first is taken; writing the
    /// document refuses a result from another).
    /// </summary>
    /// <param name="results">At least one explanation.</param>
    /// <param name="labels">The model's class names, when known.</param>
    /// <exception cref="ArgumentException"><paramref name="results"/> is empty, or one of them is null.</exception>
    public static ExplanationDocument For(IReadOnlyList<Explanation> results, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0)
        {
            throw new ArgumentException("no results: name the model and method with the constructor instead", nameof(results));
        }

        for (var i = 0; i < results.Count; i++)
        {
            if (results[i] is null)
            {
                // It failed with a NullReferenceException reading the method name.
                throw new ArgumentNullException(nameof(results), $"results[{i}] is null: give explanations only");
            }
        }

        var first = results[0];
        var single = results.All(r => r.Method == first.Method && r.Settings.SequenceEqual(first.Settings));
        return new ExplanationDocument
        {
            Model = first.Model,
            Method = single ? first.Method : CompareMethod,
            Settings = single ? first.Settings : [],
            Labels = labels,
            Results = results,
        };
    }

    /// <summary>
    /// A comparison document from <c>Explainer.ExplainAll</c>'s output (result [m][t] is method m on text t),
    /// ordered text by text, and within a text method by method.
    /// </summary>
    /// <param name="model">The model's name.</param>
    /// <param name="resultsByMethod">One list per method, each with one explanation per text, texts in the same order.</param>
    /// <param name="labels">The model's class names, when known.</param>
    /// <param name="settings">Settings of the run shared by every method.</param>
    /// <exception cref="ArgumentException">The methods explain different numbers of texts, their explanations at one
    /// index are of different texts, or an explanation is null or malformed (as <see cref="ExplanationGroup.FromMethods"/>
    /// refuses them).</exception>
    public static ExplanationDocument Comparison(
        string model,
        IReadOnlyList<IReadOnlyList<Explanation>> resultsByMethod,
        IReadOnlyList<string>? labels = null,
        IReadOnlyList<KeyValuePair<string, string>>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var groups = ExplanationGroup.FromMethods(resultsByMethod);
        return new ExplanationDocument
        {
            Model = model,
            Method = CompareMethod,
            Settings = settings ?? [],
            Labels = labels,
            Results = groups.SelectMany(g => g.Explanations).ToList(),
        };
    }
}
