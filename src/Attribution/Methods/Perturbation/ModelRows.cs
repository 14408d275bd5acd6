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

    public bool TryGet(string key, out double[] row) => rows.TryGetValue(key, out row!);

    public void Add(string key, double[] row)
    {
        if (rows.Count < Limit)
        {
            rows[key] = row;
        }
    }
}
