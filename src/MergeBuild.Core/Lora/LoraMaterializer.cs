using System.IO.Hashing;
using System.Numerics.Tensors;
using System.Text;
using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Tensors;

namespace MergeBuild.Lora;

/// <summary>
/// Resolves a <c>model+lora</c> reference: writes the model with the adapter's <c>B·A·scaling</c> added to each
/// adapted weight (and its <c>modules_to_save</c> weights swapped in) to a content-addressed cache folder, which the
/// merge then reads like any model folder. mergekit does the same through PEFT's <c>merge_and_unload</c>.
/// </summary>
/// <remarks>
/// W' = round_to_dtype(W + scaling · Σₖ B[o,k]·A[k,i]), the sum accumulated in float32 in k order, so a rebuild gives
/// the same bytes; torch's matmul sums in an unspecified order, so results can differ from PEFT's in the last bit.
/// The cache key hashes the engine version and the bytes of every input file: a changed adapter never reuses a
/// stale merge (mergekit keys its LoRA cache on path strings).
/// </remarks>
public static class LoraMaterializer
{
    public const string AdapterWeightsFile = "adapter_model.safetensors";
    private const string PeftPrefix = "base_model.model.";

    /// <summary>The default cache: a folder under the system temp directory.</summary>
    public static string DefaultCacheDirectory => Path.Combine(Path.GetTempPath(), "mergebuild", "lora");

    /// <summary>Returns the folder holding the model with the adapter merged in, building it when not cached.</summary>
    public static string Materialize(string modelFolder, string adapterFolder, string cacheDirectory,
        SourceLocation? referencedFrom = null)
    {
        if (!Directory.Exists(adapterFolder))
        {
            throw new MergeBuildException(ErrorCodes.ModelNotFound, $"LoRA adapter folder '{adapterFolder}' does not exist.",
                referencedFrom ?? new SourceLocation(adapterFolder), "Check the path after '+' in the model reference.");
        }

        var config = LoraAdapterConfig.Load(adapterFolder);
        var adapterFile = Path.Combine(adapterFolder, AdapterWeightsFile);
        if (!File.Exists(adapterFile))
        {
            throw new MergeBuildException(ErrorCodes.ModelNotFound,
                $"'{adapterFolder}' has no {AdapterWeightsFile}" +
                (File.Exists(Path.Combine(adapterFolder, "adapter_model.bin"))
                    ? " (only adapter_model.bin, a pickle file: loading it could execute code)."
                    : "."), new SourceLocation(adapterFolder),
                "Save the adapter with safe_serialization=True (peft's default).");
        }

        var model = CheckpointFiles.Discover(modelFolder);
        var target = Path.Combine(cacheDirectory, CacheKey(modelFolder, model, adapterFolder, adapterFile));
        if (File.Exists(Path.Combine(target, AtomicOutputFolder.MarkerFileName)))
        {
            return target;
        }

        Directory.CreateDirectory(cacheDirectory);
        using var adapter = SafetensorsFile.Open(adapterFile);
        var plan = LoraPlan.Build(model, adapter, config, adapterFile);
        using (var output = AtomicOutputFolder.Begin(target))
        {
            Write(model, adapter, plan, output);
            foreach (var file in Directory.GetFiles(modelFolder).Where(f => !IsWeightFile(f)))
            {
                File.Copy(file, output.PathOf(Path.GetFileName(file)));
            }

            output.Commit("{\"lora\": true}\n");
        }

        return target;
    }

    private static void Write(CheckpointFiles model, SafetensorsFile adapter, LoraPlan plan, AtomicOutputFolder output)
    {
        var layout = CheckpointLayout.Plan(
            model.Tensors.Select(t => new PlannedTensor(t.Name, t.DType, t.Shape)).ToList(), ShardSize.Default,
            new Dictionary<string, string> { ["format"] = "pt" });
        using var reader = CheckpointReader.Open(model.Folder);
        // Buffered: the merge that asked for this model reads it right after.
        using var writer = CheckpointWriter.Create(output.StagingPath, layout, aroundPageCache: false);
        foreach (var tensor in model.Tensors)
        {
            if (plan.Deltas.TryGetValue(tensor.Name, out var delta))
            {
                writer.Write(tensor.Name, 0, ApplyDelta(reader, adapter, tensor, delta));
            }
            else if (plan.Replacements.TryGetValue(tensor.Name, out var replacement))
            {
                var values = Decode(replacement.DType, adapter.GetBytes(replacement), replacement.ElementCount);
                writer.Write(tensor.Name, 0, Encode(tensor.DType, values));
            }
            else
            {
                const int Chunk = 16 << 20;
                for (long offset = 0; offset < tensor.ByteLength; offset += Chunk)
                {
                    var length = (int)Math.Min(Chunk, tensor.ByteLength - offset);
                    writer.Write(tensor.Name, offset, reader.GetBytes(tensor.Name, offset, length));
                }
            }
        }

        writer.Complete();
    }

    private static byte[] ApplyDelta(CheckpointReader reader, SafetensorsFile adapter, TensorInfo weight, LoraDelta delta)
    {
        var w = Decode(weight.DType, reader.GetBytes(weight.Name, 0, checked((int)weight.ByteLength)), weight.ElementCount);
        var a = Decode(delta.A.DType, adapter.GetBytes(delta.A), delta.A.ElementCount);
        var b = Decode(delta.B.DType, adapter.GetBytes(delta.B), delta.B.ElementCount);
        var rank = (int)delta.A.Shape[0];
        var columns = (int)delta.A.Shape[1];   // A is [r, in] (or [r, vocab] for embeddings)
        var rows = (int)delta.B.Shape[0];      // B is [out, r] (or [hidden, r])
        var scaling = (float)delta.Scaling;
        var row = new float[columns];
        for (var o = 0; o < rows; o++)
        {
            Array.Clear(row);
            for (var k = 0; k < rank; k++)
            {
                // row += B[o,k] · A[k,:], k ascending: a fixed summation order.
                TensorPrimitives.MultiplyAdd(a.AsSpan(k * columns, columns), b[o * rank + k], row, row);
            }

            for (var i = 0; i < columns; i++)
            {
                // (B·A)[o,i] lands at W[o,i], or at W[i,o] when the weight is stored transposed (embeddings, fan_in_fan_out).
                var index = delta.Transposed ? (long)i * rows + o : (long)o * columns + i;
                w[index] = FloatCodec.Round(weight.DType, w[index] + row[i] * scaling);
            }
        }

        return Encode(weight.DType, w);
    }

    private static float[] Decode(DType dtype, ReadOnlySpan<byte> bytes, long count)
    {
        var values = new float[count];
        FloatCodec.ToSingle(dtype, bytes, values);
        return values;
    }

    private static byte[] Encode(DType dtype, float[] values)
    {
        var bytes = new byte[values.LongLength * DTypes.SizeOf(dtype)];
        FloatCodec.FromSingle(dtype, values, bytes);
        return bytes;
    }

    private static bool IsWeightFile(string path)
    {
        var name = Path.GetFileName(path);
        return name.EndsWith(".safetensors", StringComparison.Ordinal) ||
               name == "model.safetensors.index.json" || name == AtomicOutputFolder.MarkerFileName;
    }

    private static string CacheKey(string modelFolder, CheckpointFiles model, string adapterFolder, string adapterFile)
    {
        var text = new StringBuilder($"mergebuild {EngineInfo.Version} lora\n");
        var files = model.WeightFiles.Append(Path.Combine(modelFolder, "config.json"))
            .Append(Path.Combine(adapterFolder, LoraAdapterConfig.FileName)).Append(adapterFile);
        foreach (var file in files.Where(File.Exists))
        {
            text.Append(Path.GetFileName(file)).Append(' ').Append(ContentHash.OfFile(file)).Append('\n');
        }

        var hash = XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString()));
        return Convert.ToHexStringLower(hash);
    }

    internal static string ModuleTensorName(string adapterTensorName) =>
        adapterTensorName.StartsWith(PeftPrefix, StringComparison.Ordinal)
            ? adapterTensorName[PeftPrefix.Length..]
            : adapterTensorName;
}
