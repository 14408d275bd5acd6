using Attribution.Torch;

namespace Attribution.Tests.Torch;

/// <summary>Seeded generators: same seed, same draws; different seeds differ; the global stream is untouched.</summary>
public class GeneratorTests
{
    private static double[][] Draws(ulong seed)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(seed);
        return
        [
            torch.rand([5], ScalarType.Float64, g).data<double>(),
            torch.randn([5], ScalarType.Float64, g).data<double>(),
            torch.rand([3], ScalarType.Float32, g).to(ScalarType.Float64).data<double>(),
            torch.randint(0, 1000, [5], g).@double().data<double>(),
            torch.randperm(10, g).@double().data<double>(),
            torch.bernoulli(torch.full([20], 0.5, ScalarType.Float64), g).data<double>(),
            torch.empty([5], ScalarType.Float64).normal_(2, 3, g).data<double>(),
            torch.empty([5], ScalarType.Float64).uniform_(-1, 1, g).data<double>(),
            torch.nn.functional.dropout(torch.ones([20], ScalarType.Float64), 0.5, training: true, generator: g).data<double>(),
        ];
    }

    [Fact]
    public void The_same_seed_gives_identical_draws()
    {
        var a = Draws(42);
        var b = Draws(42);
        for (var i = 0; i < a.Length; i++)
        {
            a[i].Should().Equal(b[i], $"draw {i} should repeat with the same seed");
        }
    }

    [Fact]
    public void Different_seeds_give_different_draws()
    {
        var a = Draws(42);
        var b = Draws(43);
        for (var i = 0; i < a.Length; i++)
        {
            a[i].Should().NotEqual(b[i], $"draw {i} should change with the seed");
        }
    }

    [Fact]
    public void A_generator_advances_between_draws()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(7);
        g.Seed.Should().Be(7);
        torch.rand([4], ScalarType.Float64, g).data<double>().Should().NotEqual(torch.rand([4], ScalarType.Float64, g).data<double>());
    }

    [Fact]
    public void Draws_have_the_documented_ranges()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        torch.rand([1000], ScalarType.Float64, g).data<double>().Should().OnlyContain(v => v >= 0 && v < 1);
        torch.randint(-2, 3, [1000], g).data<long>().Should().OnlyContain(v => v >= -2 && v < 3).And.Contain(-2).And.Contain(2);
        torch.randperm(50, g).data<long>().Should().BeEquivalentTo(Enumerable.Range(0, 50).Select(i => (long)i));
        torch.bernoulli(torch.tensor(new[] { 0.0, 1, 0, 1 }), g).data<double>().Should().Equal(0, 1, 0, 1);
        var normal = torch.empty([20000], ScalarType.Float64).normal_(2, 3, g);
        normal.mean().item<double>().Should().BeApproximately(2, 0.1);
        normal.std().item<double>().Should().BeApproximately(3, 0.1);
        torch.empty([1000], ScalarType.Float64).uniform_(-1, 1, g).data<double>().Should().OnlyContain(v => v >= -1 && v < 1);
    }

    [Fact]
    public void Seeded_layers_initialize_identically()
    {
        using var scope = torch.NewDisposeScope();
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        using var a = new torch.nn.Linear(4, 3, generator: g1);
        using var b = new torch.nn.Linear(4, 3, generator: g2);
        a.weight.data<float>().Should().Equal(b.weight.data<float>());
        a.bias!.data<float>().Should().Equal(b.bias!.data<float>());
        using var e1 = new torch.nn.Embedding(4, 3, generator: g1);
        using var e2 = new torch.nn.Embedding(4, 3, generator: g2);
        e1.weight.data<float>().Should().Equal(e2.weight.data<float>());
    }
}

/// <summary>Tests of the global generator; serial, so no other test draws from it meanwhile.</summary>
[Collection(LiveTensorCollection.Name)]
public class GlobalSeedTests
{
    [Fact]
    public void Global_manual_seed_is_reproducible()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(123);
        var a = torch.rand([5], ScalarType.Float64).data<double>();
        var ai = torch.randint(0, 100, [5]).data<long>();
        var ap = torch.randperm(8).data<long>();
        var an = torch.empty([3], ScalarType.Float64).normal_().data<double>();
        torch.manual_seed(123);
        torch.rand([5], ScalarType.Float64).data<double>().Should().Equal(a);
        torch.randint(0, 100, [5]).data<long>().Should().Equal(ai);
        torch.randperm(8).data<long>().Should().Equal(ap);
        torch.empty([3], ScalarType.Float64).normal_().data<double>().Should().Equal(an);
        torch.manual_seed(124);
        torch.rand([5], ScalarType.Float64).data<double>().Should().NotEqual(a);
    }

    [Fact]
    public void A_private_generator_neither_reads_nor_disturbs_the_global_stream()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(9);
        var expected = torch.rand([4], ScalarType.Float64).data<double>();

        torch.manual_seed(9);
        using (var g = new Generator(9))
        {
            torch.rand([100], ScalarType.Float64, g);
            torch.randn([100], ScalarType.Float64, g);
        }

        torch.rand([4], ScalarType.Float64).data<double>().Should().Equal(expected);

        torch.manual_seed(1);
        using var g1 = new Generator(77);
        var first = torch.rand([4], ScalarType.Float64, g1).data<double>();
        torch.manual_seed(2);
        using var g2 = new Generator(77);
        torch.rand([4], ScalarType.Float64, g2).data<double>().Should().Equal(first);
    }
}
