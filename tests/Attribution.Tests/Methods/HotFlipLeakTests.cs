using Attribution.Engine;
using Attribution.Methods;

namespace Attribution.Tests.Methods;

/// <summary>
/// HotFlip.Generate, a public call that runs a prediction, a gradient pass and a batch of checking passes, returns the
/// live tensor count to where it was and leaves no hook attached: when it succeeds, and when it fails after its
/// gradient pass (a text whose only word is split into subword pieces has nothing to flip). Runs alone: the count
/// is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class HotFlipLeakTests(SstBertTinyFixture fixture) : IClassFixture<SstBertTinyFixture>
{
    [SkippableFact]
    public void Generate_frees_every_tensor_it_made_also_when_it_throws_after_its_passes()
    {
        var model = fixture.Model;
        var flip = new HotFlip { Positions = 2, CandidatesPerPosition = 3 };
        flip.Generate(model, "a sometimes tedious film", maxEdits: 4);
        var before = LiveTensors.Settled();
        flip.Generate(model, "a sometimes tedious film", maxEdits: 4).Should().NotBeEmpty();
        LiveTensors.Settled().Should().Be(before, "a successful call frees what it made");

        // "xyzzyqw" is WordPiece pieces only (x ##y… ): the prediction and the gradient run, then the call is refused.
        model.Tokenizer.Encode("xyzzyqw").Tokens.Skip(2).SkipLast(1).Should().OnlyContain(t => t.StartsWith("##", StringComparison.Ordinal));
        var act = () => flip.Generate(model, "xyzzyqw");
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "text").WithMessage("*no whole-word token to flip*");
        LiveTensors.Settled().Should().Be(before, "a call that throws after its passes frees what it made");
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }
}
