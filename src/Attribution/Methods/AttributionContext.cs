using Attribution.Engine;
using Attribution.Methods.Attention;
using Attribution.Methods.Internal;
using Attribution.Methods.Lrp;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// One batch of texts being explained, as a <see cref="TextAttributor"/> (built-in or user-written) sees it: the
/// encoded input, the model's logits on it, the resolved targets, and the helpers every method shares (scoring the
/// target, repeating rows for path integrals, finding layers, one forward/backward pass with a gradient at a layer).
/// Created by the pipeline inside a dispose scope it owns: every tensor made while attributing is freed with it, so a
/// method returns tensors without disposing them. Per call and per batch: never shared between threads.
/// </summary>
public sealed class AttributionContext
{
    private readonly Dictionary<LayerSite, LayerGradient> gradients = [];

    /// <param name="model">The classifier.</param>
    /// <param name="batch">The encoded texts.</param>
    /// <param name="options">The call's options.</param>
    /// <param name="firstPass">
    /// A pass a method will ask for: a plain gradient at a site (<see cref="GradientAt"/>; the first forward pass then
    /// makes the site a leaf), or LRP's relevance pass (<see cref="TakeLrpForward"/>). The first forward pass is that
    /// pass and keeps its graph, so the method costs one backward and no second forward.
    /// </param>
    /// <param name="classes">
    /// For how many classes the batch will be explained (this one and others through <see cref="ForClass"/>): the
    /// first pass's graph serves one backward for each and is released after the last class's.
    /// </param>
    /// <param name="pathStarts">
    /// Where the batch keeps its path methods' input ends (one forward pass per layer for every path method and class);
    /// null: each computes its own.
    /// </param>
    internal AttributionContext(ITextClassifier model, EncodedBatch batch, AttributionOptions options, FirstPass? firstPass = null, int classes = 1, PathStarts? pathStarts = null)
    {
        // The first forward pass runs here. The callers that go on to run more passes hold a lease for their whole call
        // (MethodRunner, the metrics); this one covers the pass for a caller that has none.
        using var lease = ModelLease.Enter(model);
        ModelReadiness.Prepare(model.Name, model.Module);

        // What the options ask of the model's head is checked before any pass runs.
        ScoreChecks.Check(model.Head, options.Score);
        ScoreChecks.CheckTarget(model, options.Target);
        ScoreChecks.CheckOneOutputSoftmax(model, options.Score);
        Model = model;
        Batch = batch;
        Options = options;
        primed = new PrimedGraph(classes);
        batchSize = batch.Texts.Count;
        this.pathStarts = pathStarts;
        if (firstPass is FirstPass.PathStart start && pathStarts is not null && PrimedPathStart(start.Site, pathStarts) is { } startLogits)
        {
            Logits = startLogits;
        }
        else if (firstPass is FirstPass.PlainGradient gradient)
        {
            Logits = PrimedForward(gradient.Site);
        }
        else if (firstPass is FirstPass.Lrp lrp && options.Score == ScoreOutput.Logit)
        {
            // LRP refuses any other scored output before the call's first pass (TextAttributor.CheckOptions).
            var pass = LrpPropagation.Forward(model.Module, batch.Input, model.WordEmbeddingPath, lrp.Settings);
            primed.Lrp = (lrp.Settings, pass);
            using (no_grad())
            {
                Logits = pass.Logits.detach().to(ScalarType.Float32);
            }
        }
        else if (firstPass is FirstPass.AttentionProbabilities maps)
        {
            // Attention rollout's own pass (with its graph for the gradient-weighted rule): its logits make the
            // prediction, and its attention probabilities are kept for rollout.
            using (maps.WithGradients ? enable_grad() : no_grad())
            {
                var (logits, attention) = AttentionCapture.Run(model, maps.Modules, batch.Input);
                keptAttention = new KeptAttention(logits, attention, maps.WithGradients);
                using (no_grad())
                {
                    Logits = logits.detach().to(ScalarType.Float32);
                }
            }
        }
        else
        {
            // Only the logits are read (unless a hook of the caller's reads a layer): the prediction needs no more.
            using (no_grad())
            {
                var onlyLogits = ModuleHooks.OnlyFlowHooksOn(model.Module, model.Module);
                Logits = model.Module.call(onlyLogits ? batch.Input with { LogitsOnly = true } : batch.Input).to(ScalarType.Float32);
            }
        }

        LogitRows = Rows(Logits.to(ScalarType.Float64));
        NonFiniteValueException.CheckLogits(model.Name, LogitRows, batch.Texts);
        ProbabilityRows = LogitRows.Select(row => model.Head.Probabilities(row)).ToArray();

        var targets = new long[batch.Texts.Count];
        for (var i = 0; i < targets.Length; i++)
        {
            // The top label; a multi-label model's other labels above 0.5 are explained by asking for them.
            var predicted = model.Head == OutputHead.Regression ? 0 : Array.IndexOf(LogitRows[i], LogitRows[i].Max());
            targets[i] = options.Target.Resolve(model.Labels, predicted);
        }

        Targets = targets;
        TargetTensor = tensor(targets);
    }

    /// <summary>The same batch, forward pass and prediction, explaining class <paramref name="target"/> for every text.</summary>
    private AttributionContext(AttributionContext shared, int target)
    {
        Model = shared.Model;
        Baselines = shared.Baselines;
        batchSize = shared.batchSize;
        batchRows = shared.batchRows;
        pathStarts = shared.pathStarts;
        primed = shared.primed;
        position = primed.NextPosition();
        Batch = shared.Batch;
        Options = shared.Options with { Target = Target.Class(target) };
        keptAttention = shared.keptAttention;
        Logits = shared.Logits;
        LogitRows = shared.LogitRows;
        ProbabilityRows = shared.ProbabilityRows;
        var targets = Enumerable.Repeat((long)target, shared.Size).ToArray();
        Targets = targets;
        TargetTensor = tensor(targets);
        SharedTime = shared.SharedTime;
    }

    /// <summary>
    /// Some rows of a batch, with their forward pass taken from it (no new forward pass): their own targets, or
    /// <paramref name="classes"/> (one per row) for a batch whose rows are texts repeated once per class.
    /// </summary>
    private AttributionContext(AttributionContext whole, int[] rows, long[]? classes = null)
    {
        Model = whole.Model;
        Options = whole.Options;
        Baselines = whole.Baselines;
        primed = new PrimedGraph(1);

        // The batch's input ends serve these rows only when they are the batch's own rows, in order (a pass over other
        // rows may round differently).
        batchSize = whole.batchSize;
        var ofBatch = rows.Select(r => whole.batchRows is { } known ? known[r] : r).ToArray();
        var inOrder = ofBatch.Length == batchSize && ofBatch.Select((r, i) => r == i).All(x => x);
        batchRows = inOrder ? null : ofBatch;
        pathStarts = whole.pathStarts;
        using var index = tensor(rows.Select(r => (long)r).ToArray());
        var input = whole.Batch.Input;
        Batch = new EncodedBatch(
            rows.Select(r => whole.Batch.Texts[r]).ToArray(),
            rows.Select(r => whole.Batch.Encodings[r]).ToArray(),
            new ModelInput(input.InputIds.index_select(0, index), input.AttentionMask?.index_select(0, index), input.TokenTypeIds?.index_select(0, index)),
            rows.Select(r => whole.Batch.Lengths[r]).ToArray())
        {
            Pairs = whole.Batch.Pairs is { } pairs ? rows.Select(r => pairs[r]).ToArray() : null,
        };
        Logits = whole.Logits.index_select(0, index);
        LogitRows = rows.Select(r => whole.LogitRows[r]).ToArray();
        ProbabilityRows = rows.Select(r => whole.ProbabilityRows[r]).ToArray();
        var targets = classes ?? rows.Select(r => whole.Targets[r]).ToArray();
        Targets = targets;
        TargetTensor = tensor(targets);
        SharedTime = whole.SharedTime;
        var texts = classes is not null ? rows : whole.textOfRow is { } known ? rows.Select(r => known[r]).ToArray() : null;
        if (texts is not null && texts.Distinct().Count() < rows.Length)
        {
            textOfRow = texts;
            SharedTexts = TextSharing.Of(texts);
        }

        // The rows a pass over this batch runs are the whole batch's, in order (ForClasses): its first pass serves them.
        var passRows = SharedTexts is { } sharing ? sharing.Representatives.Select(r => rows[r]) : rows;
        if (whole.textOfRow is null && passRows.SequenceEqual(Enumerable.Range(0, whole.Size)))
        {
            keptAttention = whole.keptAttention;
        }
    }

    /// <summary>
    /// This batch once per class of <paramref name="classes"/>, text-major (row r·k + c is text r explained for
    /// classes[c]), for path methods: their passes run each text once and take one backward per class
    /// (<see cref="SharedTexts"/>), where one context per class (<see cref="ForClass"/>) runs the whole path per class.
    /// </summary>
    internal AttributionContext ForClasses(IReadOnlyList<int> classes)
    {
        var rows = Enumerable.Range(0, Size).SelectMany(r => Enumerable.Repeat(r, classes.Count)).ToArray();
        var targets = rows.Select((_, u) => (long)classes[u % classes.Count]).ToArray();
        return new AttributionContext(this, rows, targets);
    }

    // Which of the batch's classes this context explains, in the order they are explained: 0 for the batch's own
    // context, then each ForClass in turn.
    private readonly int position;

    /// <summary>Whether classes explained after this one will take a backward from a graph kept on the batch.</summary>
    private bool MoreClassesAfter => position < primed.Classes - 1;

    /// <summary>
    /// Whether a pass this context runs is kept for the classes after it: there are some, and none of them has begun
    /// (the classes are explained in turn, so this is the newest).
    /// </summary>
    private bool KeepsForLater => MoreClassesAfter && position == primed.LastPosition;

    // For a batch of texts repeated once per class (ForClasses and its subsets): each row's text; otherwise null.
    private readonly int[]? textOfRow;

    /// <summary>
    /// Where rows repeat a text (for other classes, <see cref="ForClasses"/>): the first row of each distinct text, and
    /// each row's text among them. A path pass then runs the distinct texts forward once and gives each row the
    /// gradient of its own class. Null where every row is a text of its own.
    /// </summary>
    internal TextSharing? SharedTexts { get; }

    /// <summary>Rows a forward pass on this batch runs: its distinct texts.</summary>
    internal int PassRows => SharedTexts?.Representatives.Length ?? Size;

    /// <summary>
    /// The rows <paramref name="rows"/> of this batch as a batch of their own, sharing the encoding, the forward pass and
    /// the targets: adaptive integration refines only the texts that have not converged.
    /// </summary>
    internal AttributionContext Subset(int[] rows) => rows.Length == Size && rows.Select((r, i) => r == i).All(x => x) ? this : new AttributionContext(this, rows);

    // Rows of the batch the first pass ran, and this context's rows among them (null: all of them, in order).
    private readonly int batchSize;
    private readonly int[]? batchRows;

    // The batch's path input ends (shared by all its contexts, used by those over its rows in order), or null.
    private readonly PathStarts? pathStarts;

    /// <summary>
    /// The tensor at <paramref name="site"/> in a forward pass of this batch's input, and that pass's logits: the input
    /// end of a path (<see cref="PathInputs"/>). Over the batch's own rows it is computed once per site, by the first
    /// pass or the first asker, and every path method and class at that site reuses it; other rows run a pass of their own.
    /// </summary>
    internal Tensor PathStart(LayerSite site, out Tensor logits)
    {
        var starts = batchRows is null ? pathStarts : null;
        if (starts?.Get(site, out var kept) is { } activation)
        {
            logits = kept!;
            return activation;
        }

        var captured = PathInputs.Capture(this, site.Module, site.Side, site.Index, Batch.Input, out logits);
        starts?.Keep(site, captured, logits);
        return captured;
    }

    /// <summary>
    /// The first pass as a path method's input end at <paramref name="site"/> (<see cref="FirstPass.PathStart"/>): kept
    /// in <paramref name="starts"/>, its logits returned for the prediction. Null, and nothing run, when the tapped pass
    /// would not be the pass the prediction runs (the site sits where a logits-only pass cannot serve it): the prediction's
    /// logits must not depend on which methods are asked for. Null too when the layer did not run once (the method's own
    /// pass reports it).
    /// </summary>
    private Tensor? PrimedPathStart(LayerSite site, PathStarts starts)
    {
        using var noGrad = no_grad();
        var predictionLogitsOnly = ModuleHooks.OnlyFlowHooksOn(Model.Module, Model.Module);
        if (ForPassTappedAt(Batch.Input, site).LogitsOnly != predictionLogitsOnly)
        {
            return null;
        }

        var activation = PathInputs.TryCapture(this, site, Batch.Input, out var logits, out _);
        if (activation is not null)
        {
            starts.Keep(site, activation, logits);
        }

        return logits.to(ScalarType.Float32);
    }

    // The first forward pass's graph (see the constructor), shared with this batch's contexts for other classes.
    private readonly PrimedGraph primed;

    // The attention probabilities the first forward pass kept for attention rollout, shared with the contexts whose
    // passes run the same rows; null when the first pass was another method's.
    private readonly KeptAttention? keptAttention;

    /// <summary>
    /// The logits and attention probabilities of the batch's first forward pass, when it kept them for attention
    /// rollout (<see cref="FirstPass.AttentionProbabilities"/>) with the same <paramref name="withGradients"/>, for a
    /// pass over this context's distinct texts (<see cref="PassRows"/>): once per batch, then null (a later asker runs
    /// its own pass).
    /// </summary>
    internal (Tensor Logits, IReadOnlyList<Tensor> Attention)? TakeFirstPassAttention(bool withGradients) => keptAttention?.Take(withGradients);

    private Tensor PrimedForward(LayerSite site)
    {
        if (TappedForward(site) is not { } pass)
        {
            // A layer that runs several times (or not at all) is reported by the method's own pass, as before.
            using (no_grad())
            {
                return Model.Module.call(Batch.Input).to(ScalarType.Float32);
            }
        }

        primed.Gradient = (site, pass.Leaf, pass.Logits);
        using (no_grad())
        {
            // The leaf's values are the tensor at the site: a path method there starts from them too.
            using var activation = pass.Leaf.detach();
            using var logits = pass.Logits.detach();
            pathStarts?.Keep(site, activation, logits);
            return pass.Logits.detach().to(ScalarType.Float32);
        }
    }

    /// <summary>
    /// A forward pass of the batch whose tensor at <paramref name="site"/> becomes a leaf, keeping its graph (the pass
    /// <see cref="PathPass.Run"/> makes for a plain gradient, row for row); null when the layer did not run exactly once.
    /// </summary>
    private (Tensor Leaf, Tensor Logits)? TappedForward(LayerSite site)
    {
        using var grad = enable_grad();
        Tensor? leaf = null;
        Tensor logits;
        int calls;
        using (var tap = new LayerTap(site.Module, site.Side, site.Index, value =>
               {
                   leaf = value.detach().requires_grad_();
                   return leaf;
               }))
        {
            logits = Model.Module.call(ForPassTappedAt(Batch.Input, site));
            calls = tap.Calls;
        }

        return calls == 1 ? (leaf!, logits) : null;
    }

    /// <summary>
    /// The batch's first forward pass when it was LRP's with these <paramref name="settings"/> (the pipeline runs it so
    /// when an LRP is the first method that can take it: <see cref="FirstPass.ForAll"/>), and whether its graph
    /// must outlive the backward: until the last class explained has taken it (then null), it goes to every asker
    /// with these settings.
    /// </summary>
    internal (LrpPropagation.LrpForwardPass Pass, bool RetainGraph)? TakeLrpForward(LrpSettings settings)
    {
        if (primed.Lrp is { } p && p.Settings == settings)
        {
            return (p.Pass, primed.KeepAfter(this));
        }

        // Another LRP's pass, kept on the batch for the classes after the one that ran it (the first pass is one pass).
        var keep = MoreClassesAfter;
        if (primed.LaterLrp.TryGetValue(settings, out var later))
        {
            if (!keep)
            {
                primed.LaterLrp.Remove(settings);
            }

            return (later, keep);
        }

        if (!KeepsForLater)
        {
            return null;
        }

        var pass = LrpPropagation.Forward(Model.Module, Batch.Input, Model.WordEmbeddingPath, settings);
        primed.LaterLrp[settings] = pass;
        return (pass, true);
    }

    /// <summary>
    /// <paramref name="input"/> for a forward pass whose only hooks are the calling method's taps at
    /// <paramref name="sites"/> (null entries: no such tap), marked <see cref="ModelInput.LogitsOnly"/> when nothing but the logits and the tensors
    /// at those sites will be read, and those tensors are the same either way: every site is the word embeddings'
    /// output, or inside a transformer's embedding block or an encoder layer before the last
    /// (<see cref="TransformerClassifier.WholeWhenLogitsOnly"/>), and no other hook of this flow, nor any registered
    /// directly with TorchSharp, is on the model. A transformer then runs its last layer for the first token alone: the
    /// same logits, activations and gradients at the sites, for less work (36% less forward work on the 2-layer SST-2
    /// model, 7–14% on BERT-base; logits-only.md). Call it while the taps are attached.
    /// </summary>
    internal ModelInput ForPassTappedAt(ModelInput input, params LayerSite?[] sites)
    {
        var tapped = sites.OfType<LayerSite>().ToArray();
        return tapped.All(WholeWhenLogitsOnly) && ModuleHooks.OnlyFlowHooksOn(Model.Module, tapped.Select(s => s.Module).ToArray())
            ? input with { LogitsOnly = true }
            : input;
    }

    private bool WholeWhenLogitsOnly(LayerSite site) =>
        (site.Side == LayerSide.Output && ReferenceEquals(site.Module, LayerPaths.Resolve(Model, null, "Layer")))
        || TransformerClassifier.WholeWhenLogitsOnlyIn(Model.Module, site.Module);

    /// <summary>This batch explained for another class: the encoding and the forward pass are shared, gradient passes are not.</summary>
    internal AttributionContext ForClass(int target)
    {
        _ = Target.Class(target).Resolve(Model.Labels, 0);
        return new AttributionContext(this, target);
    }

    /// <summary>The classifier.</summary>
    public ITextClassifier Model { get; }

    /// <summary>The call's cache of baseline forward passes (shared by its batches, classes and methods), or null.</summary>
    internal BaselineCache? Baselines { get; init; }

    /// <summary>Time spent encoding and running the first forward pass, shared by every method on this batch.</summary>
    internal TimeSpan SharedTime { get; set; }

    /// <summary>The texts, their encodings and the padded model input.</summary>
    public EncodedBatch Batch { get; }

    /// <summary>The call's options (target, scored output, cancellation, …).</summary>
    public AttributionOptions Options { get; }

    /// <summary>Texts in the batch.</summary>
    public int Size => Batch.Texts.Count;

    /// <summary>Padded sequence length of the batch.</summary>
    public long Length => Batch.Input.InputIds.size(1);

    /// <summary>The model's logits on the batch, [batch, classes], float32.</summary>
    public Tensor Logits { get; }

    /// <summary>The logits per text.</summary>
    public IReadOnlyList<double[]> LogitRows { get; }

    /// <summary>The probabilities per text as the model's head defines them (softmax, sigmoid per label; empty for regression).</summary>
    public IReadOnlyList<double[]> ProbabilityRows { get; }

    /// <summary>The class explained per text.</summary>
    public IReadOnlyList<long> Targets { get; }

    /// <summary>The class explained per text, [batch] int64.</summary>
    public Tensor TargetTensor { get; }

    /// <summary>
    /// The scored output of the target class for each row of <paramref name="logits"/>, whose rows are
    /// <paramref name="repeats"/> copies of the batch (alpha-major, as Captum expands inputs).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="logits"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeats"/> is below 1, or the call's scored output
    /// (<see cref="AttributionOptions.Score"/>) has no meaning for the model's head.</exception>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is not [<see cref="Size"/> × <paramref name="repeats"/>, classes].</exception>
    public Tensor Score(Tensor logits, int repeats = 1)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (repeats < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "repeats is how many copies of the batch the logits' rows are: at least 1");
        }

        // Gather reads only as many rows as the targets: logits with more rows were scored on their first ones, silently.
        if (logits.dim() != 2 || logits.size(0) != (long)Size * repeats)
        {
            throw new ArgumentException(
                $"logits of shape [{string.Join(", ", logits.shape)}] for {repeats} cop{(repeats == 1 ? "y" : "ies")} of a batch of {Size} text(s): " +
                $"give [{(long)Size * repeats}, classes] logits, the model's output on Repeat({repeats})", nameof(logits));
        }

        var targets = repeats == 1 ? TargetTensor : TargetTensor.repeat(repeats);
        return Scored(logits).gather(1, targets.unsqueeze(1)).squeeze(1);
    }

    /// <summary>The scored output of class <paramref name="target"/> for every row of <paramref name="logits"/>.</summary>
    internal Tensor ScoreOfClass(Tensor logits, long target) => Scored(logits).select(1, target);

    /// <summary>The scored output (logits, probabilities or log-probabilities) of every class.</summary>
    private Tensor Scored(Tensor logits)
    {
        return (Options.Score, Model.Head) switch
        {
            (ScoreOutput.Logit, _) => logits,
            (ScoreOutput.Probability, OutputHead.SingleLabel) => logits.softmax(-1),
            (ScoreOutput.LogProbability, OutputHead.SingleLabel) => logits.log_softmax(-1),
            (ScoreOutput.Probability, OutputHead.MultiLabel) => logits.sigmoid(),
            (ScoreOutput.LogProbability, OutputHead.MultiLabel) => nn.functional.logsigmoid(logits),
            _ => throw new ArgumentOutOfRangeException(nameof(Options.Score), Options.Score, $"no {Options.Score} for a {Model.Head.Name()} head"),
        };
    }

    /// <summary>The scored output per text, as numbers (for convergence deltas).</summary>
    /// <exception cref="ArgumentException">As for <see cref="Score"/> with one copy of the batch.</exception>
    public double[] ScoreValues(Tensor logits)
    {
        using (no_grad())
        {
            return Score(logits).to(ScalarType.Float64).data<double>().ToArray();
        }
    }

    /// <summary>The batch input with every row repeated <paramref name="repeats"/> times (all rows, then all rows again, …).</summary>
    public ModelInput Repeat(int repeats) => Repeat(Batch.Input, repeats);

    internal static ModelInput Repeat(ModelInput input, int repeats) => repeats == 1
        ? input
        : new ModelInput(
            input.InputIds.repeat(repeats, 1),
            input.AttentionMask?.repeat(repeats, 1),
            input.TokenTypeIds?.repeat(repeats, 1));

    /// <summary>The same input with other token ids.</summary>
    public ModelInput WithIds(Tensor ids) => Batch.Input with { InputIds = ids };

    /// <summary>The module at a dotted path of the model (the word-embedding layer when null).</summary>
    /// <exception cref="ArgumentException">No module at <paramref name="path"/> (the closest paths are listed), a TorchScript
    /// model's layer other than its word embeddings, or a module that cannot be hooked (a container); the parameter named
    /// is the methods' setting, <c>Layer</c>.</exception>
    public nn.Module Layer(string? path) => LayerPaths.Resolve(Model, path, "Layer");

    /// <summary>A tensor of a layer by path: its output (or input) tensor at <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentException">As for <see cref="Layer"/>.</exception>
    public LayerSite Site(string? path, LayerSide side = LayerSide.Output, int index = 0) => new(Layer(path), side, index);

    /// <summary>1 for real tokens, 0 for padding: [batch, length] float.</summary>
    public Tensor TokenMask => (Batch.Input.AttentionMask ?? ones_like(Batch.Input.InputIds)).to(ScalarType.Float32);

    /// <summary>
    /// One forward/backward pass on the batch: the tensor at <paramref name="site"/> (optionally changed by
    /// <paramref name="replace"/>, e.g. SmoothGrad's noise) becomes a leaf, and the gradient of the summed scored
    /// output with respect to it is returned with it. Without <paramref name="replace"/>, the pass is computed once per
    /// batch and site and shared by every method asking for it (Gradient and Gradient × Input).
    /// </summary>
    public LayerGradient GradientAt(LayerSite site, Func<Tensor, Tensor>? replace = null)
    {
        if (replace is not null)
        {
            return PathPass.Run(this, site, 1, replace);
        }

        if (!gradients.TryGetValue(site, out var pass))
        {
            if (primed.Gradient is { } p && p.Site == site)
            {
                // The graph of the first forward pass: one backward per class, released after the last class's.
                var keep = primed.KeepAfter(this);
                using var grad = enable_grad();
                var gradient = Gradients.OfOrZeros(Score(p.Logits).sum(), p.Leaf, retainGraph: keep);
                pass = new LayerGradient(p.Leaf.detach(), gradient);
            }
            else if (LaterGradientPass(site) is { } later)
            {
                // A pass kept on the batch for every class from the one that ran it: one backward each, the last frees it.
                var keep = MoreClassesAfter;
                if (!keep)
                {
                    primed.LaterGradients.Remove(site);
                }

                using var grad = enable_grad();
                var gradient = Gradients.OfOrZeros(Score(later.Logits).sum(), later.Leaf, retainGraph: keep);
                pass = new LayerGradient(later.Leaf.detach(), gradient);
            }
            else
            {
                pass = PathPass.Run(this, site, 1, null);
            }

            PathPass.RequireTokenAxis(this, site, pass.Activation, Size);
            gradients[site] = pass;
        }

        return pass;
    }

    /// <summary>
    /// The pass a plain gradient at <paramref name="site"/> is kept for on the batch (run by an earlier class, or now,
    /// when classes come after this one), or null: the gradient then has a pass of its own.
    /// </summary>
    private (Tensor Leaf, Tensor Logits)? LaterGradientPass(LayerSite site)
    {
        if (primed.LaterGradients.TryGetValue(site, out var later))
        {
            return later;
        }

        if (KeepsForLater && TappedForward(site) is { } tapped)
        {
            primed.LaterGradients[site] = tapped;
            return tapped;
        }

        return null;
    }

    /// <summary>The first forward pass's graph, kept for the method it was run for, until every class has used it.</summary>
    /// <param name="classes">The classes the batch is explained for, each by its own context.</param>
    private sealed class PrimedGraph(int classes)
    {
        private readonly HashSet<AttributionContext> served = [];
        private int lastPosition;

        /// <summary>The position of the newest context of the batch.</summary>
        public int LastPosition => lastPosition;

        /// <summary>For how many classes' contexts the graph is kept.</summary>
        public int Classes => classes;

        /// <summary>
        /// Plain gradients' passes that were not the first pass, by site, kept from the class that ran one for the
        /// classes after it (<see cref="MoreClassesAfter"/>).
        /// </summary>
        public Dictionary<LayerSite, (Tensor Leaf, Tensor Logits)> LaterGradients { get; } = [];

        /// <summary>LRP passes that were not the first pass, by settings, kept as <see cref="LaterGradients"/> are.</summary>
        public Dictionary<LrpSettings, LrpPropagation.LrpForwardPass> LaterLrp { get; } = [];

        /// <summary>The position of a context made for another class (<see cref="ForClass"/>): the next.</summary>
        public int NextPosition() => ++lastPosition;

        /// <summary>A plain gradient's pass: its site, the leaf there and the logits.</summary>
        public (LayerSite Site, Tensor Leaf, Tensor Logits)? Gradient { get; set; }

        /// <summary>LRP's pass and its settings.</summary>
        public (LrpSettings Settings, LrpPropagation.LrpForwardPass Pass)? Lrp { get; set; }

        /// <summary>
        /// Whether the graph must outlive the backward <paramref name="asker"/> is about to run from it: not when it is
        /// the last class's, and then the graph is forgotten here (the backward frees it, a later asker runs its own pass).
        /// </summary>
        public bool KeepAfter(AttributionContext asker)
        {
            served.Add(asker);
            if (served.Count < classes)
            {
                return true;
            }

            Gradient = null;
            Lrp = null;
            return false;
        }
    }

    /// <summary>The first pass's logits and attention probabilities, handed to the first method that asks with the same gradient setting.</summary>
    private sealed class KeptAttention(Tensor logits, IReadOnlyList<Tensor> attention, bool withGradients)
    {
        private bool taken;

        public (Tensor Logits, IReadOnlyList<Tensor> Attention)? Take(bool gradients)
        {
            if (taken || gradients != withGradients)
            {
                return null;
            }

            // A graph serves one backward (or one backward per class, by the taker): it is handed out once.
            taken = true;
            return (logits, attention);
        }
    }

    private static double[][] Rows(Tensor matrix)
    {
        var values = matrix.data<double>().ToArray();
        var columns = (int)matrix.size(1);
        return Enumerable.Range(0, (int)matrix.size(0)).Select(r => values.AsSpan(r * columns, columns).ToArray()).ToArray();
    }
}

/// <summary>A tensor inside a model: the output (or input) of a module, at an index when the module has several.</summary>
/// <param name="Module">The module.</param>
/// <param name="Side">Its output or its input.</param>
/// <param name="Index">Which tensor of a tuple (0 for a single tensor).</param>
public readonly record struct LayerSite(nn.Module Module, LayerSide Side = LayerSide.Output, int Index = 0);

/// <summary>A layer's activation (a detached copy) and the gradient of the scored output with respect to it.</summary>
/// <param name="Activation">The activation, [rows, …].</param>
/// <param name="Gradient">The gradient, same shape.</param>
public sealed record LayerGradient(Tensor Activation, Tensor Gradient);

/// <summary>What a method computed for a batch.</summary>
/// <param name="Attributions">[batch, length, …] per-dimension attributions, or [batch, length] per-token scores.</param>
/// <param name="PerDimension">Whether <paramref name="Attributions"/> still has dimensions to reduce per token.</param>
/// <param name="Deltas">Convergence delta per text, where the method defines one.</param>
public sealed record MethodOutput(Tensor Attributions, bool PerDimension, IReadOnlyList<double>? Deltas = null)
{
    /// <summary>Per text, where a conservative method's relevance went (see <see cref="Explanation.RelevanceShares"/>), or null.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>>? RelevanceShares { get; init; }

    /// <summary>Per text, notes to add to its explanation, or null.</summary>
    public IReadOnlyList<IReadOnlyList<string>>? Notes { get; init; }

    /// <summary>Per text, settings that differ between texts (an adaptive method's <c>steps-used</c>), appended to its explanation's settings, or null.</summary>
    public IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>>? RowSettings { get; init; }
}

/// <summary>Rows that repeat texts (<see cref="AttributionContext.SharedTexts"/>).</summary>
/// <param name="Representatives">The first row of each distinct text, in order of first appearance.</param>
/// <param name="TextOfRow">Each row's text, as an index into <paramref name="Representatives"/>.</param>
internal sealed record TextSharing(int[] Representatives, int[] TextOfRow)
{
    /// <summary>The sharing of rows whose texts are <paramref name="texts"/> (equal values: the same text).</summary>
    public static TextSharing Of(int[] texts)
    {
        var first = new Dictionary<int, int>();
        var representatives = new List<int>();
        var textOfRow = new int[texts.Length];
        for (var row = 0; row < texts.Length; row++)
        {
            if (!first.TryGetValue(texts[row], out var distinct))
            {
                distinct = representatives.Count;
                first[texts[row]] = distinct;
                representatives.Add(row);
            }

            textOfRow[row] = distinct;
        }

        return new TextSharing([.. representatives], textOfRow);
    }
}
