namespace Attribution.Methods.Perturbation;

/// <summary>
/// The model's output rows for one text's perturbed inputs, by key (a coalition, or a perturbed text), kept across the
/// runs that explain the text for several classes: each input goes to the model once, whatever the classes.
/// </summary>
internal sealed class ModelRows
{
    // As CoalitionScorer's own cache: beyond it, inputs are scored again rather than held.
    private const int Limit = 1 << 16;

    private readonly Dictionary<string, double[]> rows = new(StringComparer.Ordinal);

    /// <summary>The model's output for the text itself (the prediction), once a run has computed it.</summary>
    public double[]? Unperturbed { get; set; }

    /// <summary>Perturbed inputs sent to the model for this text, all classes together.</summary>
    public int Evaluations { get; private set; }

    /// <summary>Model calls made for this text, all classes together.</summary>
    public int ModelCalls { get; private set; }

    public bool TryGet(string key, out double[] row) => rows.TryGetValue(key, out row!);

    /// <summary>Counts one model call of <paramref name="inputs"/> perturbed inputs.</summary>
    public void Called(int inputs)
    {
        ModelCalls++;
        Evaluations += inputs;
    }

    /// <summary>
    /// One text explained for each of <paramref name="classes"/> by <paramref name="explain"/> (a run for one class),
    /// every run sharing one set of rows, and every explanation noting the text's cost for all classes together (the
    /// class that made the calls may not be the one shown).
    /// </summary>
    public static Explanation[] ForClasses(IReadOnlyList<int> classes, Func<int, ModelRows, Explanation> explain)
    {
        var rows = new ModelRows();
        var explanations = classes.Select(c => explain(c, rows)).ToArray();
        var note = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"explained for {classes.Count} classes at once: the text's perturbed inputs went to the model once for all of them ({rows.Evaluations} input(s) in {rows.ModelCalls} model call(s))");
        return explanations.Select(e => e with { Notes = [.. e.Notes, note] }).ToArray();
    }

    public void Add(string key, double[] row)
    {
        if (rows.Count < Limit)
        {
            rows[key] = row;
        }
    }
}
