namespace Attribution.Methods;

/// <summary>Which side of a module an attribution is taken at (Captum's <c>attribute_to_layer_input</c>).</summary>
public enum LayerSide
{
    /// <summary>The module's output (default).</summary>
    Output,

    /// <summary>The module's input.</summary>
    Input,
}

/// <summary>How per-dimension attributions of a token become one score.</summary>
public enum HiddenReduction
{
    /// <summary>Signed sum over the hidden dimension (Captum's convention for Integrated Gradients and Gradient × Input).</summary>
    Sum,

    /// <summary>Euclidean norm (LIT's "Grad L2 Norm"); unsigned.</summary>
    L2,

    /// <summary>Sum of absolute values; unsigned.</summary>
    L1,
}

/// <summary>Names of <see cref="HiddenReduction"/> values.</summary>
public static class HiddenReductionNames
{
    /// <summary>sum, l2 or l1.</summary>
    public static string Name(this HiddenReduction reduction) => reduction switch
    {
        HiddenReduction.Sum => "sum",
        HiddenReduction.L2 => "l2",
        HiddenReduction.L1 => "l1",
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, null),
    };

    /// <summary>Parses sum, l2 or l1.</summary>
    public static HiddenReduction Parse(string name) => name switch
    {
        "sum" => HiddenReduction.Sum,
        "l2" => HiddenReduction.L2,
        "l1" => HiddenReduction.L1,
        _ => throw new ArgumentException($"unknown reduction '{name}': use sum, l2 or l1", nameof(name)),
    };

    /// <summary>True when the reduction keeps signs.</summary>
    public static bool IsSigned(this HiddenReduction reduction) => reduction == HiddenReduction.Sum;
}
