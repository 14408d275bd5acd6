using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// Counts a classifier's forward passes and the rows they carried, with a hook on its root module, until disposed:
/// how tests check that work was shared or refused early.
/// </summary>
/// <remarks>
/// The hook is a hook of the caller's flow on the model, so it changes what runs: on a transformer a gradient or path
/// method's tapped pass is then no longer the logits-only pass the prediction runs, and a path method (Integrated
/// Gradients, conductance, GradientSHAP) runs its path's input end in a pass of its own instead of taking it from the
/// prediction's, one pass per batch more than an unhooked run (3 forwards besides the path points where an unhooked run
/// does 2). Count such passes with <see cref="ForwardCountingModule"/>, which uses no hook.
/// </remarks>
internal sealed class ForwardCounter : IDisposable
{
    private readonly IDisposable hook;

    public ForwardCounter(ITextClassifier model) =>
        hook = ModuleHooks.AddForwardHook(model.Module, (_, input, _) =>
        {
            Calls++;
            Rows += ((ModelInput)input).InputIds.size(0);
            return null;
        });

    /// <summary>Forward passes of the whole model so far.</summary>
    public int Calls { get; private set; }

    /// <summary>Rows (texts, path points, perturbed inputs) those passes carried.</summary>
    public long Rows { get; private set; }

    /// <summary>The forward passes <paramref name="run"/> makes on <paramref name="model"/> (the count a cancellation test cancels within).</summary>
    public static int Count(ITextClassifier model, Action run)
    {
        using var counter = new ForwardCounter(model);
        run();
        return counter.Calls;
    }

    /// <summary>Starts both counts again (to count a second run separately).</summary>
    public void Reset() => (Calls, Rows) = (0, 0L);

    public void Dispose() => hook.Dispose();
}

/// <summary>
/// Counts forward passes and their rows without a hook: a module in front of the model (its submodules under
/// <c>inner.</c>) that counts each input, then runs the model. Nothing of the caller's sits on the model, so the passes are
/// those of an unhooked run (logits-only passes and the prediction's kept path input end included). It only passes its
/// input on (<see cref="ICompositeModule"/>: LRP runs through it).
/// </summary>
internal sealed class ForwardCountingModule : nn.Module<ModelInput, Tensor>, ICompositeModule
{
    private readonly nn.Module<ModelInput, Tensor> inner;

    public ForwardCountingModule(nn.Module<ModelInput, Tensor> inner)
        : base(nameof(ForwardCountingModule))
    {
        this.inner = inner;
        RegisterComponents();
    }

    /// <summary>Forward passes of the whole model so far.</summary>
    public int Calls { get; private set; }

    /// <summary>Rows those passes carried.</summary>
    public long Rows { get; private set; }

    /// <summary>Starts both counts again.</summary>
    public void Reset() => (Calls, Rows) = (0, 0L);

    public override Tensor forward(ModelInput input)
    {
        Calls++;
        Rows += input.InputIds.size(0);
        return inner.call(input);
    }

    /// <summary>
    /// <see cref="Attribution.Tests.Models.TransformerTestKit.RandomTinyBertClassifier"/>'s model (the same weights for the
    /// same seed) behind a counter.
    /// </summary>
    public static (TextClassifier Model, ForwardCountingModule Counter) TinyBert(ulong seed)
    {
        var module = Attribution.Tests.Models.TransformerTestKit.RandomModel(Attribution.Tests.Models.TransformerTestKit.TinyBert, seed);
        var counter = new ForwardCountingModule(module);
        var model = new TextClassifier("random-tiny-bert", new IdsTokenizer(2, 3, 0, module.Config.VocabSize), counter, ["a", "b", "c"],
            "inner." + module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: true);
        return (model, counter);
    }
}
