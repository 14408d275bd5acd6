using System.Collections.Immutable;
using Attribution.Models;

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Methods.Lrp;

/// <summary>
/// Which LRP rule each module type gets. Immutable: <see cref="With{TModule}"/> returns a new set. Lookup order for a
/// module: the rule it declares itself (<see cref="ILrpRuleProvider"/>), then its exact type, then its generic type
/// definition, then its base classes. A module type with no rule makes LRP refuse the model
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
    /// ReLU, MaxPool1d, Flatten, Identity and Embedding pass their own gradients; Dropout off; Sequential and
    /// ModuleList are containers; BERT, DistilBERT and RoBERTa blocks are containers whose attention products and
    /// softmax get the <see cref="AttentionRule"/> rules. No rule (so LRP refuses): LSTM, Sigmoid, Softplus (f(x)/x
    /// is unbounded at 0) and any type not listed.
    /// </summary>
    public static LrpRuleSet Default { get; } = Empty
        .With<Linear>(LrpRules.Epsilon)
        .With<Conv1d>(LrpRules.Epsilon)
        .With<Attribution.Models.WindowConv1d>(LrpRules.Epsilon)
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
        .WithTransformers();

    /// <summary>The module types with a rule.</summary>
    public IReadOnlyCollection<Type> ModuleTypes => rules.Keys.ToArray();

    /// <summary>Names of the public module types with a rule, sorted (for messages).</summary>
    internal IEnumerable<string> PublicModuleTypeNames =>
        rules.Keys.Where(t => t.IsVisible).Select(LrpNotSupportedException.TypeName).Order(StringComparer.Ordinal);

    /// <summary>This set with <paramref name="rule"/> for modules of type <typeparamref name="TModule"/> (replacing any previous one).</summary>
    public LrpRuleSet With<TModule>(ILrpRule rule)
        where TModule : nn.Module => With(typeof(TModule), rule);

    /// <summary>
    /// This set with <paramref name="rule"/> for modules of <paramref name="moduleType"/>: a module type, a generic type
    /// definition (e.g. <c>typeof(ModuleList&lt;&gt;)</c>) or a base class that derived types share.
    /// </summary>
    public LrpRuleSet With(Type moduleType, ILrpRule rule)
    {
        ArgumentNullException.ThrowIfNull(moduleType);
        ArgumentNullException.ThrowIfNull(rule);
        if (!typeof(nn.Module).IsAssignableFrom(moduleType) &&
            !(moduleType.IsGenericTypeDefinition && IsModuleDefinition(moduleType)))
        {
            throw new ArgumentException($"{moduleType.Name} is not a module type", nameof(moduleType));
        }

        return new LrpRuleSet(rules.SetItem(moduleType, rule));
    }

    /// <summary>This set without a rule for <typeparamref name="TModule"/> (LRP then refuses models that contain it).</summary>
    public LrpRuleSet Without<TModule>()
        where TModule : nn.Module => new(rules.Remove(typeof(TModule)));

    /// <summary>The rule for a module, or null when it has none.</summary>
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
    /// The BERT-family blocks: every one of them only composes submodules with adds, reshapes, head splits, selects,
    /// 1/√d scaling and attention masks, so they are containers; the two attention products and the softmax are
    /// the hook points of <see cref="AttentionRule"/>.
    /// </summary>
    private LrpRuleSet WithTransformers() => this
        .With<MatMul>(LrpRules.BilinearProduct)
        .With<AttentionSoftmax>(LrpRules.AttentionProbabilities)
        .With<BertForSequenceClassification>(LrpRules.Composite)
        .With<BertModel>(LrpRules.Composite)
        .With<BertEmbeddings>(LrpRules.Composite)
        .With<BertEncoder>(LrpRules.Composite)
        .With<BertLayer>(LrpRules.Composite)
        .With<BertAttention>(LrpRules.Composite)
        .With<BertSelfAttention>(LrpRules.Composite)
        .With<BertResidualOutput>(LrpRules.Composite)
        .With<BertIntermediate>(LrpRules.Composite)
        .With<BertPooler>(LrpRules.Composite)
        .With<DistilBertForSequenceClassification>(LrpRules.Composite)
        .With<DistilBertModel>(LrpRules.Composite)
        .With<DistilBertEmbeddings>(LrpRules.Composite)
        .With<DistilBertTransformer>(LrpRules.Composite)
        .With<DistilBertBlock>(LrpRules.Composite)
        .With<DistilBertSelfAttention>(LrpRules.Composite)
        .With<DistilBertFeedForward>(LrpRules.Composite)
        .With<RobertaForSequenceClassification>(LrpRules.Composite)
        .With<RobertaClassificationHead>(LrpRules.Composite);
}
