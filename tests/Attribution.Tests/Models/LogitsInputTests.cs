using Attribution.Models;
using Attribution.Tests.Methods;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// <see cref="TextClassifier.Logits"/> with a caller's own <see cref="ModelInput"/>: what Encode guarantees is checked
/// before the module runs, each refusal naming <c>input</c>. Before, a null input was a NullReferenceException, and ids of
/// the wrong rank or past the word embedding failed inside libtorch as an ExternalException ("Dimension out of range",
/// "index out of range in self") naming no argument.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class LogitsInputTests
{
    [Fact]
    public void Bad_inputs_are_refused_naming_input_before_the_module_runs()
    {
        var (model, module) = PowerOfSum.Counted(1);
        using (model)
        {
            var before = LiveTensors.Settled();
            FluentActions.Invoking(() => model.Logits(null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("input");

            using (var outside = tensor(new long[] { 3, 10 }, [1, 2]))
            {
                FluentActions.Invoking(() => model.Logits(new ModelInput(outside))).Should().Throw<ArgumentException>()
                    .WithMessage("input.InputIds row 0 has token id 10 at position 1, but power-of-sum's word embedding (embeddings) has 10 rows (ids 0 to 9)*")
                    .Which.ParamName.Should().Be("input");
            }

            using (var flat = tensor(new long[] { 3, 4 }))
            {
                FluentActions.Invoking(() => model.Logits(new ModelInput(flat))).Should().Throw<ArgumentException>()
                    .WithMessage("input.InputIds is Int64 [2]: give the token ids as an int64 [batch, length] tensor*").Which.ParamName.Should().Be("input");
            }

            using (var floats = tensor(new float[] { 3, 4 }, [1, 2]))
            {
                FluentActions.Invoking(() => model.Logits(new ModelInput(floats))).Should().Throw<ArgumentException>()
                    .WithMessage("input.InputIds is Float32 [1, 2]*").Which.ParamName.Should().Be("input");
            }

            using (var ids = tensor(new long[] { 3, 4 }, [1, 2]))
            using (var mask = ones(1, 3, dtype: ScalarType.Int64))
            {
                FluentActions.Invoking(() => model.Logits(new ModelInput(ids, mask))).Should().Throw<ArgumentException>()
                    .WithMessage("input.AttentionMask has shape [1, 3] but the ids have [1, 2]*").Which.ParamName.Should().Be("input");
            }

            // Int32 ids are a caller's module's business: checked against the embedding as int64 ids are, not refused for their type.
            using (var outside32 = tensor(new int[] { 3, 10 }, [1, 2]))
            {
                FluentActions.Invoking(() => model.Logits(new ModelInput(outside32))).Should().Throw<ArgumentException>()
                    .WithMessage("input.InputIds row 0 has token id 10 at position 1*").Which.ParamName.Should().Be("input");
            }

            module.ForwardCalls.Should().Be(0, "every refusal comes before the module runs");

            // A good input still gives the logits: PowerOfSum (p = 1) sums W·e over the tokens, as its own reference computes.
            using (var ids = tensor(new long[] { 3, 4 }, [1, 2]))
            using (var logits = model.Logits(new ModelInput(ids)))
            {
                // float32 model: 1e-5 covers its rounding on values of order 1.
                ((double)logits.data<float>()[0]).Should().BeApproximately(PowerOfSum.IntegratedGradients("3 4", 1).Sum(), 1e-5);
            }

            LiveTensors.Settled().Should().Be(before, "the checks free what they made");
        }
    }
}
