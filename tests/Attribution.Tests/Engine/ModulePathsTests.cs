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

    [Fact]
    public void An_empty_child_name_is_refused_and_plain_names_resolve()
    {
        using var empty = nn.Sequential(("", nn.Linear(2, 2)));
        var walk = () => empty.SelfAndDescendants().ToList();
        walk.Should().Throw<ArgumentException>().WithMessage("*has a child named '': an empty name gives it the path '' of its parent*");

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
}
