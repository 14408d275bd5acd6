using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>
/// Dotted paths of submodules (<see cref="ModulePaths"/>) when a child's own name holds a '.' or is empty: TorchSharp's
/// <c>register_module</c> refuses such names, but <c>Sequential</c> and an overridden <c>named_children</c> let them
/// through, and then one path names two modules.
/// </summary>
public sealed class ModulePathsTests
{
    private sealed class DottedChildren(nn.Module child) : nn.Module<Tensor, Tensor>("DottedChildren")
    {
        public override Tensor forward(Tensor input) => input;

        public override IEnumerable<(string name, nn.Module module)> named_children() => [("encoder.out", child)];
    }

    /// <summary>A user's generic module with a number that happens to be called Values: nothing like a ModuleDict.</summary>
    private sealed class Scaled<T>(T scale) : nn.Module<Tensor, Tensor>("Scaled")
    {
        public T Values => scale;

        public override Tensor forward(Tensor input) => input;
    }

    /// <summary>
    /// Before: the child named "a.b" and the grandchild b of a both had the path "a.b"; Submodule("a.b") returned
    /// whichever came first (a Linear 2 → 2, not the asked-for 2 → 3) and PathOf gave the grandchild a path that
    /// leads to another layer, silently. Now the lookup is refused naming the module and the name.
    /// </summary>
    [Fact]
    public void A_child_name_with_a_dot_is_refused_naming_the_module_and_the_name()
    {
        var grandchild = nn.Linear(2, 3);
        using var model = nn.Sequential(("a.b", nn.Linear(2, 2)), ("a", nn.Sequential(("b", grandchild))));

        var lookup = () => model.Submodule("a.b");
        var error = lookup.Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("root");
        error.Message.Should().Contain("the Sequential module has a child named 'a.b'")
            .And.Contain("also that of a child 'b' of a child 'a'").And.Contain("such as 'a_b'");

        var path = () => model.PathOf(grandchild);
        path.Should().Throw<ArgumentException>().WithMessage("*child named 'a.b'*");

        using var deeper = nn.Sequential(("outer", new DottedChildren(nn.Linear(2, 2))));
        var nested = () => deeper.Submodule("outer");
        nested.Should().NotThrow("the lookup stops at the module it was asked for");
        var all = () => deeper.SelfAndDescendants().ToList();
        all.Should().Throw<ArgumentException>().WithMessage("the submodule 'outer' (DottedChildren) of the Sequential module has a child named 'encoder.out'*");
    }

    /// <summary>
    /// The refusal of a dotted name gives the child's full path (its parent's path, a '.', its name), the two modules
    /// that path also names, and the fix: a name without '.' (the name with '_'), as add_module and register_module
    /// require.
    /// </summary>
    [Fact]
    public void A_dotted_name_is_refused_with_its_full_path_and_the_fix()
    {
        using var model = nn.Sequential(("a.b", nn.Linear(2, 2)));
        FluentActions.Invoking(() => model.SelfAndDescendants().ToList()).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "root")
            .WithMessage("the Sequential module has a child named 'a.b': a name with '.' makes its path 'a.b' also that of a child 'b' of a child 'a'*" +
                "Register that child under a name without '.' (such as 'a_b'), as PyTorch's add_module and TorchSharp's register_module require*");

        using var deeper = nn.Sequential(("outer", new DottedChildren(nn.Linear(2, 2))));
        FluentActions.Invoking(() => deeper.SelfAndDescendants().ToList()).Should().Throw<ArgumentException>()
            .WithMessage("the submodule 'outer' (DottedChildren) of the Sequential module has a child named 'encoder.out': " +
                "a name with '.' makes its path 'outer.encoder.out' also that of a child 'out' of a child 'encoder'*such as 'encoder_out'*register_module require*");
    }

    [Fact]
    public void An_empty_child_name_is_refused_and_plain_names_resolve()
    {
        using var empty = nn.Sequential(("", nn.Linear(2, 2)));
        var walk = () => empty.SelfAndDescendants().ToList();
        walk.Should().Throw<ArgumentException>().WithMessage(
            "the Sequential module has a child named '': an empty name gives it the path '' of its parent. Register that child under a non-empty name, " +
            "as PyTorch's add_module and TorchSharp's register_module require*");

        var inner = nn.Linear(2, 3);
        using var plain = nn.Sequential(("a", nn.Sequential(("b", inner))), ("a_b", nn.Linear(2, 2)));
        plain.Submodule("a.b").Should().BeSameAs(inner);
        plain.PathOf(inner).Should().Be("a.b");
        plain.SelfAndDescendants().Select(m => m.Path).Should().Equal("", "a", "a.b", "a_b");
    }

    [Fact]
    public void PathOf_a_null_module_is_refused_not_answered_with_not_found()
    {
        // Before: null, the answer for a module of another tree, so a caller's null slipped through as "not part of it".
        using var model = nn.Sequential(("a", nn.Linear(2, 2)));
        var act = () => model.PathOf(null!);
        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("module");
        using var stranger = nn.Linear(2, 2);
        model.PathOf(stranger).Should().BeNull();
    }

    /// <summary>
    /// An unknown path names the five closest existing paths, by Levenshtein distance and then ordinally (distances
    /// worked out by hand: "encoder.layr1" is 1 edit from encoder.layer1, 2 from encoder.layer0, 6 from encoder, 9 from
    /// pooler.dense, 10 from pooler, 12 from output; "pooler.dens" is 1 from pooler.dense, 5 from pooler, 9 from encoder
    /// and both layers, 10 from output).
    /// </summary>
    [Fact]
    public void An_unknown_path_is_refused_naming_the_five_closest_paths()
    {
        using var model = nn.Sequential(
            ("encoder", nn.Sequential(("layer0", nn.Linear(2, 2)), ("layer1", nn.Linear(2, 2)))),
            ("output", nn.Linear(2, 2)),
            ("pooler", nn.Sequential(("dense", nn.Linear(2, 2)))));

        FluentActions.Invoking(() => model.Submodule("encoder.layr1")).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "path")
            .WithMessage("no submodule 'encoder.layr1' in *; closest paths: encoder.layer1, encoder.layer0, encoder, pooler.dense, pooler*");
        FluentActions.Invoking(() => model.Submodule("pooler.dens")).Should().Throw<ArgumentException>()
            .WithMessage("no submodule 'pooler.dens' in *; closest paths: pooler.dense, pooler, encoder, encoder.layer0, encoder.layer1*");

        using var leaf = nn.Linear(2, 2);
        FluentActions.Invoking(() => leaf.Submodule("weight")).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "path").WithMessage("no submodule 'weight' in *; closest paths: (it has no submodules)*");
        leaf.Submodule("").Should().BeSameAs(leaf, "the empty path is the root");
        model.Submodule("pooler.dense").Should().BeSameAs(model.Submodule("pooler").Submodule("dense"));
    }

    [Fact]
    public void Null_arguments_are_refused_naming_them()
    {
        using var model = nn.Sequential(("a", nn.Linear(2, 2)));
        FluentActions.Invoking(() => ((nn.Module)null!).Submodule("a")).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "root");
        FluentActions.Invoking(() => model.Submodule(null!)).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "path");
        FluentActions.Invoking(() => ((nn.Module)null!).SelfAndDescendants()).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "root");
        FluentActions.Invoking(() => ((nn.Module)null!).PathOf(model)).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "root");
        FluentActions.Invoking(() => ((nn.Module)null!).CheckAddressable("model")).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "root");

        // The root is checked first: with the empty path a null root was otherwise returned as "the root itself", and
        // with both arguments null PathOf otherwise named the module.
        FluentActions.Invoking(() => ((nn.Module)null!).Submodule("")).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "root");
        FluentActions.Invoking(() => ((nn.Module)null!).PathOf(null!)).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "root");
    }

    /// <summary>
    /// Only TorchSharp's ModuleDict (and its subclasses) is read through a Values property when looking for modules
    /// added after registration. A user's generic module whose own Values is a number is walked as any module: read as
    /// a ModuleDict, its number would be cast to a list of modules and the walk would fail with InvalidCastException.
    /// </summary>
    [Fact]
    public void A_generic_module_with_its_own_Values_is_not_read_as_a_module_dict()
    {
        var scaled = new Scaled<double>(2.5);
        using var model = nn.Sequential(("scale", scaled));
        model.SelfAndDescendants().Select(m => m.Path).Should().Equal("", "scale");
        model.Submodule("scale").Should().BeSameAs(scaled);
        FluentActions.Invoking(() => model.CheckAddressable("model")).Should().NotThrow();
    }

    [Fact]
    public void Checking_a_tree_walks_all_of_it_and_names_the_callers_argument()
    {
        using var deeper = nn.Sequential(("outer", new DottedChildren(nn.Linear(2, 2))));
        FluentActions.Invoking(() => deeper.CheckAddressable("model")).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "model").WithMessage("the submodule 'outer' (DottedChildren) of the Sequential module has a child named 'encoder.out'*");
        using var plain = nn.Sequential(("a", nn.Sequential(("b", nn.Linear(2, 2)))));
        FluentActions.Invoking(() => plain.CheckAddressable("model")).Should().NotThrow();
        FluentActions.Invoking(() => plain.FindSubmodule("a.c", "layer")).Should().Throw<ArgumentException>().Where(e => e.ParamName == "layer");
    }
}
