using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Lrp;

/// <summary>
/// How relevance crosses one module. A rule never writes a backward pass: it attaches forward hooks that return an
/// output with the module's value but a rewritten gradient (see <see cref="LrpRules.Rewire"/>), so the ordinary
/// forward/backward from the target logit carries relevance = tensor ⊙ gradient.
/// </summary>
public interface ILrpRule
{
    /// <summary>Short name for messages, e.g. <c>epsilon</c>.</summary>
    string Name { get; }

    /// <summary>
    /// When true the rule handles the module and everything inside it: its submodules are neither checked nor given
    /// rules of their own. Built-in rules return false (containers leave their children to their own rules).
    /// </summary>
    bool CoversSubmodules => false;

    /// <summary>
    /// Attaches the rule to <paramref name="module"/> for one forward pass. Returns a handle that removes
    /// every hook it added, or null when the module needs no hook under these settings. The handle is disposed when
    /// that pass ends, before the backward pass that reads the graph it built (and before other methods run the model). Add hooks with
    /// <see cref="Engine.ModuleHooks"/> (never TorchSharp's <c>register_forward_hook</c>) and keep per-call state in
    /// them, not on the module or the rule: other threads may be running the same model, and only those hooks act for
    /// the calling flow alone.
    /// </summary>
    IDisposable? Attach(nn.Module module, LrpSettings settings);
}

/// <summary>
/// Implemented by a custom module that declares its own LRP rule (it then needs no entry in an
/// <see cref="LrpRuleSet"/>). Return <see cref="LrpRules.Composite"/> for a container whose own code only adds,
/// reshapes, scales or masks what its submodules compute.
/// </summary>
public interface ILrpRuleProvider
{
    /// <summary>The rule for this module.</summary>
    ILrpRule LrpRule { get; }
}

/// <summary>How relevance crosses self-attention.</summary>
public enum AttentionRule
{
    /// <summary>
    /// AttnLRP (Achtibat et al. 2024): the gradient through each bilinear product (Q·Kᵀ and A·V) is halved, the
    /// softmax is left as it is. Relevance reaches tokens through queries and keys too; the softmax leaks a little
    /// (reported in the conservation gap).
    /// </summary>
    AttnLrp,

    /// <summary>
    /// CP-LRP (Ali et al. 2022): the attention probabilities are held constant (detached), so relevance flows only
    /// through the values. With ε = 0 the propagation is exactly conservative up to the relevance biases absorb.
    /// </summary>
    CpLrp,
}

/// <summary>The settings every rule sees for one attribution call.</summary>
public sealed record LrpSettings
{
    private readonly double epsilon = 1e-6;
    private readonly AttentionRule attention = AttentionRule.AttnLrp;
    private readonly LrpRuleSet rules = LrpRuleSet.Default;

    /// <summary>
    /// ε of the ε-rule on linear layers (Linear, Conv1d): the output gradient is multiplied by z / (z + ε·sign(z)),
    /// sign(0) = +1 (Captum's stabilizer). Default 1e-6; 0 gives LRP-0 (the layers are left alone). Must be finite
    /// and non-negative.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">ε is negative, NaN or infinite.</exception>
    public double Epsilon
    {
        get => epsilon;
        init => epsilon = CheckEpsilon(value);
    }

    /// <summary>How relevance crosses attention (default <see cref="AttentionRule.AttnLrp"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined <see cref="AttentionRule"/>.</exception>
    public AttentionRule Attention
    {
        get => attention;

        // An undefined value was taken for neither rule (no hook on the products, none on the probabilities): a third
        // propagation that no documentation describes.
        init
        {
            Internal.EnumSettings.Check(value, nameof(Attention));
            attention = value;
        }
    }

    /// <summary>The rule of each module type (default <see cref="LrpRuleSet.Default"/>).</summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public LrpRuleSet Rules
    {
        get => rules;
        init => rules = CheckRules(value);
    }

    /// <summary>Checks a rule set: not null (the refusal names <c>Rules</c>, the setting, not the setter's <c>value</c>).</summary>
    internal static LrpRuleSet CheckRules(LrpRuleSet? value) =>
        value ?? throw new ArgumentNullException(nameof(Rules), "Rules is null: leave it unset for LrpRuleSet.Default, or give LrpRuleSet.Default.With<T>(rule) to add rules");

    /// <summary>Checks an ε value: finite and non-negative.</summary>
    /// <exception cref="ArgumentOutOfRangeException">ε is negative, NaN or infinite.</exception>
    public static double CheckEpsilon(double value) =>
        double.IsFinite(value) && value >= 0
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Epsilon), value, "LRP ε must be finite and non-negative (0 gives LRP-0)");
}

/// <summary>
/// A model holds a module that no LRP rule covers (an LSTM, a custom layer with parameters or a non-linearity
/// without a declared rule): LRP would give a wrong answer, so it refuses.
/// </summary>
public sealed class LrpNotSupportedException : NotSupportedException
{
    internal LrpNotSupportedException(IReadOnlyList<(string Path, Type Type)> modules, LrpRuleSet rules)
        : base(Describe(modules, rules))
    {
        ModulePath = modules[0].Path;
        ModuleType = modules[0].Type;
        Modules = modules.Select(m => m.Path).ToArray();
    }

    /// <summary>Dotted path of the first unsupported module (empty for the model itself).</summary>
    public string ModulePath { get; }

    /// <summary>Type of the first unsupported module.</summary>
    public Type ModuleType { get; }

    /// <summary>Paths of every unsupported module.</summary>
    public IReadOnlyList<string> Modules { get; }

    private static string Describe(IReadOnlyList<(string Path, Type Type)> modules, LrpRuleSet rules)
    {
        var listed = string.Join(", ", modules.Take(5).Select(m => $"'{(m.Path.Length == 0 ? "(the model)" : m.Path)}' ({TypeName(m.Type)})"));
        var more = modules.Count > 5 ? $" and {modules.Count - 5} more" : string.Empty;
        if (modules.Any(m => typeof(TorchSharp.torch.jit.ScriptModule).IsAssignableFrom(m.Type)))
        {
            return $"LRP is not supported for this model: no relevance rule for {listed}{more}. A TorchScript model runs inside libtorch's " +
                   "TorchScript interpreter, where LRP's rules (hooks on each .NET module) cannot reach its layers, and no single rule for the " +
                   "whole script would be right. Explain it with Gradient, GradientXInput, IntegratedGradients or LIME, or rebuild it in " +
                   "TorchSharp (TextClassifier.FromTorchSharp) to use LRP.";
        }

        return $"LRP is not supported for this model: no relevance rule for {listed}{more}. " +
               "A module with parameters or non-linear behaviour needs a rule, or LRP would give a wrong answer " +
               $"(rules exist for {string.Join(", ", rules.PublicModuleTypeNames)}). " +
               "Give the module type a rule with LrpRuleSet.Default.With<T>(rule), or implement ILrpRuleProvider on a custom module.";
    }

    internal static string TypeName(Type type)
    {
        if (!type.IsGenericType)
        {
            return type.Name;
        }

        var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>";
    }
}
