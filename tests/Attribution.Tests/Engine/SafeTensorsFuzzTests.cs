using System.Text;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Engine;

/// <summary>
/// Seeded mutation fuzzing of safetensors files: byte flips, truncations and insertions in the header and its length
/// prefix, and JSON-aware edits (huge numbers, negative shapes, lone surrogates, deep nesting, duplicate keys). The
/// reader must either load a consistent file or throw <see cref="SafeTensorsException"/>, never another exception type,
/// and never take the process down.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class SafeTensorsFuzzTests(ITestOutputHelper output)
{
    private static byte[] Valid()
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["embeddings.weight"] = TestScalars.Range(24, ScalarType.Float32).reshape(6, 4),
            ["classifier.bias"] = tensor(new[] { 1.5, -2.0 }),
            ["ids"] = tensor(new long[] { 3, 1, 4 }),
        };
        using var stream = new MemoryStream();
        SafeTensors.Save(stream, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        return stream.ToArray();
    }

    [Fact]
    public void Mutated_files_load_or_fail_with_a_typed_error()
    {
        var valid = Valid();
        var headerLength = (int)BitConverter.ToUInt64(valid, 0);
        var random = new Random(20261203);
        string[] splices =
        [
            "\"\\ud800\"", "\"\\udfff\\ud800\"", "99999999999999999999999", "-1", "1e308", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "null", "\"F16\"", "\"BOOL\"", "{}", "[]", "\"\"", "\"data_offsets\":[0,0]", "\"shape\":[1000000000,1000000000,1000000000]", ",", "\"\\u0000\"",
        ];
        int loaded = 0, refused = 0;
        var unexpected = new List<string>();
        for (var trial = 0; trial < 3000; trial++)
        {
            var bytes = valid.ToList();
            var kind = trial % 7;
            switch (kind)
            {
                case 0: // flip 1-4 bytes of the header (length prefix included)
                    for (var k = random.Next(1, 5); k > 0; k--)
                    {
                        bytes[random.Next(0, 8 + headerLength)] ^= (byte)random.Next(1, 256);
                    }

                    break;
                case 1: // truncate anywhere
                    bytes.RemoveRange(random.Next(0, bytes.Count), bytes.Count - random.Next(0, bytes.Count) > 0 ? 1 : 0);
                    bytes = bytes.Take(random.Next(0, bytes.Count + 1)).ToList();
                    break;
                case 2: // a random length prefix
                    BitConverter.GetBytes(random.Next(0, 4) switch { 0 => ulong.MaxValue, 1 => (ulong)random.Next(), 2 => (ulong)headerLength + 1, _ => (ulong)random.Next(0, 16) })
                        .CopyTo(bytes.ToArray(), 0);
                    var prefix = BitConverter.GetBytes(random.Next(0, 3) switch { 0 => ulong.MaxValue, 1 => (ulong)random.Next(), _ => (ulong)random.Next(0, headerLength * 2) });
                    for (var i = 0; i < 8; i++)
                    {
                        bytes[i] = prefix[i];
                    }

                    break;
                case 3: // insert random bytes into the header
                    bytes.InsertRange(8 + random.Next(0, headerLength), Enumerable.Range(0, random.Next(1, 6)).Select(_ => (byte)random.Next(0, 256)));
                    break;
                case 6: // valid JSON whose strings are not valid text: a lone surrogate as a name, a dtype or metadata
                    var text = Encoding.UTF8.GetString(valid, 8, headerLength);
                    string[] targets = ["\"ids\"", "\"pt\"", "\"F32\"", "\"format\""];
                    var target = targets[random.Next(targets.Length)];
                    var replaced = Encoding.UTF8.GetBytes(text.Replace(target, random.Next(2) == 0 ? "\"\\ud800\"" : "\"x\\udc00y\""));
                    bytes = [.. BitConverter.GetBytes((ulong)replaced.Length), .. replaced, .. valid.AsSpan(8 + headerLength).ToArray()];
                    break;
                default: // JSON-aware: replace a token of the header by a hostile splice, keeping the length prefix right
                    var header = Encoding.UTF8.GetString(valid, 8, headerLength);
                    var at = random.Next(1, header.Length - 1);
                    var length = random.Next(0, Math.Min(12, header.Length - at));
                    var edited = Encoding.UTF8.GetBytes(header[..at] + splices[random.Next(splices.Length)] + header[(at + length)..]);
                    bytes = [.. BitConverter.GetBytes((ulong)edited.Length), .. edited, .. valid.AsSpan(8 + headerLength).ToArray()];
                    break;
            }

            var data = bytes.ToArray();
            try
            {
                var tensors = SafeTensors.Load(data);
                loaded++;
                foreach (var t in tensors.Values)
                {
                    t.Dispose();
                }
            }
            catch (SafeTensorsException)
            {
                refused++;
            }
            catch (Exception e)
            {
                unexpected.Add($"trial {trial} (mutation {kind}): {e.GetType().Name}: {e.Message}");
            }
        }

        output.WriteLine($"3000 mutated files: {loaded} loaded, {refused} refused with SafeTensorsException, {unexpected.Count} other exceptions");
        unexpected.Should().BeEmpty();
        refused.Should().BeGreaterThan(1500, "most mutations break the file");
    }
}
