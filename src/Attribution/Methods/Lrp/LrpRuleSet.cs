using System.Collections.Immutable;
using Attribution.Models;

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Methods.Lrp;

/// <summary>
/// Which LRP rule each module type gets. Immutable: <see cref="With{TModule}"/> returns a new set. Lookup order for a
/// module: the rule it declares itself (<see cref="ILrpRuleProvider"/>), then its exact type, then its generic type
/// definition, then its base classes (each with its generic type definition), then the interfaces it implements (see
/// <see cref="Find"/>). A module type with no rule makes LRP refuse the model
/// (<see cref="LrpNotSupportedException"/>) rather than give a wrong answer.
/// </summary>
public sealed class LrpRuleSet
{
    private readonly ImmutableDictionary<Type, ILrpRule> rules;

    private LrpRuleSet(ImmutableDictionary<Type, ILrpRule> rules) => this.rules = rules;

    /// <summary>A set with no rules.</summary>
    public static LrpRuleSet Empty { get; } = new(ImmutableDictionary<Type, ILrpRule>.Empty);

    /// <summary>
    /// The built-in rules: ε-rule on Linear and Conv1d; LayerNorm with constant σ; identity rules on GELU and Tanh;
    /// ReLU, MaxPool1d, Flatten, Identity and Embedding pass their own gradients; Dropout off; Sequential,
    /// ModuleList, ModuleDict and every <see cref="ICompositeModule"/> are containers; ParameterList and ParameterDict never
    /// run (their parameters are used by the code of the module that holds them, whose rule answers for that use); <see cref="MatMul"/> and
    /// <see cref="AttentionSoftmax"/> (the attention products and probabilities) get the <see cref="AttentionRule"/> rules. No rule (so LRP refuses): LSTM, Sigmoid, Softplus (f(x)/x
    /// is unbounded at 0) and any type not listed.
    /// </summary>
    public static LrpRuleSet Default { get; } = Empty
        .With<Linear>(LrpRules.Epsilon)
        .With<Conv1d>(LrpRules.Epsilon)
        .With<WindowConv1d>(LrpRules.Epsilon)
        .With<LayerNorm>(LrpRules.LayerNorm)
        .With<GELU>(LrpRules.Gelu)
        .With<Tanh>(LrpRules.Tanh)
        .With<ReLU>(LrpRules.PassThrough)
        .With<MaxPool1d>(LrpRules.PassThrough)
        .With<Flatten>(LrpRules.PassThrough)
        .With<Identity>(LrpRules.PassThrough)
        .With<Embedding>(LrpRules.PassThrough)
        .With<Dropout>(LrpRules.Dropout)
        .With<Sequential>(LrpRules.Composite)
        .With(typeof(ModuleList<>), LrpRules.Composite)
        .With(typeof(ModuleDict<>), LrpRules.Composite)
        .With<ParameterList>(LrpRules.Composite)
        .With<ParameterDict>(LrpRules.Composite)
        .WithTransformers();

    /// <summary>The module types with a rule.</summary>
    public IReadOnlyCollection<Type> ModuleTypes => rules.Keys.ToArray();

    /// <summary>Names of the public module types with a rule, sorted (for messages).</summary>
    internal IEnumerable<string> PublicModuleTypeNames =>
        rules.Keys.Where(t => t.IsVisible).Select(LrpNotSupportedException.TypeName).Order(StringComparer.Ordinal);

    /// <summary>This set with <paramref name="rule"/> for modules of type <typeparamref name="TModule"/> (replacing any previous one).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="rule"/> is null.</exception>
    public LrpRuleSet With<TModule>(ILrpRule rule)
        where TModule : nn.Module => With(typeof(TModule), rule);

    /// <summary>
    /// This set with <paramref name="rule"/> for modules of <paramref name="moduleType"/>: a module type, a generic type
    /// definition (e.g. <c>typeof(ModuleList&lt;&gt;)</c>), a base class that derived types share, or an interface that
    /// module types implement (e.g. <see cref="ICompositeModule"/>, or one of your own for your attention blocks); replaces
    /// any previous rule for it.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="moduleType"/> or <paramref name="rule"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="moduleType"/> is none of these (<paramref name="moduleType"/>).</exception>
    public LrpRuleSet With(Type moduleType, ILrpRule rule)
    {
        ArgumentNullException.ThrowIfNull(moduleType);
        ArgumentNullException.ThrowIfNull(rule);
        if (!typeof(nn.Module).IsAssignableFrom(moduleType) &&
            !(moduleType.IsGenericTypeDefinition && IsModuleDefinition(moduleType)) &&
            !moduleType.IsInterface)
        {
            throw new ArgumentException($"{moduleType.Name} is not a module type (nor an interface that module types implement)", nameof(moduleType));
        }

        return new LrpRuleSet(rules.SetItem(moduleType, rule));
    }

    /// <summary>This set without a rule for <typeparamref name="TModule"/> (LRP then refuses models that contain it).</summary>
    public LrpRuleSet Without<TModule>()
        where TModule : nn.Module => new(rules.Remove(typeof(TModule)));

    /// <summary>
    /// The rule for a module, or null when it has none: the rule it declares itself (<see cref="ILrpRuleProvider"/>),
    /// then the rule of its type, its generic type definition or its nearest base class, then the rule of an interface
    /// it implements (e.g. <see cref="ICompositeModule"/>; the first in name order when several have rules).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="module"/> is null.</exception>
    public ILrpRule? Find(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (module is ILrpRuleProvider provider)
        {
            return provider.LrpRule;
        }

        for (var type = module.GetType(); type is not null && type != typeof(nn.Module); type = type.BaseType)
        {
            if (rules.TryGetValue(type, out var rule) ||
                (type.IsGenericType && rules.TryGetValue(type.GetGenericTypeDefinition(), out rule)))
            {
                return rule;
            }
        }

        foreach (var contract in module.GetType().GetInterfaces().OrderBy(i => i.FullName, StringComparer.Ordinal))
        {
            if (rules.TryGetValue(contract, out var rule))
            {
                return rule;
            }
        }

        return null;
    }

    private static bool IsModuleDefinition(Type definition)
    {
        for (var type = definition; type is not null; type = type.BaseType)
        {
            if (type == typeof(nn.Module))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Attention's hook points (<see cref="MatMul"/> for Q·Kᵀ and A·V, <see cref="AttentionSoftmax"/> for the
    /// probabilities) get the <see cref="AttentionRule"/> rules, in the library's transformers and in any user model
    /// built with them; every <see cref="ICompositeModule"/> (the transformer blocks, the small classifiers, a user's
    /// own containers) is a container.
    /// </summary>
    private LrpRuleSet WithTransformers() => this
        .With<MatMul>(LrpRules.BilinearProduct)
        .With<AttentionSoftmax>(LrpRules.AttentionProbabilities)
        .With(typeof(ICompositeModule), LrpRules.Composite);
}
