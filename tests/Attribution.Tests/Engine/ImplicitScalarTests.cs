using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>
/// No code of the library (nor of its ONNX package, CLI, tests or custom-method sample) hands libtorch a temporary <see cref="Scalar"/>: TorchSharp 0.107 lets a garbage collection
/// on another thread free such a scalar while the native operation still reads it (a rare "Expected false to be true"
/// crash; see KeptScalars). The test reads the IL of every method of each assembly (but this class's deliberately bad examples) and lists each call site that makes
/// one: a number converted to a Scalar on the spot (<c>Scalar.op_Implicit</c>), or a TorchSharp call that makes its own
/// (the α = 1 of <c>add(Tensor)</c>, <c>add_(Tensor)</c> and <c>a + b</c>; the 2 of <c>square()</c>, which is <c>pow(2)</c>; the Scalar
/// <c>Tensor.ToDouble()</c> reads; softplus's β and threshold), found by reading TorchSharp's own method bodies. Kept scalars (<c>using var s = x.ToScalar()</c>,
/// the KeptScalars helpers) are fine.
/// </summary>
public sealed class ImplicitScalarTests
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    // fewestCalls: well under the call sites each assembly had when this was written (32,776; 852; 7,401; 78,415; 53),
    // so a scan that read nothing (or only a part) fails instead of passing empty.
    [Theory]
    // The library, its ONNX package and the CLI (the demo and sanity plots compute with tensors too).
    [InlineData("Attribution", 10_000)]
    [InlineData("Attribution.Onnx", 500)]
    [InlineData("Attribution.Cli", 2_000)]
    // The tests (their models and checks run beside other threads' collections too: a test model's temporary pow(int)
    // scalar once crashed a run) and the custom-method sample they reference.
    [InlineData("Attribution.Tests", 10_000)]
    [InlineData("CustomMethod", 20)]
    public void No_call_site_makes_a_temporary_scalar(string assemblyName, int fewestCalls)
    {
        var calls = 0;
        var offenders = new List<string>();
        foreach (var type in Assembly.Load(assemblyName).GetTypes().Where(t => !IsDeliberatelyBadExample(t)))
        {
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                foreach (var callee in Callees(method))
                {
                    calls++;
                    if (MakesTemporaryScalar(callee))
                    {
                        offenders.Add($"{type.FullName}.{method.Name} calls {callee.DeclaringType?.Name}.{callee.Name}({string.Join(", ", callee.GetParameters().Select(p => p.ParameterType.Name))})");
                    }
                }
            }
        }

        calls.Should().BeGreaterThan(fewestCalls, $"the scan must have read {assemblyName}'s method bodies");
        offenders.Distinct().Should().BeEmpty("each makes a Scalar that a collection on another thread can free during the native call");
    }

    /// <summary>
    /// This class (whose examples below make temporary scalars on purpose) and the types the compiler nests in it
    /// (lambdas' closures): the only code the scan skips.
    /// </summary>
    private static bool IsDeliberatelyBadExample(Type type)
    {
        for (var t = type; t is not null; t = t.DeclaringType)
        {
            if (t == typeof(ImplicitScalarTests))
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public void The_scan_skips_only_this_class_and_the_types_nested_in_it()
    {
        IsDeliberatelyBadExample(typeof(ImplicitScalarTests)).Should().BeTrue();
        typeof(ImplicitScalarTests).GetNestedTypes(BindingFlags.NonPublic).Should().OnlyContain(t => IsDeliberatelyBadExample(t));
        IsDeliberatelyBadExample(typeof(LiveTensorCollection)).Should().BeFalse();
        IsDeliberatelyBadExample(typeof(KeptScalarsTests)).Should().BeFalse();
    }

    [Fact]
    public void The_scan_recognises_each_kind_of_temporary_scalar()
    {
        // The check itself, on methods of this class written the forbidden ways.
        bool Makes(string name) => Callees(typeof(ImplicitScalarTests).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!).Any(MakesTemporaryScalar);
        Makes(nameof(Converted)).Should().BeTrue();
        Makes(nameof(Added)).Should().BeTrue();
        Makes(nameof(Squared)).Should().BeTrue();
        Makes(nameof(SoftplusOfANumber)).Should().BeTrue();
        Makes(nameof(Kept)).Should().BeFalse();
    }

    private static Tensor Converted(Tensor x) => x.mul(0.5);

    private static Tensor Added(Tensor x, Tensor y) => x + y;

    private static Tensor Squared(Tensor x) => x.square();

    // β and the threshold become Scalars inside TorchSharp (Tensor.softplus), not at this call site.
    private static Tensor SoftplusOfANumber(Tensor x) => nn.functional.softplus(x, 2.0);

    private static Tensor Kept(Tensor x, Tensor y)
    {
        using var half = 0.5.ToScalar();
        using var one = 1.ToScalar();
        return x.mul(half).add(y, one);
    }

    /// <summary>TorchSharp methods already judged (the scan reaches many of them from many call sites).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<MethodBase, bool> Judged = new();

    /// <summary>
    /// Whether calling <paramref name="callee"/> hands libtorch a temporary scalar: it is the conversion itself, or a
    /// TorchSharp method whose body makes a scalar it does not dispose (<c>add(Tensor)</c> passes α = 1 so,
    /// <c>square()</c> the 2 of <c>pow(2)</c>, <c>nn.functional.softplus(x, β)</c> its β and threshold), directly or through
    /// TorchSharp methods it calls (a few levels: <c>functional.softplus</c> → <c>Tensor.softplus</c> → the scalars).
    /// </summary>
    private static bool MakesTemporaryScalar(MethodBase callee) =>
        (callee.DeclaringType == typeof(Scalar) && callee.Name == "op_Implicit") || MakesOneInside(callee, depth: 0);

    private static bool MakesOneInside(MethodBase callee, int depth)
    {
        if (callee.DeclaringType?.Assembly != typeof(Scalar).Assembly || callee.DeclaringType == typeof(Scalar) || depth > 3)
        {
            return false;
        }

        // TorchScript's argument marshalling makes a Scalar only for a number argument (float, double, long); the
        // library passes its script modules tensors only (TorchScriptAdapter).
        if (callee.Name == "DetermineArgumentTypeRefs")
        {
            return false;
        }

        if (Judged.TryGetValue(callee, out var known))
        {
            return known;
        }

        var inner = Callees(callee).ToList();

        // A body that disposes a scalar holds the ones it makes until the native call returns (`using var s = ...`).
        var disposes = inner.Any(m => m.DeclaringType == typeof(Scalar) && m.Name == "Dispose");
        var makes = !disposes && (inner.Any(IsConversion) || inner.Any(m => m.DeclaringType?.Assembly == typeof(Scalar).Assembly && MakesOneInside(m, depth + 1)));
        Judged[callee] = makes;
        return makes;
    }

    /// <summary>A number (or bool) turned into a Scalar: the implicit conversion or TorchSharp's ToScalar.</summary>
    private static bool IsConversion(MethodBase m) =>
        (m.DeclaringType == typeof(Scalar) && m.Name == "op_Implicit") ||
        (m.Name == "ToScalar" && m.DeclaringType?.Assembly == typeof(Scalar).Assembly && m is MethodInfo { ReturnType: var r } && r == typeof(Scalar));

    /// <summary>The methods a method body calls (call, callvirt, newobj, ldftn), resolved in its generic context.</summary>
    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var at = 0; at < il.Length;)
        {
            short value = il[at] == 0xFE ? (short)(0xFE00 | il[at + 1]) : il[at];
            var code = OpCodesByValue[value];
            at += code.Size;
            var operandSize = code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, at)),
                _ => 4,
            };
            if (code.OperandType == OperandType.InlineMethod)
            {
                MethodBase? callee;
                try
                {
                    callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, at), typeArguments, methodArguments);
                }
                catch (ArgumentException)
                {
                    callee = null;
                }

                if (callee is not null)
                {
                    yield return callee;
                }
            }

            at += operandSize;
        }
    }
}
