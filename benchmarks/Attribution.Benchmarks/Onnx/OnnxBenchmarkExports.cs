using System.Globalization;
using Attribution.Models;
using Attribution.Onnx;
using TorchSharp;

namespace Attribution.Benchmarks.Onnx;

/// <summary>
/// The ONNX Runtime classifiers the perturbation-cost benchmark measures beside the TorchSharp ones: PyTorch's export of
/// sst2-bert-tiny from ../shared, and the BERT-base-shaped random model (<see cref="BenchmarkModels.BertBaseRandom"/>,
/// same seed, same weights) written by <see cref="BertOnnxExport"/> into a temporary folder, which is checked against
/// the TorchSharp model's logits before it is measured and deleted on <see cref="Dispose"/>.
/// </summary>
internal sealed class OnnxBenchmarkExports : IDisposable
{
    /// <summary>Largest |logit difference| accepted between the export and the TorchSharp model (both float32).</summary>
    public const double Tolerance = 1e-4;

    private readonly List<string> folders = [];

    /// <summary>Entries for <see cref="PerturbationCost.Extra"/>.</summary>
    public IEnumerable<(string Name, Func<ITokenClassifier> Load, bool Tiny)> ForPerturbationCost()
    {
        yield return ("ONNX Runtime", () => OnnxTextClassifier.Load(Path.Combine(BenchmarkModels.SharedDirectory, "models", "sst2-bert-tiny-onnx"), Settings()), true);
        yield return ("ONNX Runtime", BertBase, false);
    }

    /// <summary>The temporary export folders are deleted (the sessions using them must be disposed first).</summary>
    public void Dispose()
    {
        foreach (var folder in folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"could not delete {folder}: {e.Message}");
            }
        }
    }

    /// <summary>As many intra-op threads as TorchSharp uses, and the perturbation methods' batch of 64 in one run.</summary>
    private static OnnxSessionSettings Settings() => new() { IntraOpThreads = torch.get_num_threads(), BatchSize = 64 };

    private OnnxTextClassifier BertBase()
    {
        var folder = Directory.CreateTempSubdirectory("attribution-bert-base-onnx-").FullName;
        folders.Add(folder);
        using var reference = BenchmarkModels.BertBaseRandom();
        BertOnnxExport.Write(reference, folder, Path.Combine(BenchmarkModels.SharedDirectory, "tokenizers", "bert-base-uncased"));
        var onnx = OnnxTextClassifier.Load(folder, Settings());
        try
        {
            // Padded batches of mixed lengths: 16 SST-2 dev sentences.
            var sequences = BenchmarkModels.DevSentences(64).Where((_, i) => i % 4 == 0)
                .Select(s => reference.Tokenizer.Encode(s)).Select(e => new TokenSequence(e.Ids, e.TypeIds)).ToArray();
            var worst = MaxDifference(((ITokenClassifier)reference).PredictLogits(sequences), onnx.PredictLogits(sequences));
            var note = string.Create(CultureInfo.InvariantCulture,
                $"The bert-base-shape ONNX model is this library's BertForSequenceClassification written by BertOnnxExport (opset 17, float32); on {sequences.Length} padded SST-2 dev sentences ({sequences.Min(s => s.Ids.Length)}..{sequences.Max(s => s.Ids.Length)} tokens) its logits differ from TorchSharp's by at most {worst:E1}.");
            Console.Error.WriteLine(note);
            if (!(worst <= Tolerance))
            {
                throw new InvalidOperationException($"the ONNX export of {reference.Name} gives logits {worst:E2} away from TorchSharp's (tolerance {Tolerance:E0}): the export does not mirror the model");
            }

            PerturbationCost.Notes.Add(note);
            return onnx;
        }
        catch
        {
            onnx.Dispose();
            throw;
        }
    }

    /// <summary>The largest |a − b| over all rows and labels.</summary>
    public static double MaxDifference(double[][] a, double[][] b) =>
        a.Zip(b, (x, y) => x.Zip(y, (u, v) => Math.Abs(u - v)).Max()).Max();
}
