using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>
/// No code of the library (nor of its ONNX package or CLI) hands libtorch a temporary <see cref="Scalar"/>: TorchSharp 0.107 lets a garbage collection
/// on another thread free such a scalar while the native operation still reads it (a rare "Expected false to be true"
/// crash; see KeptScalars). The test reads the IL of every method of the library and lists each call site that makes
/// one: a number converted to a Scalar on the spot (<c>Scalar.op_Implicit</c>), or a TorchSharp call that makes its own
/// (the α = 1 of <c>add(Tensor)</c>, <c>add_(Tensor)</c> and <c>a + b</c>; the 2 of <c>square()</c>, which is <c>pow(2)</c>). Kept scalars (<c>using var s = x.ToScalar()</c>,
/// the KeptScalars helpers) are fine.
/// </summary>
public sealed class ImplicitScalarTests
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void No_call_site_of_the_library_makes_a_temporary_scalar()
    {
        // The library, its ONNX package and the CLI (the demo and sanity plots compute with tensors too).
        var assemblies = new[] { "Attribution", "Attribution.Onnx", "Attribution.Cli" }.Select(name => Assembly.Load(name)).ToArray();
        var calls = 0;
        var offenders = new List<string>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
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

        calls.Should().BeGreaterThan(10_000, "the scan must have read the library's method bodies");
        offenders.Distinct().Should().BeEmpty("each makes a Scalar that a collection on another thread can free during the native call");
    }

    [Fact]
    public void The_scan_recognises_each_kind_of_temporary_scalar()
    {
        // The check itself, on methods of this class written the forbidden ways.
        bool Makes(string name) => Callees(typeof(ImplicitScalarTests).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!).Any(MakesTemporaryScalar);
        Makes(nameof(Converted)).Should().BeTrue();
        Makes(nameof(Added)).Should().BeTrue();
        Makes(nameof(Squared)).Should().BeTrue();
        Makes(nameof(Kept)).Should().BeFalse();
    }

    private static Tensor Converted(Tensor x) => x.mul(0.5);

    private static Tensor Added(Tensor x, Tensor y) => x + y;

    private static Tensor Squared(Tensor x) => x.square();

    private static Tensor Kept(Tensor x, Tensor y)
    {
        using var half = 0.5.ToScalar();
        using var one = 1.ToScalar();
        return x.mul(half).add(y, one);
    }

    private static bool MakesTemporaryScalar(MethodBase callee)
    {
        if (callee.DeclaringType == typeof(Scalar) && callee.Name == "op_Implicit")
        {
            return true;
        }

        if (callee.DeclaringType != typeof(Tensor))
        {
            return false;
        }

        var parameters = callee.GetParameters();
        return callee.Name switch
        {
            // TorchSharp passes α = 1 as a Scalar it makes on the spot.
            "add" or "add_" => parameters.Length == 1,
            "op_Addition" => true,

            // TorchSharp's square() is pow(2): the 2 becomes a Scalar on the spot.
            "square" => parameters.Length == 0,
            _ => false,
        };
    }

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
