using System.IO.Compression;
using System.Text;

namespace Attribution.Tests.Models;

/// <summary>
/// Writes a TorchScript file (what PyTorch's <c>torch.jit.save</c> writes, and TorchSharp's <c>torch.jit.load</c>
/// reads) without PyTorch: a zip archive holding the module object as a protocol-2 pickle (<c>data.pkl</c>), the
/// TorchScript source of its classes (<c>code/__torch__.py</c>), an empty constants table, the raw little-endian
/// float32 storages (<c>data/0</c>, <c>data/1</c>, …) and the format version. TorchSharp can load and save
/// TorchScript but not create it, so the tests build their TorchScript models with this.
/// </summary>
/// <remarks>
/// A module is a class of the source plus its attributes: float32 parameters and submodules, each by name. The
/// source must declare them as the serializer does (<c>__parameters__ = ["weight", ]</c>, <c>weight : Tensor</c>,
/// <c>training : bool</c>, <c>__annotations__["sub"] = __torch__.Sub</c>) and qualify every class as
/// <c>__torch__.Name</c>. Entries are stored, not deflated; libtorch reads them without alignment padding.
/// </remarks>
internal static class TorchScriptWriter
{
    /// <summary>
    /// A module instance: its class (in <c>__torch__</c>), float32 parameters and submodules, in declaration order, and
    /// its <c>training</c> flag (what <c>torch.jit.save</c> of a module never put in eval mode writes as true).
    /// </summary>
    public sealed record Module(string ClassName, IReadOnlyList<(string Name, float[] Values, long[] Shape)> Parameters,
        IReadOnlyList<(string Name, Module Child)> Children, bool Training = false);

    /// <summary>Writes <paramref name="root"/> with the source of its classes to <paramref name="path"/>.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="root">The module object.</param>
    /// <param name="source">TorchScript source of every class, as <c>code/__torch__.py</c>.</param>
    /// <param name="archive">The folder name inside the zip (PyTorch uses the file's stem; any name loads).</param>
    public static void Write(string path, Module root, string source, string archive = "model")
    {
        var storages = new List<float[]>();
        var pickle = new Pickler();
        pickle.Proto();
        pickle.Object(root, storages);
        pickle.Stop();

        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        Add(zip, $"{archive}/data.pkl", pickle.ToArray());
        Add(zip, $"{archive}/code/__torch__.py", Encoding.UTF8.GetBytes(source));
        Add(zip, $"{archive}/constants.pkl", [0x80, 2, (byte)')', (byte)'.']);
        for (var i = 0; i < storages.Count; i++)
        {
            var bytes = new byte[storages[i].Length * sizeof(float)];
            Buffer.BlockCopy(storages[i], 0, bytes, 0, bytes.Length);
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("storages are written little-endian");
            }

            Add(zip, $"{archive}/data/{i}", bytes);
        }

        Add(zip, $"{archive}/version", "3\n"u8.ToArray());
    }

    private static void Add(ZipArchive zip, string name, byte[] content)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(content);
    }

    /// <summary>The subset of pickle protocol 2 a TorchScript module object needs (no memo: libtorch does not require one).</summary>
    private sealed class Pickler
    {
        private readonly MemoryStream buffer = new();

        public byte[] ToArray() => buffer.ToArray();

        public void Proto()
        {
            buffer.WriteByte(0x80);
            buffer.WriteByte(2);
        }

        public void Stop() => buffer.WriteByte((byte)'.');

        /// <summary>GLOBAL module name; NEWOBJ(); BUILD({training: bool, parameters…, children…}).</summary>
        public void Object(Module module, List<float[]> storages)
        {
            Global("__torch__", module.ClassName);
            buffer.WriteByte((byte)')');   // EMPTY_TUPLE
            buffer.WriteByte(0x81);        // NEWOBJ
            buffer.WriteByte((byte)'}');   // EMPTY_DICT
            buffer.WriteByte((byte)'(');   // MARK
            String("training");
            buffer.WriteByte(module.Training ? (byte)0x88 : (byte)0x89);   // NEWTRUE or NEWFALSE
            foreach (var (name, values, shape) in module.Parameters)
            {
                String(name);
                Tensor(values, shape, storages);
            }

            foreach (var (name, child) in module.Children)
            {
                String(name);
                Object(child, storages);
            }

            buffer.WriteByte((byte)'u');   // SETITEMS
            buffer.WriteByte((byte)'b');   // BUILD
        }

        /// <summary>torch._utils._rebuild_tensor_v2(persistent storage, offset 0, size, contiguous stride, requires_grad, OrderedDict()).</summary>
        private void Tensor(float[] values, long[] shape, List<float[]> storages)
        {
            if (values.Length != shape.Aggregate(1L, (a, b) => a * b))
            {
                throw new ArgumentException($"{values.Length} values do not fill a tensor of shape [{string.Join(", ", shape)}]");
            }

            var key = storages.Count;
            storages.Add(values);
            Global("torch._utils", "_rebuild_tensor_v2");
            buffer.WriteByte((byte)'(');
            buffer.WriteByte((byte)'(');
            String("storage");
            Global("torch", "FloatStorage");
            String(key.ToString(System.Globalization.CultureInfo.InvariantCulture));
            String("cpu");
            Int(values.Length);
            buffer.WriteByte((byte)'t');   // TUPLE
            buffer.WriteByte((byte)'Q');   // BINPERSID
            Int(0);
            Tuple(shape);
            var strides = new long[shape.Length];
            var stride = 1L;
            for (var d = shape.Length - 1; d >= 0; d--)
            {
                strides[d] = stride;
                stride *= shape[d];
            }

            Tuple(strides);
            buffer.WriteByte(0x88);        // NEWTRUE: requires_grad
            Global("collections", "OrderedDict");
            buffer.WriteByte((byte)')');
            buffer.WriteByte((byte)'R');   // REDUCE
            buffer.WriteByte((byte)'t');
            buffer.WriteByte((byte)'R');
        }

        private void Tuple(long[] values)
        {
            buffer.WriteByte((byte)'(');
            foreach (var value in values)
            {
                Int(value);
            }

            buffer.WriteByte((byte)'t');
        }

        private void Global(string module, string name) => Ascii($"c{module}\n{name}\n");

        private void String(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            buffer.WriteByte((byte)'X');   // BINUNICODE
            buffer.Write(BitConverter.GetBytes(bytes.Length));
            buffer.Write(bytes);
        }

        private void Int(long value)
        {
            buffer.WriteByte((byte)'J');   // BININT: 4-byte signed little-endian
            buffer.Write(BitConverter.GetBytes(checked((int)value)));
        }

        private void Ascii(string text) => buffer.Write(Encoding.ASCII.GetBytes(text));
    }
}
