using System.Buffers.Binary;
using System.Text.Json;

namespace MergeBuild.Tests;

/// <summary>
/// A deliberately naive safetensors reader for tests: it shares no code with MergeBuild's reader, so tests that
/// compute expected values from it check the engine against an independent view of the bytes.
/// </summary>
public static class RawSafetensors
{
    public sealed record Tensor(string DType, long[] Shape, byte[] Data)
    {
        public float[] AsFloats() => DType switch
        {
            "BF16" => Enumerable.Range(0, Data.Length / 2)
                .Select(i => Bf16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan(2 * i)))).ToArray(),
            "F32" => Enumerable.Range(0, Data.Length / 4)
                .Select(i => BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(4 * i))).ToArray(),
            "F16" => Enumerable.Range(0, Data.Length / 2)
                .Select(i => (float)BinaryPrimitives.ReadHalfLittleEndian(Data.AsSpan(2 * i))).ToArray(),
            _ => throw new NotSupportedException(DType),
        };
    }

    /// <summary>Reads every tensor of one .safetensors file.</summary>
    public static Dictionary<string, Tensor> ReadFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var dataStart = 8 + headerLength;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                continue;
            }

            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            result[entry.Name] = new Tensor(
                entry.Value.GetProperty("dtype").GetString()!,
                entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                bytes.AsSpan(dataStart + (int)offsets[0], (int)(offsets[1] - offsets[0])).ToArray());
        }

        return result;
    }

    /// <summary>Reads every tensor of a model folder, single file or sharded.</summary>
    public static Dictionary<string, Tensor> ReadFolder(string folder)
    {
        var single = Path.Combine(folder, "model.safetensors");
        if (File.Exists(single))
        {
            return ReadFile(single);
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var shard in Directory.GetFiles(folder, "model-*.safetensors"))
        {
            foreach (var (name, tensor) in ReadFile(shard))
            {
                result.Add(name, tensor);
            }
        }

        return result;
    }
}

/// <summary>Scalar bfloat16 arithmetic written from the definition, for computing expected values in tests.</summary>
public static class Bf16
{
    public static float ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Round to nearest, ties to even.</summary>
    public static ushort FromFloat(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        var lsb = (bits >> 16) & 1;
        return (ushort)((bits + 0x7FFF + lsb) >> 16);
    }

    public static float Round(float value) => ToFloat(FromFloat(value));

    public static byte[] Encode(IEnumerable<float> values) =>
        values.SelectMany(v => BitConverter.GetBytes(FromFloat(v))).ToArray();
}
